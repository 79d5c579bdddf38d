package limits

import (
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

func memoryFactory(p RatePolicy) factory {
	return func(t *testing.T, n int, now func() time.Time, totals Totals) []Limiter {
		if n != 1 {
			t.Fatalf("memory limiter cannot be shared by %d replicas", n)
		}
		return []Limiter{NewMemory(MemoryOptions{Totals: totals, Now: now, Rate: p})}
	}
}

func TestMemory(t *testing.T) { runSuite(t, memoryFactory, 1) }

// A rate-limit refusal says which limit refused, so OpenAI clients see the
// error type the API uses ("requests" or "tokens").
func TestExceededNamesTheLimit(t *testing.T) {
	for kind, want := range map[string]string{KindRequests: "requests", KindTokens: "tokens"} {
		le := (&ExceededError{Kind: kind, Limit: 10, RetryAfter: time.Second}).LLM()
		if le.Status != 429 || le.Type != llm.ErrRateLimit || le.RateLimit != want || le.RetryAfter != time.Second {
			t.Errorf("%s: LLM() = %+v, want a 429 rate limit naming %q", kind, le, want)
		}
	}
	if le := (&ExceededError{Kind: KindBudget}).LLM(); le.RateLimit != "" {
		t.Errorf("budget refusal names a rate limit: %+v", le)
	}
}
