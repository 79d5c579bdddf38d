package advise

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A value of the wrong type, a list where a map is expected and an unknown
// field are each named by file, line and field path, every one of them at
// once. Before, the decoder said "line 3: cannot unmarshal !!str `lots`
// into float64" (no field), "cannot unmarshal !!seq into
// advise.Workload" (a Go type) and stopped at the first document error.
// Unknown fields are errors, not warnings: a misspelt "regoin: eu" left
// out would drop the residency rule and change the advice silently.
func TestProfileTypeErrors(t *testing.T) {
	head := "workload:\n  input_tokens_per_month: 1e9\n  output_tokens_per_month: 1e9\n"
	api := "candidates:\n  proprietary:\n    - model: gpt-4o\n      input_per_million: 2.5\n      output_per_million: 10\n"
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"string for a number", head + api + "workloads:\n  - name: a\n    share: 0.5\n  - name: b\n    share: lots\n",
			[]string{`profile.yaml:13: workloads[1].share: want a number, got "lots"`}},
		{"quoted string for a number", "workload:\n  input_tokens_per_month: \"1e9\"\n  output_tokens_per_month: 1e9\n" + api,
			[]string{`profile.yaml:2: workload.input_tokens_per_month: want a number, got "1e9"`}},
		{"map where a list is expected", head + "candidates:\n  proprietary:\n    model: gpt-4o\n",
			[]string{`profile.yaml:6: candidates.proprietary: want a list, got a map`}},
		{"list where a map is expected", "workload: [1, 2]\n" + api,
			[]string{`profile.yaml:1: workload: want a map of fields (input_tokens_per_month, output_tokens_per_month, peak_rps, output_tokens_per_request, base_rps, peak_hours_per_day, growth_per_month, latency), got a list`}},
		{"number where a map is expected", head + api + "budget: 5000\n",
			[]string{`profile.yaml:9: budget: want a map of fields (monthly_limit_usd, capex_possible), got "5000"`}},
		// Before, the decoder took 1.5 replicas as 1, silently.
		{"fraction for a whole number", head + api + "self_hosting:\n  min_replicas: 1.5\n",
			[]string{`profile.yaml:10: self_hosting.min_replicas: want a whole number, got "1.5"`}},
		{"whole number written as a fraction", head + api + "horizon_months: 24.0\nself_hosting:\n  min_replicas: 2.5\n",
			[]string{`profile.yaml:11: self_hosting.min_replicas: want a whole number, got "2.5"`}},
		{"key given twice", "workload:\n  input_tokens_per_month: 1e9\n  output_tokens_per_month: 1e9\n  input_tokens_per_month: 2e9\n" + api,
			[]string{`profile.yaml:4: workload.input_tokens_per_month: given twice (first at line 2)`}},
		{"word for a boolean", head + api + "compliance:\n  gdpr: maybe\n",
			[]string{`profile.yaml:10: compliance.gdpr: want true or false, got "maybe"`}},
		{"list for a number", head + api + "self_hosting:\n  staff_fte: [1]\n",
			[]string{`profile.yaml:10: self_hosting.staff_fte: want a number, got a list`}},
		{"every problem, in line order", "workload:\n  input_tokens_per_month: lots\n  output_tokens_per_month: 1e9\n  peak: 3\n" +
			"candidates:\n  proprietary:\n    - model: gpt-4o\n      regoin: eu\n  open:\n    - model: llama\n      gpu_hourly: 2\n      output_tokens_per_second: fast\n",
			[]string{
				`profile.yaml:2: workload.input_tokens_per_month: want a number, got "lots"`,
				`profile.yaml:4: workload.peak: unknown field; workload has input_tokens_per_month, output_tokens_per_month, peak_rps, output_tokens_per_request, base_rps, peak_hours_per_day, growth_per_month, latency (see docs/advise.md for the profile format)`,
				`profile.yaml:8: candidates.proprietary[0].regoin: unknown field; did you mean "region"? (see docs/advise.md for the profile format)`,
				`profile.yaml:11: candidates.open[0].gpu_hourly: unknown field; did you mean "gpu_hourly_usd"? (see docs/advise.md for the profile format)`,
				`profile.yaml:12: candidates.open[0].output_tokens_per_second: want a number, got "fast"`,
			}},
		// The parser places a tab that breaks a mapping at the mapping's
		// last line before it.
		{"syntax error", "workload:\n  input_tokens_per_month: 1e9\n\toutput_tokens_per_month: 3\n",
			[]string{`profile.yaml:2: found a tab character that violates indentation`}},
		// Values checked after decoding carry the line too: the field's,
		// or its section's when the field is missing.
		{"value out of range", head + api + "workloads:\n  - name: a\n    share: 1.5\n",
			[]string{`profile.yaml:11: workloads[0].share: must be in (0, 1], not 1.5`, `profile.yaml:9: workloads: shares must sum to 1, not 1.5`}},
		{"missing field", "workload:\n  output_tokens_per_month: 1e9\n" + api,
			[]string{`profile.yaml:1: workload.input_tokens_per_month: required (0 for no traffic)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "profile.yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadProfile(path)
			var pe ProfileErrors
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want ProfileErrors", err)
			}
			var got []string
			for _, e := range pe {
				rel, _ := filepath.Rel(filepath.Dir(path), e.File)
				e.File = rel
				got = append(got, e.Error())
			}
			// In line order; the table lists them as read, so compare as
			// sets.
			if diff := cmp.Diff(sorted(tt.want), sorted(got)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func sorted(xs []string) []string { return slices.Sorted(slices.Values(xs)) }

// Anchors, aliases and merge keys are read as the decoder reads them: a
// merged map's fields are checked against the section it is merged into.
func TestProfileMergeKeys(t *testing.T) {
	ok := `x-gpu: &h100 {gpu: H100, gpu_hourly_usd: 2.69}
workload: {input_tokens_per_month: 1e9, output_tokens_per_month: 1e9}
expertise: {staff_cost_usd_month: 10000}
candidates:
  open:
    - {<<: *h100, model: a, output_tokens_per_second: 100}
`
	// x-gpu is no profile field: a template needs a home the profile has.
	if _, err := ParseProfile([]byte(ok)); err == nil || err.Error() != `line 1: x-gpu: unknown field; the profile's top level has name, horizon_months, data, customisation, expertise, budget, compliance, workload, candidates, self_hosting, hybrid, quality, workloads (see docs/advise.md for the profile format)` {
		t.Errorf("err = %v", err)
	}
	merged := `workload: &w {input_tokens_per_month: 1e9, output_tokens_per_month: 1e9}
expertise: {staff_cost_usd_month: 10000}
candidates:
  open:
    - &a {model: a, gpu_hourly_usd: 2.69, output_tokens_per_second: 100}
    - {<<: *a, model: b, gpu_hourly_usd: lots}
`
	_, err := ParseProfile([]byte(merged))
	if err == nil || err.Error() != `line 6: candidates.open[1].gpu_hourly_usd: want a number, got "lots"` {
		t.Errorf("err = %v", err)
	}
	p, err := ParseProfile([]byte(strings.Replace(merged, "lots", "3.5", 1)))
	if err != nil || len(p.Candidates.Open) != 2 || p.Candidates.Open[1].OutputTokensPerSecond != 100 || p.Candidates.Open[1].GPUHourlyUSD != 3.5 {
		t.Errorf("merged: %+v, %v", p, err)
	}
}

// The schema walk never panics and never lets through what the decoder
// refuses: every profile is either parsed or refused with FieldErrors that
// each name a line or a path.
func FuzzParseProfile(f *testing.F) {
	for _, seed := range []string{
		"workload: {input_tokens_per_month: 1e9, output_tokens_per_month: 1e9}\ncandidates: {proprietary: [{model: x, input_per_million: 1, output_per_million: 2}]}\n",
		"workload: [1, 2]\n", "budget: 5000\n", "a: &a {b: 1}\nc: *a\n", "- x\n", "workload:\n\tx: 1\n",
		"candidates: {open: [{<<: {model: m}, gpu_hourly_usd: lots}]}\n", "self_hosting: {min_replicas: 1.5, staff_fte: [1]}\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, err := ParseProfile(b)
		if err == nil {
			return
		}
		var pe ProfileErrors
		if !errors.As(err, &pe) || len(pe) == 0 {
			t.Fatalf("err %v (%T), want ProfileErrors", err, err)
		}
		for _, e := range pe {
			if e.Msg == "" {
				t.Fatalf("empty message in %v", err)
			}
		}
	})
}
