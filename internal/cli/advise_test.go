package cli

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/meter"
)

// The catalogue's fine-tuned entries answer "what does the API offer":
// ft:gpt-4o-2024-11-20 at $3.75 / $15 per million, and gpt-4o does not
// pick up ft:gpt-4o-mini-… ($0.30 / $1.20).
func TestFineTunedLookup(t *testing.T) {
	cat, err := meter.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	look := fineTunedLookup(cat)
	for _, tc := range []struct {
		model, name string
		in, out     float64
	}{{"gpt-4o", "ft:gpt-4o-2024-11-20", 3.75, 15}, {"gpt-4o-mini", "ft:gpt-4o-mini-2024-07-18", 0.30, 1.20}} {
		in, out, name, ok := look(tc.model)
		if !ok || name != tc.name || math.Abs(in-tc.in) > 1e-9 || math.Abs(out-tc.out) > 1e-9 {
			t.Errorf("%s: %v %v %q %v", tc.model, in, out, name, ok)
		}
	}
	if _, _, _, ok := look("claude-sonnet-4-5"); ok {
		t.Error("claude has no hosted fine-tuning entry")
	}
}

// advise with an eval whose model names match no candidate warns and
// names them.
func TestAdviseWarnsOnUnmatchedEvals(t *testing.T) {
	out, _, err := opRun(t, "advise", "--profile", "../../examples/profiles/startup.yaml", "--eval", "testdata/eval-results.json")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `Warning: 2 eval result(s) match no candidate and are not used: "mixtral-8x7b" (suite gsm8k), "gpt-4" (suite gsm8k; nearest candidate gpt-4o is another model)`) {
		t.Errorf("no warning:\n%s", out)
	}
}

// An unknown --format is refused before the report is computed and before
// --out creates its file (it was created empty, then the command failed).
func TestAdviseRefusesUnknownFormatFirst(t *testing.T) {
	out := filepath.Join(t.TempDir(), "report.xml")
	_, _, err := opRun(t, "advise", "--profile", "../../examples/profiles/startup.yaml", "--format", "xml", "--out", out)
	if err == nil || !strings.Contains(err.Error(), `unknown format "xml" (want table, md, json or html)`) {
		t.Errorf("err = %v", err)
	}
	if _, serr := os.Stat(out); !os.IsNotExist(serr) {
		t.Errorf("--out file created for a refused format: %v", serr)
	}
}

// --measured --days 0 (or less) is refused: it was accepted, usage read
// over 30 days instead and shadow comparisons from days in the future.
func TestAdviseRefusesNonPositiveDays(t *testing.T) {
	for _, d := range []string{"0", "-5"} {
		_, _, err := opRun(t, "advise", "--profile", "../../examples/profiles/startup.yaml", "--measured", "--days", d)
		if err == nil || !strings.Contains(err.Error(), "--days must be positive, not "+d) {
			t.Errorf("--days %s: err = %v", d, err)
		}
	}
}

// A profile whose every candidate is ruled out (all traffic is patient data
// under HIPAA, and the only candidate is an API) gets the full report, and
// the command fails, so that a script cannot take it for advice. With no
// open candidate, no staff cost is asked for.
func TestAdviseFailsWhenNothingIsEligible(t *testing.T) {
	p := filepath.Join(t.TempDir(), "api-only.yaml")
	os.WriteFile(p, []byte(`name: API only, all PHI
data: { classes: [phi], private_share: 1 }
compliance: { hipaa: true }
workload: { input_tokens_per_month: 100000000, output_tokens_per_month: 20000000 }
candidates:
  proprietary:
    - { model: gpt-4o, input_per_million: 2.50, output_per_million: 10 }
`), 0o644)
	out, _, err := opRun(t, "advise", "--profile", p)
	if err == nil || !strings.Contains(err.Error(), "no candidate is eligible") {
		t.Fatalf("err = %v, want the command to fail", err)
	}
	// 100 M × $2.50 + 20 M × $10 = $450 a month, shown though ruled out.
	for _, want := range []string{"RECOMMENDATION: No candidate is eligible", "$450", "no open candidate: no self-hosting to staff"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

// An --eval file that holds no result is refused by name, never read as
// "no evidence" (the quality floor then goes unchecked and a
// recommendation is printed on nothing): before, an empty object and an
// empty model list were accepted and an empty file failed as "EOF".
func TestAdviseRefusesEvalsWithoutResults(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, body, want string }{
		{"empty.json", "", "empty.json: eval: read report: the file is empty"},
		{"object.json", "{}", `object.json: eval: read report: no model results ("models" is missing or empty)`},
		{"none.json", `{"suite":"x","models":[]}`, "none.json: eval: read report: no model results"},
		{"other.json", `{"results":[{"name":"gpt-4o","score":0.9}]}`, "other.json: eval: read report: no model results"},
		{"nameless.json", `{"models":[{"accuracy":0.9,"cases":10}]}`, "models[0]: no model name"},
		{"nocases.json", `{"models":[{"model":"gpt-4o","accuracy":0.9}]}`, "models[0] (gpt-4o): cases must be positive, got 0"},
		{"percent.json", `{"models":[{"model":"gpt-4o","accuracy":90,"cases":10}]}`, "models[0] (gpt-4o): accuracy must be between 0 and 1, got 90"},
		{"errors.json", `{"models":[{"model":"gpt-4o","accuracy":0.5,"cases":10,"errors":11}]}`, "errors must be between 0 and cases (10), got 11"},
		{"broken.json", `{"models":[`, "broken.json: eval: read report: unexpected EOF"},
	} {
		path := filepath.Join(dir, tc.name)
		os.WriteFile(path, []byte(tc.body), 0o644)
		out, _, err := opRun(t, "advise", "--profile", "../../examples/profiles/startup.yaml", "--eval", path)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
		if strings.Contains(out, "RECOMMENDATION") {
			t.Errorf("%s: a recommendation was printed:\n%s", tc.name, out)
		}
	}
}

// A profile with no volume gets no recommendation: every API costs $0,
// so "use gpt-4o, decided by cost" was printed for whichever came first.
func TestAdviseRefusesZeroVolume(t *testing.T) {
	p := filepath.Join(t.TempDir(), "zero.yaml")
	os.WriteFile(p, []byte(`workload: { input_tokens_per_month: 0, output_tokens_per_month: 0 }
candidates:
  proprietary:
    - { model: gpt-4o, input_per_million: 2.50, output_per_million: 10 }
    - { model: gpt-4o-mini, input_per_million: 0.15, output_per_million: 0.60 }
`), 0o644)
	out, _, err := opRun(t, "advise", "--profile", p)
	// It points at the line, as the profile's own errors do.
	if err == nil || !strings.Contains(err.Error(), "advise: "+p+":1: workload: no volume to compare at: the profile's workload.input_tokens_per_month and output_tokens_per_month are 0") {
		t.Errorf("err = %v", err)
	}
	if strings.Contains(out, "RECOMMENDATION") {
		t.Errorf("a recommendation was printed:\n%s", out)
	}
}

// A profile with a value of the wrong type fails the command (a non-zero
// exit) with the file, line and field path of every problem, and writes
// no report.
func TestAdviseProfileTypeError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "profile.yaml")
	body := "workload:\n  input_tokens_per_month: 1e9\n  output_tokens_per_month: 1e9\ncandidates:\n  proprietary:\n    - model: gpt-4o\n" +
		"workloads:\n  - name: a\n    share: 0.5\n  - name: b\n    share: lots\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err := opRun(t, "advise", "--profile", path)
	want := "advise: " + path + `:11: workloads[1].share: want a number, got "lots"`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
	if out != "" {
		t.Errorf("a report was written:\n%s", out)
	}
}

// With --format json (or html, or --out) the report is for a program or a
// file: the unmatched-eval warning goes to standard error too, or whoever
// ran the command never sees it. The table prints it once, among its notes.
func TestAdviseWarnsOnStderrWhenNotTable(t *testing.T) {
	const warn = `advise: warning: 2 eval result(s) match no candidate and are not used: "mixtral-8x7b" (suite gsm8k), "gpt-4" (suite gsm8k; nearest candidate gpt-4o is another model)`
	for _, tc := range []struct {
		args   []string
		stderr bool
	}{
		{[]string{"--format", "json"}, true},
		{[]string{"--format", "md"}, true},
		{[]string{"--out", filepath.Join(t.TempDir(), "r.txt")}, true},
		{nil, false},
	} {
		args := append([]string{"advise", "--profile", "../../examples/profiles/startup.yaml", "--eval", "testdata/eval-results.json"}, tc.args...)
		_, stderr, err := opRun(t, args...)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(stderr, warn) != tc.stderr {
			t.Errorf("%v: stderr %q, want the warning there: %v", tc.args, stderr, tc.stderr)
		}
	}
}

// A cancelled context (Ctrl-C) ends advise with an error saying no report
// was made, and nothing on standard output: the volume search once ignored
// the context, and only a second Ctrl-C ended the process.
func TestAdviseStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb bytes.Buffer
	err := Main(ctx, []string{"advise", "--profile", "../../examples/profiles/content-platform.yaml"}, &out, &errb)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "no report made") {
		t.Errorf("err = %v", err)
	}
	if out.Len() > 0 {
		t.Errorf("a report was written:\n%s", out.String())
	}
}
