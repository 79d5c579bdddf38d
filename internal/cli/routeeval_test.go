package cli

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestRouteEval(t *testing.T) {
	t.Run("table", func(t *testing.T) {
		out, _, err := opRun(t, "route-eval")
		if err != nil {
			t.Fatal(err)
		}
		for _, re := range []string{
			`(?m)^route-eval: GSM8K recordings, heldout split, \d+ questions$`,
			`(?m)^\| router \| APGR \| ± s\.d\. \| strong share for 50% of gap \| for 80% of gap \|$`,
			`(?m)^\| random \| 0\.500 \| 0\.000 \| 50\.0% \| 80\.0% \|$`,
			// The s.d. on 673 questions is about 0.03 (docs/routing.md).
			`(?m)^\| longer prompt to strong \| 0\.\d{3} \| 0\.0[1-5]\d \| \d+\.\d% \| \d+\.\d% \|$`,
			`(?m)^\| difficulty router \| 0\.\d{3} \| 0\.0[1-5]\d \| \d+\.\d% \| \d+\.\d% \|$`,
			`(?m)^\(± s\.d\.: bootstrap over 500 resamples of these \d+ questions`,
			// RouteLLM's ten-bin APGR, for comparison with published numbers.
			`(?m)^RouteLLM's APGR \(ten quantile bins of the scores, as routellm/evals computes it\): router 0\.\d{3}, longer prompt to strong 0\.\d{3}$`,
		} {
			if !regexp.MustCompile(re).MatchString(out) {
				t.Errorf("output does not match %s:\n%s", re, out)
			}
		}
	})
	t.Run("no bootstrap", func(t *testing.T) {
		out, _, err := opRun(t, "route-eval", "--bootstrap", "0")
		if err != nil {
			t.Fatal(err)
		}
		if re := `(?m)^\| difficulty router \| 0\.\d{3} \| \d+\.\d% \| \d+\.\d% \|$`; !regexp.MustCompile(re).MatchString(out) || strings.Contains(out, "s.d.") {
			t.Errorf("--bootstrap 0: want the table without s.d.:\n%s", out)
		}
	})
	t.Run("json", func(t *testing.T) {
		out, _, err := opRun(t, "route-eval", "--split", "all", "--format", "json")
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Split string
			N     int
			Rows  []struct {
				Name     string
				APGR     float64
				SD       float64 `json:"apgr_sd"`
				RouteLLM float64 `json:"apgr_routellm"`
			}
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("malformed JSON: %v\n%s", err, out)
		}
		if got.Split != "all" || got.N != 1319 || len(got.Rows) != 4 {
			t.Fatalf("got split %q, n %d, %d rows; want all, 1319, 4", got.Split, got.N, len(got.Rows))
		}
		apgr := map[string]float64{}
		for _, r := range got.Rows {
			apgr[r.Name] = r.APGR
			// RouteLLM's ten bins differ from every distinct score by the
			// chords' error, a few thousandths (docs/routing.md).
			if math.Abs(r.RouteLLM-r.APGR) > 0.02 {
				t.Errorf("%s: apgr_routellm %.3f, apgr %.3f: want them close", r.Name, r.RouteLLM, r.APGR)
			}
			// 1,319 questions: the s.d. is about 0.02 except for random's
			// expected curve, which does not move.
			if r.Name != "random" && (r.SD < 0.005 || r.SD > 0.06) {
				t.Errorf("%s: apgr_sd %v, want about 0.02", r.Name, r.SD)
			}
		}
		// The figures on the full set: random 0.5, length ≈ 0.60.
		if a := apgr["random"]; a < 0.499 || a > 0.501 {
			t.Errorf("random APGR %.3f, want 0.5", a)
		}
		if a := apgr["longer prompt to strong"]; a < 0.58 || a > 0.62 {
			t.Errorf("length baseline APGR %.3f, want ≈ 0.60", a)
		}
		if apgr["difficulty router"] <= apgr["longer prompt to strong"] {
			t.Errorf("router APGR %.3f not above the length baseline", apgr["difficulty router"])
		}
	})
	t.Run("json random s.d. is present and 0", func(t *testing.T) {
		out, _, err := opRun(t, "route-eval", "--format", "json")
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Rows []struct {
				Name string
				SD   *float64 `json:"apgr_sd"`
			}
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatal(err)
		}
		for _, r := range got.Rows {
			if r.SD == nil || (r.Name == "random") != (*r.SD == 0) {
				t.Errorf("%s: apgr_sd %v; want present, and 0 only for random", r.Name, r.SD)
			}
		}
	})
	t.Run("tiny file", func(t *testing.T) {
		// Two records: a quarter of the resamples have no quality gap. They
		// are left out of the s.d., so random's expected curve stays at 0.
		p := filepath.Join(t.TempDir(), "two.json")
		os.WriteFile(p, []byte(`[{"prompt":"What is 2+2?","weak":true,"strong":true},{"prompt":"Explain quantum tunnelling in detail","weak":false,"strong":true}]`), 0o644)
		out, _, err := opRun(t, "route-eval", "--data", p, "--split", "all")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, "| random | 0.500 | 0.000 |") {
			t.Errorf("random's s.d. is not 0:\n%s", out)
		}
	})
	t.Run("no quality gap", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "same.csv")
		os.WriteFile(p, []byte("prompt,weak,strong\na,1,1\nb,0,0\nc,1,1\n"), 0o644)
		_, _, err := opRun(t, "route-eval", "--data", p, "--split", "all")
		if err == nil || !strings.Contains(err.Error(), "equally accurate on these 3 records (66.7%): there is no quality gap to recover, so APGR is undefined") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("bad split", func(t *testing.T) {
		_, _, err := opRun(t, "route-eval", "--split", "test")
		if err == nil || !strings.Contains(err.Error(), "--split must be heldout, train, all") {
			t.Errorf("err = %v", err)
		}
	})
}
