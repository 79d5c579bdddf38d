package gateway_test

import (
	"context"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/gateway"
	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// probeLimiter refuses every request, keeping what it was asked to admit.
type probeLimiter struct{ got *llm.ChatRequest }

func (l *probeLimiter) Admit(_ context.Context, _ *gateway.Caller, req *llm.ChatRequest, _ string) (gateway.Admission, error) {
	l.got = req
	return nil, &llm.Error{Status: 429, Type: llm.ErrRateLimit, Message: "refused by the test"}
}

// An embeddings request whose inputs are token ids is admitted as what it
// is billed: one token per id. Budgets and tpm were asked to admit an
// empty request for it, so token arrays reserved nothing.
func TestEmbeddingTokensAdmitted(t *testing.T) {
	lim := &probeLimiter{}
	e := newEnvWith(t, func(o *gateway.Options) { o.Limiter = lim })
	ids := strings.TrimSuffix(strings.Repeat("1234,", 70_000), ",")
	resp, out := e.post(t, "/v1/embeddings", `{"model":"m-openai","input":[[`+ids+`],[5,6,7]]}`)
	if resp.StatusCode != 429 || lim.got == nil {
		t.Fatalf("status %d (want the test limiter's 429): %.200s", resp.StatusCode, out)
	}
	var bytes int
	for _, m := range lim.got.Messages {
		for _, p := range m.Content {
			bytes += len(p.Text)
		}
	}
	if bytes < 70_003 {
		t.Errorf("the limits were asked to admit %d bytes of text for 70,003 token ids", bytes)
	}
}
