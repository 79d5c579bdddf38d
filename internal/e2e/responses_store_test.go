package e2e

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"

	"github.com/fulcrumhq/fulcrum/internal/fake"
	"github.com/fulcrumhq/fulcrum/internal/store"
	"github.com/fulcrumhq/fulcrum/internal/store/open"
)

// TestStoredResponsesConversation drives previous_response_id with the
// official openai-go Responses client over non-OpenAI provider kinds (an
// Anthropic and a self-hosted chat-completions server), and checks that a
// continued conversation is scanned whole: history that carries a
// sensitive value cannot reach a proprietary target (nor a redacting one
// when it was kept home), is redacted for a redacting one, and is stored
// only in the form policy cleared.
func TestStoredResponsesConversation(t *testing.T) {
	u := startUpstreams(t)
	local := fake.NewOpenAI()
	t.Cleanup(local.Close)
	g := startGateway(t, leakConfig(u, local), "FULCRUM_MASTER_KEY="+masterKey)
	oc := openaiClient(g)
	ctx := ctxT(t)
	in := func(s string) responses.ResponseNewParamsInputUnion {
		return responses.ResponseNewParamsInputUnion{OfString: openai.String(s)}
	}

	// A harmless conversation on Anthropic, continued twice.
	r1, err := oc.Responses.New(ctx, responses.ResponseNewParams{Model: "m-prop-anthropic", Input: in("My name is Ann")})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := oc.Responses.New(ctx, responses.ResponseNewParams{Model: "m-prop-anthropic", Input: in("What is my name?"), PreviousResponseID: openai.String(r1.ID)})
	if err != nil {
		t.Fatal(err)
	}
	last := u.anthropic.Log.All()[len(u.anthropic.Log.All())-1]
	if !strings.Contains(string(last.Body), "My name is Ann") || !strings.Contains(string(last.Body), fake.Reply("My name is Ann")) {
		t.Errorf("the second turn lacks the history: %s", last.Body)
	}
	got, err := oc.Responses.Get(ctx, r2.ID, responses.ResponseGetParams{})
	if err != nil || got.OutputText() != fake.Reply("What is my name?") || got.PreviousResponseID != r1.ID {
		t.Errorf("GET: %v %+v", err, got)
	}

	// A conversation that starts on the self-hosted model with a
	// sensitive value (allowed there).
	const secret = "ann.leak@example.com"
	h1, err := oc.Responses.New(ctx, responses.ResponseNewParams{Model: "m-local", Input: in("mail " + secret)})
	if err != nil {
		t.Fatal(err)
	}
	// Continued on a proprietary model with a harmless turn: the history
	// is scanned with it, and the default policy keeps it home.
	_, err = oc.Responses.New(ctx, responses.ResponseNewParams{Model: "m-prop", Input: in("and then?"), PreviousResponseID: openai.String(h1.ID)})
	var ae *openai.Error
	if !errors.As(err, &ae) || ae.StatusCode != 403 {
		t.Errorf("history with a sensitive value to a proprietary model: %v", err)
	}
	// Nor on a redacting model: the conversation keeps the policy it was
	// cleared under (default: kept home), whatever the model's own.
	_, err = oc.Responses.New(ctx, responses.ResponseNewParams{Model: "m-redact", Input: in("and then?"), PreviousResponseID: openai.String(h1.ID)})
	if !errors.As(err, &ae) || ae.StatusCode != 403 {
		t.Errorf("history kept home continued on a redacting proprietary model: %v", err)
	}
	// A conversation on a redacting model, continued there: the value is
	// replaced before it leaves, restored in the answer.
	h1, err = oc.Responses.New(ctx, responses.ResponseNewParams{Model: "m-redact", Input: in("mail " + secret)})
	if err != nil {
		t.Fatal(err)
	}
	h2, err := oc.Responses.New(ctx, responses.ResponseNewParams{Model: "m-redact", Input: in("and then?"), PreviousResponseID: openai.String(h1.ID)})
	if err != nil {
		t.Fatal(err)
	}
	if h2.OutputText() != fake.Reply("and then?") {
		t.Errorf("redacted turn answered %q", h2.OutputText())
	}
	assertNoValueReached(t, u, []string{secret})

	if err := g.Stop(); err != nil {
		t.Fatal(err)
	}
	st, err := open.Store(context.Background(), "sqlite://"+filepath.Join(g.Dir, "fulcrum.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rs := st.(store.Responses)
	sr, err := rs.GetResponse(context.Background(), h2.ID, "master")
	if err != nil {
		t.Fatal(err)
	}
	all := string(sr.Items) + string(sr.Output) + string(sr.Response)
	if strings.Contains(all, "ann.leak") || !strings.Contains(string(sr.Items), "and then?") {
		t.Errorf("the redacted turn is stored as %s", all)
	}
	if _, err := rs.GetResponse(context.Background(), r2.ID, "someone-else"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another owner reads it: %v", err)
	}
}
