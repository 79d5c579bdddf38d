package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Without --config no model is configured: every call fails. The command
// must exit non-zero, print the error counts and still write the reports;
// a second run keeps the first results.
func TestEvalFailsWhenCallsFail(t *testing.T) {
	out := filepath.Join(t.TempDir(), "quick")
	args := []string{"eval", "../../examples/eval/quick.yaml", "--out", out, "--no-cache"}
	_, stderr, err := opRun(t, args...)
	if err == nil || !strings.Contains(err.Error(), "mixtral-8x7b, gpt-4") {
		t.Fatalf("err = %v, want a failure naming both models", err)
	}
	if !strings.Contains(stderr, "eval quick: 10 calls, 10 failed: mixtral-8x7b 5 of 5 failed (first: 404 ") {
		t.Errorf("stderr lacks the error summary:\n%s", stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "results.json")); err != nil {
		t.Fatal(err)
	}
	_, stderr, _ = opRun(t, args...)
	if !strings.Contains(stderr, "already holds results: keeping them") {
		t.Errorf("second run:\n%s", stderr)
	}
	// With the demo config the replay models answer: exit 0.
	_, stderr, err = opRun(t, "eval", "../../examples/eval/quick.yaml", "--config", "../../examples/demo.yaml", "--out", out, "--force", "--no-cache")
	if err != nil || !strings.Contains(stderr, "10 calls, 0 failed") {
		t.Errorf("demo run: %v\n%s", err, stderr)
	}
}
