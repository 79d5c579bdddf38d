package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// route-train on a user file writes a router that route-eval --router
// scores on the same file's held-out half.
func TestRouteTrainThenEval(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("prompt,weak,strong\n")
	// Long prompts: the strong model gains; short ones: no difference.
	for i := range 400 {
		if i%2 == 0 {
			fmt.Fprintf(&b, "\"%s question %d\",false,true\n", strings.Repeat("a long and winding ", 10), i)
		} else {
			fmt.Fprintf(&b, "short %d,true,true\n", i)
		}
	}
	data := filepath.Join(dir, "data.csv")
	if err := os.WriteFile(data, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "router.json")
	_, stderr, err := opRun(t, "route-train", "--data", data, "--out", out, "--word-buckets", "64")
	if err != nil || !strings.Contains(stderr, "trained on") {
		t.Fatalf("%v\n%s", err, stderr)
	}
	stdout, _, err := opRun(t, "route-eval", "--data", data, "--router", out)
	if err != nil || !strings.Contains(stdout, "route-eval: "+data+", heldout split") || !strings.Contains(stdout, "| difficulty router | 0.750 |") {
		t.Errorf("%v\n%s", err, stdout)
	}
	// --structure adds the structure features to the file; without it the
	// file lists none (like the files written before they existed).
	if b, err := os.ReadFile(out); err != nil || strings.Contains(string(b), `"s:`) {
		t.Errorf("router file without --structure has structure features (%v)", err)
	}
	outS := filepath.Join(dir, "router-structure.json")
	if _, stderr, err := opRun(t, "route-train", "--data", data, "--out", outS, "--word-buckets", "64", "--structure"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if b, err := os.ReadFile(outS); err != nil || !strings.Contains(string(b), `"name": "s:option_overlap"`) {
		t.Errorf("router file with --structure lacks the structure features (%v)", err)
	}
	if stdout, _, err := opRun(t, "route-eval", "--data", data, "--router", outS); err != nil || !strings.Contains(stdout, "| difficulty router | 0.750 |") {
		t.Errorf("--structure router: %v\n%s", err, stdout)
	}
	// --char-ngrams: the file says so, and route-eval scores it with them.
	outN := filepath.Join(dir, "router-chars.json")
	if _, stderr, err := opRun(t, "route-train", "--data", data, "--out", outN, "--word-buckets", "64", "--char-ngrams"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if b, err := os.ReadFile(outN); err != nil || !strings.Contains(string(b), `"char_ngrams": true`) {
		t.Errorf("router file with --char-ngrams does not say so (%v)", err)
	}
	if b, err := os.ReadFile(out); err != nil || strings.Contains(string(b), `"char_ngrams"`) {
		t.Errorf("router file without --char-ngrams names them (%v)", err)
	}
	if stdout, _, err := opRun(t, "route-eval", "--data", data, "--router", outN); err != nil || !strings.Contains(stdout, "| difficulty router | 0.750 |") {
		t.Errorf("--char-ngrams router: %v\n%s", err, stdout)
	}
	// --contrast --boost: two fitted models' difference, with stumps.
	outC := filepath.Join(dir, "router-contrast.json")
	if _, stderr, err := opRun(t, "route-train", "--data", data, "--out", outC, "--word-buckets", "64", "--contrast", "--boost", "10"); err != nil || !strings.Contains(stderr, "trained on") {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if b, err := os.ReadFile(outC); err != nil || !strings.Contains(string(b), `"stumps"`) || !strings.Contains(string(b), "logit P(strong right) - logit P(weak right)") {
		t.Errorf("router file with --contrast --boost lacks stumps or its label (%v)", err)
	}
	if stdout, _, err := opRun(t, "route-eval", "--data", data, "--router", outC); err != nil || !strings.Contains(stdout, "| difficulty router | 0.750 |") {
		t.Errorf("--contrast router: %v\n%s", err, stdout)
	}
	// By default route-train tries the four learners on the tuning third
	// and says which it kept; --choose=false and a learner given do not.
	if _, stderr, err := opRun(t, "route-train", "--data", data, "--out", outC, "--word-buckets", "64"); err != nil || !strings.Contains(stderr, "chosen on the tuning third (best APGR by learner: gain ") || !strings.Contains(stderr, "contrast+boost50 ") {
		t.Errorf("--choose: %v\n%s", err, stderr)
	}
	if stdout, _, err := opRun(t, "route-eval", "--data", data, "--router", outC); err != nil || !strings.Contains(stdout, "| difficulty router | 0.750 |") {
		t.Errorf("--choose router: %v\n%s", err, stdout)
	}
	for _, args := range [][]string{{"--choose=false"}, {"--boost", "5"}, {"--contrast"}} {
		_, stderr, err := opRun(t, append([]string{"route-train", "--data", data, "--out", outC, "--word-buckets", "64"}, args...)...)
		if err != nil || strings.Contains(stderr, "best APGR by learner") {
			t.Errorf("route-train %v chose a learner: %v\n%s", args, err, stderr)
		}
	}
	if _, _, err := opRun(t, "route-train", "--data", data, "--out", outC, "--boost", "-1"); err == nil {
		t.Error("--boost -1 accepted")
	}
	if _, _, err := opRun(t, "route-train", "--data", data); err == nil {
		t.Error("no --out accepted")
	}
	if _, _, err := opRun(t, "route-eval", "--data", filepath.Join(dir, "missing.csv")); err == nil {
		t.Error("missing file accepted")
	}
}

// Records on which the two models never differ teach a router nothing:
// route-train says so and writes no file, rather than a router that looks
// trained.
func TestRouteTrainRefusesDataWithoutDifferences(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("prompt\tweak\tstrong\n")
	for i := range 80 {
		fmt.Fprintf(&b, "question %d %s\t%d\t%d\n", i, strings.Repeat("x ", i), i%2, i%2)
	}
	data := filepath.Join(dir, "same.tsv")
	if err := os.WriteFile(data, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "router.json")
	_, _, err := opRun(t, "route-train", "--data", data, "--out", out)
	if err == nil || !strings.Contains(err.Error(), "equally well on every one of the 40 training records") {
		t.Errorf("err = %v", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a router file was written: %v", err)
	}
}

// route-train --splits N estimates APGR over N random half-splits of every
// record given, next to the length rule, and leaves the router file as
// without it.
func TestRouteTrainSplits(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("prompt,weak,strong\n")
	// The strong model gains on prompts that say "hard", whatever their
	// length; lengths vary independently, so the length rule is near 0.5.
	for i := range 300 {
		word, weak := "easy", "true"
		if i%3 == 0 {
			word, weak = "hard", "false"
		}
		fmt.Fprintf(&b, "%s question %d %s,%s,true\n", word, i, strings.Repeat("x", i%17), weak)
	}
	data := filepath.Join(dir, "data.csv")
	if err := os.WriteFile(data, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	plain, split := filepath.Join(dir, "plain.json"), filepath.Join(dir, "split.json")
	if _, stderr, err := opRun(t, "route-train", "--data", data, "--out", plain, "--word-buckets", "64", "--choose=false"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	_, stderr, err := opRun(t, "route-train", "--data", data, "--out", split, "--word-buckets", "64", "--choose=false", "--splits", "3")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	re := regexp.MustCompile(`3 random half-splits of 300 records \(trained on one half, the other scored\): APGR (0\.\d{3}) ± 0\.\d{3} \(mean ± s\.d\.\), length rule (0\.\d{3}) ± 0\.\d{3}; router − length rule \+0\.\d{3} ± 0\.\d{3}, above it in 3 of 3`)
	m := re.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no estimate over random half-splits in:\n%s", stderr)
	}
	// A perfect ranking scores 1 - (1/3)/2 ≈ 0.833 with a third of prompts gaining.
	if m[1] < "0.8" || m[2] > "0.7" {
		t.Errorf("a router that reads the word %q scored %s, the length rule %s: want ≥ 0.8 and ≤ 0.7", "hard", m[1], m[2])
	}
	a, _ := os.ReadFile(plain)
	c, _ := os.ReadFile(split)
	if len(a) == 0 || string(a) != string(c) {
		t.Error("--splits changed the router file")
	}
	if _, _, err := opRun(t, "route-train", "--data", data, "--out", split, "--splits", "-1"); err == nil || !strings.Contains(err.Error(), "--splits") {
		t.Errorf("--splits -1: %v, want an error naming --splits", err)
	}
}
