package gateway

import (
	"net/http"
	"slices"
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/api/openai"
	"github.com/fulcrumhq/fulcrum/internal/api/responses"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/sse"
)

// fmtResponses is the OpenAI Responses API (POST /v1/responses). It is
// passed through to upstreams that serve it (Capabilities.Responses) and
// translated to the canonical chat request for every other target.
var fmtResponses = &wireFormat{
	name: "responses",
	path: "/responses",
	encode: func(c *chatCall, resp *llm.ChatResponse) ([]byte, error) {
		return c.in.responses.EncodeResponse(responseMeta(c, resp.Model, resp.Created), resp)
	},
	newStream: func(c *chatCall, id, model string, created int64) streamEncoder {
		return c.in.responses.NewStreamEncoder(responseMeta(c, model, created))
	},
	encodeError:     openai.EncodeError,
	streamError:     func(b []byte, e *llm.Error) []byte { return (&responsesTap{}).Fail(b, e) },
	setModel:        setModel,
	responseUsage:   responses.ResponseUsage,
	errorMessage:    openai.ErrorMessage,
	newTap:          func(bool) usageTap { return &responsesTap{} },
	prepareForwared: func(body []byte, stream bool) ([]byte, error) { return body, nil },
}

// responseMeta names the Response object: its id derives from the request
// id, so the record and the client's id match.
func responseMeta(c *chatCall, model string, created int64) *responses.Meta {
	if model == "" {
		model = c.req.Model
	}
	if created == 0 {
		created = c.s.opts.Now().Unix()
	}
	return &responses.Meta{ID: "resp_" + strings.TrimPrefix(c.rc.id, "req_"), CreatedAt: created, Model: model}
}

// responsesTranslatable refuses what only an upstream serving the
// Responses API itself can do, and a previous response Fulcrum's store
// does not hold for the caller.
func (c *chatCall) responsesTranslatable(t *Target) error {
	r := c.in.responses
	if r.NeedsStore == "" {
		return nil
	}
	name := t.Provider.Info().Name
	if r.NeedsStore == "previous_response_id" && c.s.opts.Responses != nil && (c.rc.prevUpstream || !c.s.opts.ResponseIDsOnly) {
		e := previousMissing(r.PreviousResponseID)
		if c.rc.prevUpstream {
			e.Message = "Previous response with id " + quote(r.PreviousResponseID) + " is kept by the upstream that answered it, which provider " +
				quote(name) + " is not: continue it on a model that upstream serves, or send the conversation as input."
		}
		// The store is on and does not hold it (for this key).
		return e
	}
	e := llm.Unsupported(name, r.NeedsStore)
	if strings.HasPrefix(r.NeedsStore, "input[") {
		// An item_reference: the same answer whoever made the item, so
		// that it tells nothing of another key's ids.
		id := ""
		for _, ref := range r.Refs {
			if ref.Param == r.NeedsStore+".id" {
				id = ref.ID
			}
		}
		e.Message = "input item " + r.NeedsStore + " is an item_reference to " + quote(id) + ", which only the upstream that made the item can resolve, and provider " +
			quote(name) + " is reached through translation: send the item itself instead of a reference to it"
		return e
	}
	if r.NeedsStore == "previous_response_id" {
		e.Message = "parameter \"previous_response_id\" needs a stored response, and response storage is off in this Fulcrum; provider " +
			quote(name) + " is reached through translation (send the whole conversation as input instead)"
		return e
	}
	e.Message = "parameter " + quote(r.NeedsStore) + " needs state Fulcrum does not keep, and provider " +
		quote(name) + " is reached through translation (only upstreams serving the Responses API keep it)"
	return e
}

// noteDropped tells the client which hosted tools a translated target was
// not offered (web_search and the like run only on OpenAI's side).
func (c *chatCall) noteDropped(h http.Header, t *Target) {
	if c.in == nil || c.in.responses == nil || len(c.in.responses.Hosted) == 0 || c.passThrough(t) {
		return
	}
	h.Set("X-Fulcrum-Dropped-Tools", strings.Join(c.in.responses.Hosted, ","))
}

// responsesTap watches a passed-through Responses stream: the terminal
// event (response.completed, .incomplete or .failed) carries the usage.
type responsesTap struct {
	usage *llm.Usage
	done  bool
	seq   int
	// id and model name the Response (from response.created).
	id, model string
	// items are the output items' ids, from response.output_item.added
	// and .done and the terminal event's Response (each once).
	items []string
}

func (t *responsesTap) Event(ev *sse.Event) bool {
	t.seq++
	switch ev.Event {
	case "response.created", "response.output_item.added", "response.output_item.done",
		"response.completed", "response.incomplete", "response.failed":
		id, model, items := upstreamResponse(ev.Data)
		if t.id == "" {
			t.id, t.model = id, model
		}
		for _, it := range items {
			if !slices.Contains(t.items, it) {
				t.items = append(t.items, it)
			}
		}
	}
	if u, last := responses.EventUsage(ev.Event, ev.Data); last {
		t.usage, t.done = u, true
	}
	return true
}

func (t *responsesTap) Usage() *llm.Usage { return t.usage }
func (t *responsesTap) Complete() bool    { return t.done }

// Fail ends a cut pass-through stream with an error event numbered after
// the events forwarded so far.
func (t *responsesTap) Fail(b []byte, e *llm.Error) []byte {
	code := e.Code
	if code == "" {
		code = "server_error"
	}
	data := []byte(`{"type":"error","sequence_number":` + itoa(int64(t.seq)) + `,"code":`)
	data = append(data, quote(code)...)
	data = append(data, `,"message":`...)
	data = append(data, quote(e.Message)...)
	data = append(data, `,"param":null}`...)
	return sse.AppendEvent(b, "error", data)
}
