package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/cache"
	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/fake"
	"github.com/fulcrumhq/fulcrum/internal/gateway"
	"github.com/fulcrumhq/fulcrum/internal/provider"
	"github.com/fulcrumhq/fulcrum/internal/provider/anthropic"
	"github.com/fulcrumhq/fulcrum/internal/provider/openai"
	"github.com/fulcrumhq/fulcrum/internal/router"
	"github.com/fulcrumhq/fulcrum/internal/store"
	"github.com/fulcrumhq/fulcrum/internal/store/sqlite"
)

// itemsUpstream plays OpenAI's POST /v1/responses with store on, as the
// API reference shows it: every answer has a reasoning item and a
// message, with ids, and a later request naming one of them (an
// item_reference, an item given by id, an output item given back) has it
// resolved from the store, for whoever names it: it cannot tell Fulcrum's
// keys apart, all of them reach it with one credential. An id it does not
// hold is its 404 "Item with id '...' not found.".
type itemsUpstream struct {
	*httptest.Server
	mu     sync.Mutex // guards the following fields
	n      int
	bodies [][]byte
	held   map[string]bool
}

func newItemsUpstream() *itemsUpstream {
	u := &itemsUpstream{held: map[string]bool{}}
	u.Server = httptest.NewServer(http.HandlerFunc(u.serve))
	return u
}

func (u *itemsUpstream) requests() [][]byte {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([][]byte(nil), u.bodies...)
}

func (u *itemsUpstream) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req struct {
		Model  string          `json:"model"`
		Input  json.RawMessage `json:"input"`
		Stream bool            `json:"stream"`
		Tools  []struct {
			Type      string          `json:"type"`
			Container json.RawMessage `json:"container"`
		} `json:"tools"`
	}
	if !strings.HasSuffix(r.URL.Path, "/responses") || json.Unmarshal(body, &req) != nil {
		http.Error(w, `{"error":{"message":"bad request","type":"invalid_request_error","param":null,"code":null}}`, 400)
		return
	}
	var items []struct {
		ID string `json:"id"`
	}
	json.Unmarshal(req.Input, &items)
	u.mu.Lock()
	u.bodies = append(u.bodies, body)
	for _, it := range items {
		if it.ID != "" && !u.held[it.ID] {
			u.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintf(w, `{"error":{"message":"Item with id '%s' not found.","type":"invalid_request_error","param":"input","code":null}}`, it.ID)
			return
		}
	}
	// code_interpreter runs in a container: a new one ("auto"), or one
	// named by id, which must exist.
	container := ""
	for _, tl := range req.Tools {
		if tl.Type != "code_interpreter" {
			continue
		}
		container = "auto"
		if json.Unmarshal(tl.Container, &container) == nil && !u.held[container] {
			u.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintf(w, `{"error":{"message":"Container with id '%s' not found.","type":"invalid_request_error","param":"tools","code":null}}`, container)
			return
		}
	}
	u.n++
	n := u.n
	rs, msg := fmt.Sprintf("rs_%d", n), fmt.Sprintf("msg_%d", n)
	u.held[rs], u.held[msg] = true, true
	if container == "auto" {
		container = fmt.Sprintf("cntr_%d", n)
	}
	if container != "" {
		u.held[container], u.held[fmt.Sprintf("ci_%d", n)] = true, true
	}
	u.mu.Unlock()

	reasoning := map[string]any{"type": "reasoning", "id": rs, "summary": []any{}}
	text := map[string]any{"type": "output_text", "text": "Hello.", "annotations": []any{}}
	message := map[string]any{"type": "message", "id": msg, "status": "completed", "role": "assistant", "content": []any{text}}
	output := []any{reasoning, message}
	if container != "" {
		output = []any{reasoning, map[string]any{"type": "code_interpreter_call", "id": fmt.Sprintf("ci_%d", n), "status": "completed",
			"container_id": container, "code": "print(6*7)", "outputs": nil}, message}
	}
	resp := map[string]any{"id": fmt.Sprintf("resp_%d", n), "object": "response", "created_at": 1741476542, "status": "completed",
		"model": req.Model, "output": output, "store": true,
		"usage": map[string]any{"input_tokens": 10, "input_tokens_details": map[string]any{"cached_tokens": 0},
			"output_tokens": 5, "output_tokens_details": map[string]any{"reasoning_tokens": 2}, "total_tokens": 15}}
	if !req.Stream {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(resp)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	seq := 0
	send := func(typ string, ev map[string]any) {
		ev["type"], ev["sequence_number"] = typ, seq
		seq++
		b, _ := json.Marshal(ev)
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", typ, b)
		w.(http.Flusher).Flush()
	}
	start := map[string]any{}
	for k, v := range resp {
		start[k] = v
	}
	start["status"], start["output"], start["usage"] = "in_progress", []any{}, nil
	send("response.created", map[string]any{"response": start})
	send("response.in_progress", map[string]any{"response": start})
	send("response.output_item.added", map[string]any{"output_index": 0, "item": reasoning})
	send("response.output_item.done", map[string]any{"output_index": 0, "item": reasoning})
	send("response.output_item.added", map[string]any{"output_index": 1,
		"item": map[string]any{"type": "message", "id": msg, "status": "in_progress", "role": "assistant", "content": []any{}}})
	send("response.content_part.added", map[string]any{"item_id": msg, "output_index": 1, "content_index": 0,
		"part": map[string]any{"type": "output_text", "text": "", "annotations": []any{}}})
	send("response.output_text.delta", map[string]any{"item_id": msg, "output_index": 1, "content_index": 0, "delta": "Hello."})
	send("response.output_text.done", map[string]any{"item_id": msg, "output_index": 1, "content_index": 0, "text": "Hello."})
	send("response.content_part.done", map[string]any{"item_id": msg, "output_index": 1, "content_index": 0, "part": text})
	send("response.output_item.done", map[string]any{"output_index": 1, "item": message})
	send("response.completed", map[string]any{"response": resp})
}

// newItemsEnv serves m-up (pass-through to up) and m-anthropic (translated)
// to keys sk-a and sk-b, with st as the response store (nil for none).
func newItemsEnv(t *testing.T, up *itemsUpstream, an *fake.Anthropic, st store.Responses, idsOnly bool) *httptest.Server {
	t.Helper()
	yes := true
	pu, err := openai.New(config.Provider{Name: "p-up", Type: "openai", BaseURL: up.URL, APIKey: fake.APIKey, Responses: &yes})
	if err != nil {
		t.Fatal(err)
	}
	pa, err := anthropic.New(config.Provider{Name: "p-anthropic", Type: "anthropic", BaseURL: an.URL, APIKey: fake.APIKey})
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{
		Providers: []config.Provider{{Name: "p-up", Type: "openai"}, {Name: "p-anthropic", Type: "anthropic"}},
		Models: []config.Model{
			{Name: "m-up", Provider: "p-up", Upstream: "gpt-5", Type: "chat"},
			{Name: "m-anthropic", Provider: "p-anthropic", Upstream: "claude-sonnet-4-5", Type: "chat"},
		},
	}
	ps := map[string]provider.Provider{"p-up": pu, "p-anthropic": pa}
	r, err := router.New(cfg, ps, router.Options{})
	if err != nil {
		t.Fatal(err)
	}
	o := gateway.Options{Router: r, Auth: keyAuth{}, ResponseIDsOnly: idsOnly}
	if st != nil {
		o.Responses = st
	}
	srv := httptest.NewServer(gateway.New(o))
	t.Cleanup(func() {
		srv.Close()
		for _, p := range ps {
			if c, ok := p.(interface{ CloseIdleConnections() }); ok {
				c.CloseIdleConnections()
			}
		}
		http.DefaultClient.CloseIdleConnections()
	})
	return srv
}

func sendAs(t *testing.T, srv *httptest.Server, key, body string) (int, string) {
	t.Helper()
	status, b := postKey(t, srv.URL+"/v1/responses", key, body)
	return status, string(b)
}

// TestItemReferencesOwnedByKey: the output items of a response an
// upstream keeps are resolved by that upstream for whoever names their
// ids, and every key reaches it with the same credentials. Another key's
// item_reference, item given by id alone (a reasoning item without its
// encrypted_content, {"id": ...}) or output item given back is refused
// as OpenAI refuses an id it does not hold, and never reaches the
// upstream; so is an id Fulcrum never recorded, and a conversation. The
// key that made the items has its references forwarded unchanged.
func TestItemReferencesOwnedByKey(t *testing.T) {
	// The store conformance suite (storetest) holds SQLite and PostgreSQL
	// to the same ownership rules; SQLite stands for both here.
	for _, idsOnly := range []bool{false, true} {
		t.Run(fmt.Sprintf("ids-only=%v", idsOnly), func(t *testing.T) {
			db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "f.db"), slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			if err := db.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			up, an := newItemsUpstream(), fake.NewAnthropic()
			defer up.Close()
			defer an.Close()
			testItemReferences(t, newItemsEnv(t, up, an, db, idsOnly), up, an)
		})
	}
}

func testItemReferences(t *testing.T, srv *httptest.Server, up *itemsUpstream, an *fake.Anthropic) {
	// Key a makes two responses, one streamed: rs_1, msg_1, rs_2, msg_2.
	if st, out := sendAs(t, srv, "sk-a", `{"model":"m-up","input":"hi"}`); st != 200 || !strings.Contains(out, `"id":"msg_1"`) {
		t.Fatalf("first: %d %s", st, out)
	}
	if st, out := sendAs(t, srv, "sk-a", `{"model":"m-up","input":"hi","stream":true}`); st != 200 || !strings.Contains(out, "event: response.completed") {
		t.Fatalf("second, streamed: %d %s", st, out)
	}
	refused := []struct {
		name, key, input, param, id string
	}{
		{"item_reference", "sk-b", `[{"role":"user","content":"hi"},{"type":"item_reference","id":"msg_1"}]`, "input[1].id", "msg_1"},
		{"item_reference from a stream", "sk-b", `[{"type":"item_reference","id":"msg_2"}]`, "input[0].id", "msg_2"},
		{"item given by id, no type", "sk-b", `[{"id":"msg_1"},{"role":"user","content":"and?"}]`, "input[0].id", "msg_1"},
		{"reasoning without encrypted_content", "sk-b", `[{"type":"reasoning","id":"rs_2","summary":[]},{"role":"user","content":"go on"}]`, "input[0].id", "rs_2"},
		{"output message given back", "sk-b", `[{"role":"user","content":"hi"},{"type":"message","id":"msg_1","role":"assistant","content":[{"type":"output_text","text":"Hello."}]},{"role":"user","content":"and?"}]`, "input[1].id", "msg_1"},
		{"the first unowned of several", "sk-a", `[{"type":"item_reference","id":"msg_1"},{"type":"item_reference","id":"msg_nobody"}]`, "input[1].id", "msg_nobody"},
		{"an id nobody made through Fulcrum", "sk-a", `[{"type":"reasoning","id":"rs_upstream","summary":[]}]`, "input[0].id", "rs_upstream"},
	}
	for _, stream := range []string{"false", "true"} {
		for _, c := range refused {
			n := len(up.requests())
			st, out := sendAs(t, srv, c.key, `{"model":"m-up","stream":`+stream+`,"input":`+c.input+`}`)
			if st != http.StatusNotFound {
				t.Errorf("%s (stream %s): %d %s, want 404", c.name, stream, st, out)
				continue
			}
			e := decodeErr(t, out)
			if e.Error.Type != "invalid_request_error" || e.Error.Param != c.param || e.Error.Code != "" ||
				e.Error.Message != "Item with id '"+c.id+"' not found." || !strings.Contains(out, `"code":null`) {
				t.Errorf("%s (stream %s): %s", c.name, stream, out)
			}
			if len(up.requests()) != n {
				t.Errorf("%s (stream %s) reached the upstream", c.name, stream)
			}
		}
	}
	// A conversation: no key made one through Fulcrum.
	for _, conv := range []string{`"conv_1"`, `{"id":"conv_1"}`} {
		n := len(up.requests())
		st, out := sendAs(t, srv, "sk-a", `{"model":"m-up","conversation":`+conv+`,"input":"hi"}`)
		if e := decodeErr(t, out); st != 400 || e.Error.Param != "conversation" || e.Error.Code != "unsupported_parameter" ||
			!strings.Contains(e.Error.Message, "Conversations API") {
			t.Errorf("conversation %s: %d %s", conv, st, out)
		}
		if len(up.requests()) != n {
			t.Errorf("conversation %s reached the upstream", conv)
		}
	}

	// The owner's references, of every kind, are forwarded unchanged and
	// resolved by the upstream.
	own := `[{"type":"item_reference","id":"msg_1"},{"id":"msg_2"},{"type":"reasoning","id":"rs_2","summary":[]},` +
		`{"type":"message","id":"msg_1","role":"assistant","content":[{"type":"output_text","text":"Hello."}]},{"role":"user","content":"and?"}]`
	for _, stream := range []string{"false", "true"} {
		n := len(up.requests())
		if st, out := sendAs(t, srv, "sk-a", `{"model":"m-up","stream":`+stream+`,"input":`+own+`}`); st != 200 {
			t.Fatalf("owner's references (stream %s): %d %s", stream, st, out)
		}
		reqs := up.requests()
		if len(reqs) != n+1 {
			t.Fatalf("owner's references (stream %s) not forwarded", stream)
		}
		var sent struct {
			Input json.RawMessage `json:"input"`
		}
		json.Unmarshal(reqs[n], &sent)
		var want bytes.Buffer
		json.Compact(&want, []byte(own))
		if string(sent.Input) != want.String() {
			t.Errorf("owner's references (stream %s) sent as\n%s\nwant\n%s", stream, sent.Input, want.String())
		}
	}
	// Key b's own items are its own: its references to them go through.
	if st, out := sendAs(t, srv, "sk-b", `{"model":"m-up","input":"hi"}`); st != 200 {
		t.Fatalf("key b: %d %s", st, out)
	}
	b := len(up.requests())
	if st, out := sendAs(t, srv, "sk-b", `{"model":"m-up","input":[{"type":"item_reference","id":"msg_`+fmt.Sprint(b)+`"}]}`); st != 200 {
		t.Errorf("key b's own reference: %d %s", st, out)
	}

	// A code_interpreter container the owner's response ran in is the
	// owner's, like an item; so is an MCP approval request it answers.
	st, out := sendAs(t, srv, "sk-a", `{"model":"m-up","input":"compute","tools":[{"type":"code_interpreter","container":{"type":"auto"}}]}`)
	i := strings.Index(out, `"container_id":"cntr_`)
	if st != 200 || i < 0 {
		t.Fatalf("code_interpreter: %d %s", st, out)
	}
	cntr := out[i+len(`"container_id":"`):]
	cntr = cntr[:strings.IndexByte(cntr, '"')]
	for _, c := range []struct{ key, body, param, msg string }{
		{"sk-b", `{"model":"m-up","input":"ls","tools":[{"type":"code_interpreter","container":"` + cntr + `"}]}`, "tools[0].container", "Container with id '" + cntr + "' not found."},
		{"sk-b", `{"model":"m-up","input":[{"type":"mcp_approval_response","approval_request_id":"msg_1","approve":true}]}`, "input[0].approval_request_id", "Item with id 'msg_1' not found."},
	} {
		n := len(up.requests())
		st, out := sendAs(t, srv, c.key, c.body)
		if e := decodeErr(t, out); st != 404 || e.Error.Param != c.param || e.Error.Message != c.msg {
			t.Errorf("%s: %d %s", c.body, st, out)
		}
		if len(up.requests()) != n {
			t.Errorf("%s reached the upstream", c.body)
		}
	}
	if st, out := sendAs(t, srv, "sk-a", `{"model":"m-up","input":"ls","tools":[{"type":"code_interpreter","container":"`+cntr+`"}]}`); st != 200 {
		t.Errorf("owner's container: %d %s", st, out)
	}

	// Nor are a response's input items or the Conversations API served:
	// both are unknown endpoints, and nothing reaches the upstream.
	n := len(up.requests())
	for _, path := range []string{"GET /v1/responses/resp_1/input_items", "GET /v1/conversations/conv_1", "POST /v1/conversations", "DELETE /v1/conversations/conv_1"} {
		m, p, _ := strings.Cut(path, " ")
		req, _ := http.NewRequest(m, srv.URL+p, strings.NewReader(`{}`))
		req.Header.Set("Authorization", "Bearer sk-b")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 404 || decodeErr(t, string(b)).Error.Code != "unknown_url" {
			t.Errorf("%s: %d %s", path, resp.StatusCode, b)
		}
	}
	if len(up.requests()) != n {
		t.Error("an unserved endpoint reached the upstream")
	}

	// A translated target resolves no reference: refused by name, the
	// same whoever made the item, and nothing reaches it.
	for _, input := range []string{`[{"type":"item_reference","id":"msg_1"}]`, `[{"id":"msg_1"}]`} {
		n := len(an.Log.All())
		st, out := sendAs(t, srv, "sk-a", `{"model":"m-anthropic","input":`+input+`}`)
		if e := decodeErr(t, out); st != 400 || e.Error.Param != "input[0]" || !strings.Contains(e.Error.Message, "item_reference to \"msg_1\"") ||
			!strings.Contains(e.Error.Message, "translation") {
			t.Errorf("translated %s: %d %s", input, st, out)
		}
		if len(an.Log.All()) != n {
			t.Errorf("translated %s reached the upstream", input)
		}
	}
}

// TestItemReferencesWithoutStore: with no store nothing records which key
// made an item, so no id is forwarded: the upstream would resolve it for
// any key.
func TestItemReferencesWithoutStore(t *testing.T) {
	up, an := newItemsUpstream(), fake.NewAnthropic()
	defer up.Close()
	defer an.Close()
	srv := newItemsEnv(t, up, an, nil, false)
	if st, out := sendAs(t, srv, "sk-a", `{"model":"m-up","input":"hi"}`); st != 200 {
		t.Fatalf("first: %d %s", st, out)
	}
	st, out := sendAs(t, srv, "sk-b", `{"model":"m-up","input":[{"type":"item_reference","id":"msg_1"}]}`)
	if e := decodeErr(t, out); st != 404 || e.Error.Param != "input[0].id" || !strings.Contains(e.Error.Message, "no response store") {
		t.Errorf("%d %s", st, out)
	}
	if len(up.requests()) != 1 {
		t.Error("an unrecorded item reached the upstream")
	}
	// Items without ids go through as they did.
	if st, out := sendAs(t, srv, "sk-b", `{"model":"m-up","input":[{"role":"user","content":"hi"}]}`); st != 200 {
		t.Errorf("no ids: %d %s", st, out)
	}
}

// TestCachedModelRefusesReferences: on a cached model (answered through
// translation, the cache keeping canonical answers) a request naming state
// the canonical request leaves out (an item_reference, a previous response
// Fulcrum does not hold for the key, a conversation) was served the cached
// answer of the same request without it, as if it named nothing. It
// bypasses the cache, takes the path it takes on an uncached model, and
// is refused there (here: no store records whose the ids are).
func TestCachedModelRefusesReferences(t *testing.T) {
	e, _ := newResponsesEnvWith(t, func(o *gateway.Options) {
		o.Cache = cache.New(cache.Options{})
		o.CacheRules = map[string]gateway.CacheRule{"m-oresp": {TTL: time.Hour}}
		o.Auth = keyAuth{}
	})
	if st, out := sendAs(t, e.srv, "sk-a", `{"model":"m-oresp","input":[{"role":"user","content":"hi"}]}`); st != 200 {
		t.Fatalf("first: %d %s", st, out)
	}
	for _, body := range []string{
		`{"model":"m-oresp","input":[{"role":"user","content":"hi"},{"type":"item_reference","id":"msg_x"}]}`,
		`{"model":"m-oresp","input":[{"role":"user","content":"hi"}],"previous_response_id":"resp_x"}`,
		`{"model":"m-oresp","input":[{"role":"user","content":"hi"}],"conversation":"conv_x"}`,
	} {
		n := len(e.oa.Log.All())
		if st, out := sendAs(t, e.srv, "sk-b", body); st != 400 && st != 404 {
			t.Errorf("%s: %d %s", body, st, out)
		}
		if len(e.oa.Log.All()) != n {
			t.Errorf("%s reached the upstream", body)
		}
	}
}
