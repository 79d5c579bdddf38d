package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	oa "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/fake"
	"github.com/fulcrumhq/fulcrum/internal/gateway"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/policy"
	"github.com/fulcrumhq/fulcrum/internal/provider"
	"github.com/fulcrumhq/fulcrum/internal/provider/anthropic"
	"github.com/fulcrumhq/fulcrum/internal/provider/openai"
	"github.com/fulcrumhq/fulcrum/internal/router"
	"github.com/fulcrumhq/fulcrum/internal/store"
	"github.com/fulcrumhq/fulcrum/internal/store/sqlite"
)

// keyAuth knows two keys, "sk-a" and "sk-b".
type keyAuth struct{}

func (keyAuth) Authenticate(_ context.Context, secret string) (*gateway.Caller, *llm.Error) {
	switch secret {
	case "sk-a", "sk-b":
		return &gateway.Caller{KeyID: "key-" + secret[3:]}, nil
	}
	return nil, &llm.Error{Status: 401, Type: llm.ErrAuthentication, Code: "invalid_api_key", Message: "bad key"}
}

// newStoredEnv is newResponsesEnv with a SQLite response store and two
// keys; the client uses key a.
func newStoredEnv(t *testing.T) (*env, oa.Client, store.Responses) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "f.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e, _ := newResponsesEnvWith(t, func(o *gateway.Options) { o.Responses = db; o.Auth = keyAuth{} })
	return e, clientAs(e, "sk-a"), db
}

func clientAs(e *env, key string) oa.Client {
	return oa.NewClient(option.WithBaseURL(e.srv.URL+"/v1"), option.WithAPIKey(key), option.WithMaxRetries(0))
}

// anthropicTurns returns the (role, text) turns of the last request the
// Anthropic fake received.
func anthropicTurns(t *testing.T, e *env) []string {
	t.Helper()
	log := e.an.Log.All()
	var body struct {
		Messages []struct {
			Role    string          `json:"role"`
			Content json.RawMessage `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(log[len(log)-1].Body, &body); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range body.Messages {
		var s string
		if json.Unmarshal(m.Content, &s) != nil {
			var parts []struct{ Text string }
			json.Unmarshal(m.Content, &parts)
			for _, p := range parts {
				s += p.Text
			}
		}
		out = append(out, m.Role+": "+s)
	}
	return out
}

// TestStoredConversation: on a translated target, previous_response_id
// continues a stored conversation (plain and streamed turns), GET returns
// the stored response and DELETE removes it, for the key that made it
// only.
func TestStoredConversation(t *testing.T) {
	e, client, _ := newStoredEnv(t)
	ctx := context.Background()
	first, err := client.Responses.New(ctx, responses.ResponseNewParams{Model: "m-anthropic",
		Input: responses.ResponseNewParamsInputUnion{OfString: oa.String("My name is Ann")}, Instructions: oa.String("be brief")})
	if err != nil {
		t.Fatal(err)
	}
	// Second turn, streamed.
	st := client.Responses.NewStreaming(ctx, responses.ResponseNewParams{Model: "m-anthropic", PreviousResponseID: oa.String(first.ID),
		Input: responses.ResponseNewParamsInputUnion{OfString: oa.String("What is my name?")}})
	var second responses.Response
	for st.Next() {
		if ev := st.Current(); ev.Type == "response.completed" {
			second = ev.Response
		}
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{"user: My name is Ann", "assistant: " + fake.Reply("My name is Ann"), "user: What is my name?"}
	if got := anthropicTurns(t, e); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("second turn sent %q, want %q", got, want)
	}
	if second.PreviousResponseID != first.ID || second.ID == first.ID {
		t.Errorf("second %q previous %q, first %q", second.ID, second.PreviousResponseID, first.ID)
	}
	// Third turn, from the streamed one: the whole chain.
	third, err := client.Responses.New(ctx, responses.ResponseNewParams{Model: "m-anthropic", PreviousResponseID: oa.String(second.ID),
		Input: responses.ResponseNewParamsInputUnion{OfString: oa.String("Thanks")}})
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, "assistant: "+fake.Reply("What is my name?"), "user: Thanks")
	if got := anthropicTurns(t, e); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("third turn sent %q, want %q", got, want)
	}
	// Instructions are not carried over (the API's rule).
	if body := string(e.an.Log.All()[len(e.an.Log.All())-1].Body); strings.Contains(body, "be brief") {
		t.Errorf("instructions carried over: %s", body)
	}

	got, err := client.Responses.Get(ctx, third.ID, responses.ResponseGetParams{})
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != third.ID || got.OutputText() != third.OutputText() || got.PreviousResponseID != second.ID {
		t.Errorf("GET %+v", got)
	}
	// Another key finds nothing: not to read, continue or delete.
	other := clientAs(e, "sk-b")
	var ae *oa.Error
	if _, err := other.Responses.Get(ctx, third.ID, responses.ResponseGetParams{}); !errors.As(err, &ae) || ae.StatusCode != 404 {
		t.Errorf("GET by another key: %v", err)
	}
	_, err = other.Responses.New(ctx, responses.ResponseNewParams{Model: "m-anthropic", PreviousResponseID: oa.String(third.ID),
		Input: responses.ResponseNewParamsInputUnion{OfString: oa.String("hi")}})
	if !errors.As(err, &ae) || ae.StatusCode != 400 || ae.Code != "previous_response_not_found" || ae.Param != "previous_response_id" {
		t.Errorf("continue by another key: %v", err)
	}
	if err := other.Responses.Delete(ctx, third.ID); !errors.As(err, &ae) || ae.StatusCode != 404 {
		t.Errorf("DELETE by another key: %v", err)
	}
	// The owner deletes it; then it is gone.
	if err := client.Responses.Delete(ctx, third.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Responses.Get(ctx, third.ID, responses.ResponseGetParams{}); !errors.As(err, &ae) || ae.StatusCode != 404 {
		t.Errorf("GET after DELETE: %v", err)
	}
	_, err = client.Responses.New(ctx, responses.ResponseNewParams{Model: "m-anthropic", PreviousResponseID: oa.String(third.ID),
		Input: responses.ResponseNewParamsInputUnion{OfString: oa.String("hi")}})
	if !errors.As(err, &ae) || ae.Code != "previous_response_not_found" {
		t.Errorf("continue after DELETE: %v", err)
	}
	// Cancel: only background responses, which Fulcrum does not run.
	if _, err := client.Responses.Cancel(ctx, second.ID); !errors.As(err, &ae) || ae.StatusCode != 400 {
		t.Errorf("cancel: %v", err)
	}
}

// TestStoredToolRoundTrip: a function call answered by a stored response
// is continued with only the function_call_output as input.
func TestStoredToolRoundTrip(t *testing.T) {
	e, client, _ := newStoredEnv(t)
	ctx := context.Background()
	resp, err := client.Responses.New(ctx, responses.ResponseNewParams{Model: "m-openai", Tools: []responses.ToolUnionParam{weatherTool},
		Input: responses.ResponseNewParamsInputUnion{OfString: oa.String("weather in Paris?")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Output) != 1 || resp.Output[0].Type != "function_call" {
		t.Fatalf("output %+v", resp.Output)
	}
	next, err := client.Responses.New(ctx, responses.ResponseNewParams{Model: "m-openai", PreviousResponseID: oa.String(resp.ID),
		Tools: []responses.ToolUnionParam{weatherTool},
		Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
			{OfFunctionCallOutput: &responses.ResponseInputItemFunctionCallOutputParam{CallID: oa.String(resp.Output[0].CallID),
				Output: responses.ResponseInputItemFunctionCallOutputOutputUnionParam{OfString: oa.String("22 degrees")}}},
		}}})
	if err != nil {
		t.Fatal(err)
	}
	if next.OutputText() != "Tool said: 22 degrees" {
		t.Errorf("answer %q", next.OutputText())
	}
	log := e.oa.Log.All()
	body := string(log[len(log)-1].Body)
	if !strings.Contains(body, `"tool_calls"`) || !strings.Contains(body, resp.Output[0].CallID) || !strings.Contains(body, "weather in Paris?") {
		t.Errorf("the chat target did not get the history: %s", body)
	}
}

// TestStoreFalseAndStorageOff: store: false keeps nothing; with storage
// off, previous_response_id to a translated target is a 400 that says so.
func TestStoreFalseAndStorageOff(t *testing.T) {
	e, client, _ := newStoredEnv(t)
	ctx := context.Background()
	resp, err := client.Responses.New(ctx, responses.ResponseNewParams{Model: "m-anthropic", Store: oa.Bool(false),
		Input: responses.ResponseNewParamsInputUnion{OfString: oa.String("hi")}})
	if err != nil {
		t.Fatal(err)
	}
	var ae *oa.Error
	if _, err := client.Responses.Get(ctx, resp.ID, responses.ResponseGetParams{}); !errors.As(err, &ae) || ae.StatusCode != 404 {
		t.Errorf("GET of an unstored response: %v", err)
	}
	_ = e

	off, _ := newResponsesEnv(t)
	r, out := off.post(t, "/v1/responses", `{"model":"m-anthropic","input":"hi","previous_response_id":"resp_1"}`)
	if r.StatusCode != 400 || !strings.Contains(out, "storage is off") || !strings.Contains(out, `"param":"previous_response_id"`) {
		t.Errorf("storage off: %d %s", r.StatusCode, out)
	}
	req, _ := http.NewRequest("GET", off.srv.URL+"/v1/responses/resp_1", nil)
	hr, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(hr.Body)
	hr.Body.Close()
	if hr.StatusCode != 404 || !strings.Contains(string(b), "storage is off") {
		t.Errorf("GET with storage off: %d %s", hr.StatusCode, b)
	}
}

// TestStoredPassThroughUnknownID: an id the store does not hold goes to
// an upstream serving the Responses API unchanged (it keeps its own).
// TestStoredPassThroughOwnedByKey: a Responses conversation an upstream
// keeps (pass-through to OpenAI) is continued by the key that made it,
// and by no other: every key reaches the upstream with the same
// credentials, so forwarding another key's previous_response_id would let
// it read that conversation. Before, any id Fulcrum did not hold was
// forwarded as it was, whoever sent it.
func TestStoredPassThroughOwnedByKey(t *testing.T) {
	e, _, _ := newStoredEnv(t)
	send := func(key, body string) (int, string) {
		t.Helper()
		status, b := postKey(t, e.srv.URL+"/v1/responses", key, body)
		return status, string(b)
	}
	ids := map[bool]string{}
	for _, stream := range []bool{false, true} {
		st, out := send("sk-a", `{"model":"m-oresp","input":"My name is Ann","stream":`+map[bool]string{false: "false", true: "true"}[stream]+`}`)
		if st != 200 {
			t.Fatalf("first turn: %d %s", st, out)
		}
		id := out[strings.Index(out, `"id":"resp_`)+6:]
		ids[stream] = id[:strings.IndexByte(id, '"')]
	}
	for stream, id := range ids {
		// The owner continues it: forwarded as it was.
		n := len(e.oa.Log.All())
		if st, out := send("sk-a", `{"model":"m-oresp","input":"What is my name?","previous_response_id":"`+id+`"}`); st != 200 {
			t.Errorf("stream %v: owner's continuation: %d %s", stream, st, out)
		}
		log := e.oa.Log.All()
		if len(log) != n+1 || !strings.Contains(string(log[n].Body), `"previous_response_id":"`+id+`"`) {
			t.Errorf("stream %v: owner's continuation not forwarded unchanged", stream)
		}
		// Another key: refused, nothing forwarded.
		st, out := send("sk-b", `{"model":"m-oresp","input":"What is my name?","previous_response_id":"`+id+`"}`)
		if st != 400 || decodeErr(t, out).Error.Code != "previous_response_not_found" {
			t.Errorf("stream %v: another key's continuation: %d %s", stream, st, out)
		}
		if len(e.oa.Log.All()) != n+1 {
			t.Errorf("stream %v: another key's continuation reached the upstream", stream)
		}
		// GET and DELETE find nothing in Fulcrum (the upstream keeps the
		// body: a DELETE saying "deleted" would leave it there), and the
		// owner can still continue it afterwards.
		for _, m := range []string{"GET", "DELETE"} {
			req, _ := http.NewRequest(m, e.srv.URL+"/v1/responses/"+id, nil)
			req.Header.Set("Authorization", "Bearer sk-a")
			if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 404 {
				t.Errorf("%s of an upstream-kept response: %v %v", m, err, resp.StatusCode)
			} else {
				resp.Body.Close()
			}
		}
		if st, out := send("sk-a", `{"model":"m-oresp","input":"again","previous_response_id":"`+id+`"}`); st != 200 {
			t.Errorf("stream %v: owner's continuation after DELETE: %d %s", stream, st, out)
		}
	}
	// An id nobody made through Fulcrum is not forwarded either.
	n := len(e.oa.Log.All())
	if st, out := send("sk-a", `{"model":"m-oresp","input":"hi","previous_response_id":"resp_upstream"}`); st != 400 || len(e.oa.Log.All()) != n {
		t.Errorf("unknown id: %d %s", st, out)
	}
	// An upstream-kept conversation cannot be continued on a translated
	// target: that upstream alone holds it.
	st, out := send("sk-a", `{"model":"m-anthropic","input":"hi","previous_response_id":"`+ids[false]+`"}`)
	if st != 400 || !strings.Contains(out, "kept by the upstream") {
		t.Errorf("upstream-kept id on a translated target: %d %s", st, out)
	}
}

// modelGuard is the data policy as the app wires it: each model's policy
// and those a stored conversation carries apply, the strictest winning.
type modelGuard struct {
	e      *policy.Engine
	models map[string]string // model -> policy
}

func (g modelGuard) Evaluate(in *gateway.PolicyInput) (gateway.Verdict, error) {
	var names []string
	if p := g.models[in.Model]; p != "" {
		names = append(names, p)
	}
	names = append(names, in.Policies...)
	slices.Sort(names)
	return g.e.EvaluateBody(policy.Input{Body: in.Body, Declared: in.Declared, Opaque: in.Forwarded, Policies: slices.Compact(names)})
}

// TestStoredConversationKeepsItsVerdict: a conversation policy kept on a
// self-hosted model is not continued on a proprietary one by naming it as
// previous_response_id. Its history carries what its requests declared
// (x-fulcrum-data-class, which no scan can find again) and the policies
// it was cleared under (a model whose own policy allows more does not
// open it). Before, the continuation was judged as a new request: the
// declared class was gone, the lax policy applied, and the history went
// to the proprietary upstream.
func TestStoredConversationKeepsItsVerdict(t *testing.T) {
	oaFake, anFake := fake.NewOpenAI(), fake.NewAnthropic()
	e := &env{oa: oaFake, an: anFake}
	local, err := openai.New(config.Provider{Name: "local", Type: "openai", BaseURL: oaFake.URL, APIKey: fake.APIKey, Hosting: "self_hosted"})
	if err != nil {
		t.Fatal(err)
	}
	prop, err := anthropic.New(config.Provider{Name: "prop", Type: "anthropic", BaseURL: anFake.URL, APIKey: fake.APIKey, Hosting: "proprietary"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{
		Providers: []config.Provider{{Name: "local", Type: "openai"}, {Name: "prop", Type: "anthropic"}},
		Models: []config.Model{
			{Name: "m-local", Provider: "local", Upstream: "llama", Type: "chat"},
			{Name: "m-prop", Provider: "prop", Upstream: "claude-sonnet-4-5", Type: "chat"},
			{Name: "m-prop-lax", Provider: "prop", Upstream: "claude-sonnet-4-5", Type: "chat"},
		},
	}
	ps := map[string]provider.Provider{"local": local, "prop": prop}
	r, err := router.New(cfg, ps, router.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := policy.New(config.Policy{Policies: []config.DataPolicy{
		{Name: "default", OnSensitive: config.ActionSelfHostedOnly},
		{Name: "lax", OnSensitive: config.ActionAllow},
	}})
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "f.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(gateway.New(gateway.Options{Router: r, Responses: db, Auth: keyAuth{},
		Guard: modelGuard{eng, map[string]string{"m-prop-lax": "lax"}}}))
	t.Cleanup(func() {
		e.srv.Close()
		oaFake.Close()
		anFake.Close()
		db.Close()
		http.DefaultClient.CloseIdleConnections()
	})
	post := func(body string, hdr ...string) (int, string) {
		t.Helper()
		status, b := postKey(t, e.srv.URL+"/v1/responses", "sk-a", body, hdr...)
		var out struct{ ID string }
		json.Unmarshal(b, &out)
		if status != 200 {
			return status, string(b)
		}
		return status, out.ID
	}
	for _, c := range []struct {
		name, first, next string
		hdr               []string
	}{
		{"declared class", `{"model":"m-local","input":"patient John has type 2 diabetes"}`, "m-prop", []string{"X-Fulcrum-Data-Class", "phi"}},
		{"declared class, lax model", `{"model":"m-local","input":"patient John has type 2 diabetes"}`, "m-prop-lax", []string{"X-Fulcrum-Data-Class", "phi"}},
		{"policy of the first turn", `{"model":"m-local","input":"write to ann.leak@example.com"}`, "m-prop-lax", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			st, id := post(c.first, c.hdr...)
			if st != 200 {
				t.Fatalf("first turn: %d %s", st, id)
			}
			// The second turn, on the self-hosted model, carries the
			// verdict on: a third on a proprietary one is refused too.
			st, id = post(`{"model":"m-local","previous_response_id":"` + id + `","input":"and then?"}`)
			if st != 200 {
				t.Fatalf("second turn: %d %s", st, id)
			}
			anFake.Log.Reset()
			st, out := post(`{"model":"` + c.next + `","previous_response_id":"` + id + `","input":"summarize"}`)
			if st != http.StatusForbidden || !strings.Contains(out, "no_compliant_target") {
				t.Errorf("continued on %s: %d %.300s", c.next, st, out)
			}
			if got := anFake.Log.All(); len(got) != 0 {
				t.Errorf("the proprietary upstream received the history: %s", got[0].Body)
			}
		})
	}
	// A conversation policy let go anywhere continues anywhere.
	st, id := post(`{"model":"m-local","input":"hello"}`)
	if st != 200 {
		t.Fatalf("clean: %d %s", st, id)
	}
	if st, out := post(`{"model":"m-prop","previous_response_id":"` + id + `","input":"and then?"}`); st != 200 {
		t.Errorf("clean conversation refused on m-prop: %d %s", st, out)
	}
}

// TestPassThroughOwnedWithStorageOff: with Fulcrum's conversation storage
// off (storage.responses: false), a response an upstream keeps is still
// recorded for the key that made it, with its verdict, and another key's
// previous_response_id naming it is refused without reaching the
// upstream. Before, storage off recorded nothing and forwarded any id, so
// key b could continue key a's OpenAI-kept conversation. Without any store
// previous_response_id is refused on pass-through for the same reason.
func TestPassThroughOwnedWithStorageOff(t *testing.T) {
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "f.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e, _ := newResponsesEnvWith(t, func(o *gateway.Options) { o.Responses, o.ResponseIDsOnly, o.Auth = db, true, keyAuth{} })
	send := func(key, body string, hdr ...string) (int, string) {
		t.Helper()
		status, b := postKey(t, e.srv.URL+"/v1/responses", key, body, hdr...)
		return status, string(b)
	}
	idOf := func(out string) string {
		id := out[strings.Index(out, `"id":"resp_`)+6:]
		return id[:strings.IndexByte(id, '"')]
	}
	for _, stream := range []string{"false", "true"} {
		st, out := send("sk-a", `{"model":"m-oresp","input":"My name is Ann","stream":`+stream+`}`, "X-Fulcrum-Data-Class", "phi")
		if st != 200 {
			t.Fatalf("stream %s: first turn: %d %s", stream, st, out)
		}
		id := idOf(out)
		// Recorded: its id, its owner and its verdict, no body.
		sr, err := db.GetResponse(context.Background(), id, "key-a")
		if err != nil {
			t.Fatalf("stream %s: upstream-kept response not recorded: %v", stream, err)
		}
		if !slices.Equal(sr.Declared, []string{"phi"}) || len(sr.Items) != 0 || len(sr.Response) != 0 {
			t.Errorf("stream %s: record %+v", stream, sr)
		}
		n := len(e.oa.Log.All())
		st, out = send("sk-b", `{"model":"m-oresp","input":"What is my name?","previous_response_id":"`+id+`"}`)
		if st != 400 || decodeErr(t, out).Error.Code != "previous_response_not_found" {
			t.Errorf("stream %s: another key's continuation: %d %s", stream, st, out)
		}
		if len(e.oa.Log.All()) != n {
			t.Errorf("stream %s: another key's continuation reached the upstream", stream)
		}
		if st, out := send("sk-a", `{"model":"m-oresp","input":"What is my name?","previous_response_id":"`+id+`"}`); st != 200 {
			t.Errorf("stream %s: owner's continuation: %d %s", stream, st, out)
		}
		if log := e.oa.Log.All(); len(log) != n+1 || !strings.Contains(string(log[n].Body), `"previous_response_id":"`+id+`"`) {
			t.Errorf("stream %s: owner's continuation not forwarded unchanged", stream)
		}
	}
	// A translated answer is not kept: its id is unknown to GET and to a
	// continuation, which says storage is off.
	st, out := send("sk-a", `{"model":"m-anthropic","input":"hi"}`)
	if st != 200 {
		t.Fatalf("translated: %d %s", st, out)
	}
	id := idOf(out)
	if _, err := db.GetResponse(context.Background(), id, "key-a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a translated answer was stored with storage off: %v", err)
	}
	if st, out := send("sk-a", `{"model":"m-anthropic","input":"and?","previous_response_id":"`+id+`"}`); st != 400 || !strings.Contains(out, "storage is off") {
		t.Errorf("continuation of a translated answer: %d %s", st, out)
	}
	req, _ := http.NewRequest("GET", e.srv.URL+"/v1/responses/"+id, nil)
	req.Header.Set("Authorization", "Bearer sk-a")
	hr, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(hr.Body)
	hr.Body.Close()
	if hr.StatusCode != 404 || !strings.Contains(string(b), "storage is off") {
		t.Errorf("GET with storage off: %d %s", hr.StatusCode, b)
	}

	// No store at all: nothing says whose an id is, so it is not
	// forwarded; a request that names none still is.
	bare, _ := newResponsesEnv(t)
	for _, stream := range []string{"false", "true"} {
		r, out := bare.post(t, "/v1/responses", `{"model":"m-oresp","input":"hi","stream":`+stream+`,"previous_response_id":"resp_of_someone"}`)
		if r.StatusCode != 400 || decodeErr(t, out).Error.Param != "previous_response_id" || !strings.Contains(out, "no response store") {
			t.Errorf("stream %s: previous_response_id without a store: %d %s", stream, r.StatusCode, out)
		}
	}
	if n := len(bare.oa.Log.All()); n != 0 {
		t.Errorf("previous_response_id without a store reached the upstream %d times", n)
	}
	if r, out := bare.post(t, "/v1/responses", `{"model":"m-oresp","input":"hi"}`); r.StatusCode != 200 {
		t.Errorf("store without previous_response_id and without a store: %d %s", r.StatusCode, out)
	}
}
