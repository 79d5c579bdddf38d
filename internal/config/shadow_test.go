package config

import (
	"strings"
	"testing"
)

func TestShadowValidation(t *testing.T) {
	base := `
providers:
  - { name: p, type: openai, base_url: "http://127.0.0.1:1/v1", hosting: self_hosted }
models:
  - { name: a, provider: p }
  - { name: b, provider: p, shadow: %s }
`
	for _, c := range []struct{ shadow, want string }{
		{`{ candidates: [a], sample_rate: 0.1 }`, ""},
		{`{ candidates: [a], sample_rate: 1, judge: a, compare: numeric, teams: [red], data_classes: [none, email] }`, ""},
		{`{ candidates: [], sample_rate: 0.1 }`, "models[1].shadow.candidates"},
		{`{ candidates: [zz], sample_rate: 0.1 }`, "models[1].shadow.candidates[0]"},
		{`{ candidates: [a], sample_rate: 0 }`, "models[1].shadow.sample_rate"},
		{`{ candidates: [a], sample_rate: 1.5 }`, "models[1].shadow.sample_rate"},
		{`{ candidates: [a], sample_rate: 1, judge: nope }`, "models[1].shadow.judge"},
		{`{ candidates: [a], sample_rate: 1, compare: fuzzy }`, "models[1].shadow.compare"},
		{`{ candidates: [a], sample_rate: 1, keys: [""] }`, "models[1].shadow.keys[0]"},
	} {
		_, err := Parse([]byte(strings.Replace(base, "%s", c.shadow, 1)), func(string) (string, bool) { return "", false })
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.shadow, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: error %v, want one naming %s", c.shadow, err, c.want)
		}
	}
}
