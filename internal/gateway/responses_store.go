package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/api/responses"
	"github.com/fulcrumhq/fulcrum/internal/jsonscan"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/store"
)

// Stored Responses conversations (Options.Responses).
//
// A Responses request with store (the API's default) that a translated
// target answers is kept: its input items (the conversation so far, as
// policy cleared it), its output items and the Response object, owned by
// the caller's key. A later request naming it as previous_response_id
// has the stored items spliced in front of its own input, and the body so
// built — history and new input together — is what the pipeline scans,
// decodes and forwards: history can never carry anything to a target that
// policy would not clear for it today. Stored copies hold what policy
// cleared, so redacted values are stored as their placeholders, never in
// clear.
//
// Responses served by pass-through (an upstream keeping its own, OpenAI)
// are kept by that upstream; Fulcrum records only their id, owner and
// verdict (upstreamHeld), so that a previous_response_id naming one is
// forwarded for the key that made it and for no other: every key reaches
// the upstream with the same credentials, so the upstream cannot tell
// them apart. An id Fulcrum holds for no one is refused, never forwarded.
// That record does not depend on Fulcrum keeping conversations: with
// storage off (Options.ResponseIDsOnly) translated answers are not kept,
// but the ids of upstream-kept ones still are. Without any store there is
// no record, so previous_response_id is refused on pass-through too.

// owner is the key a stored response belongs to.
func owner(c *Caller) string {
	if c == nil {
		return ""
	}
	return c.KeyID
}

// decodeResponses is the decoder of POST /v1/responses. With a store, a
// previous_response_id that names a response the caller's key stored is
// expanded into the body before policy sees it (see above).
func (s *Server) decodeResponses(r *http.Request, rc *reqCtx, body []byte) (*intake, error) {
	req, err := responses.DecodeRequest(body)
	if err != nil {
		return nil, err
	}
	if rc.prevResponse != "" {
		// Decoding again the body policy redacted, which was expanded
		// already: it names no previous response any more.
		req.PreviousResponseID = rc.prevResponse
	} else if req.PreviousResponseID != "" && s.opts.Responses != nil {
		prev, err := s.opts.Responses.GetResponse(r.Context(), req.PreviousResponseID, owner(rc.caller))
		switch {
		case errors.Is(err, store.ErrNotFound):
			rc.prevMissing = true
		case err != nil:
			return nil, &llm.Error{Status: http.StatusServiceUnavailable, Type: llm.ErrUpstream, Code: "storage_unavailable",
				Message: "the stored response could not be read; try again", Err: err}
		case upstreamHeld(prev):
			rc.prevUpstream = true
			rc.prevPolicies, rc.prevDeclared = prev.Policies, prev.Declared
		default:
			expanded, err := expandHistory(body, prev)
			if err != nil {
				return nil, err
			}
			if req, err = responses.DecodeRequest(expanded); err != nil {
				return nil, err
			}
			rc.body, rc.prevResponse = expanded, prev.ID
			rc.prevPolicies, rc.prevDeclared = prev.Policies, prev.Declared
			req.PreviousResponseID = prev.ID
		}
	}
	if len(req.Unsigned) > 0 && s.opts.Responses != nil {
		signed, err := s.signReasoning(r.Context(), owner(rc.caller), rc.body, req.Unsigned)
		if err != nil {
			return nil, err
		}
		if signed != nil {
			prev := req.PreviousResponseID
			if req, err = responses.DecodeRequest(signed); err != nil {
				return nil, err
			}
			rc.body, req.PreviousResponseID = signed, prev
		}
	}
	if err := s.checkRefs(r.Context(), rc, req.Refs); err != nil {
		return nil, err
	}
	// Gemini's call signatures, which no client carries (thoughts.go).
	rc.thoughts = s.restoreThoughts(r.Context(), owner(rc.caller), req.Chat, false)
	return &intake{model: req.Chat.Model, stream: req.Chat.Stream, chat: req.Chat, responses: req}, nil
}

// checkRefs finds the first of an input's item ids (refs, in input
// order) that the store holds for no response of the caller's key, which
// forwardBody refuses (rc.itemMissing). It runs once per request (a body
// policy redacted is decoded again, but never passed through), and only
// with a store: without one, every id is refused (referencesOwned).
func (s *Server) checkRefs(ctx context.Context, rc *reqCtx, refs []responses.ItemRef) error {
	if len(refs) == 0 || rc.refsChecked || s.opts.Responses == nil {
		return nil
	}
	rc.refsChecked = true
	ids := make([]string, len(refs))
	for i, ref := range refs {
		ids[i] = ref.ID
	}
	owned, err := s.opts.Responses.OwnedItems(ctx, owner(rc.caller), ids)
	if err != nil {
		return &llm.Error{Status: http.StatusServiceUnavailable, Type: llm.ErrUpstream, Code: "storage_unavailable",
			Message: "the owners of the input's item ids could not be read; try again", Err: err}
	}
	for i := range refs {
		if !owned[refs[i].ID] {
			rc.itemMissing = itemNotFound(&refs[i])
			break
		}
	}
	return nil
}

// signReasoning returns body with the encrypted_content of each unsigned
// reasoning item (given by id without it) filled in from the response of
// the caller's key that made it, or nil when it fills in none. OpenAI
// reads such an item from its store, and the OpenAI Agents SDK relies on
// that: it sends reasoning back by id, with encrypted_content only when
// it asked for it. Through translation the encrypted content is the
// upstream's signature, which Claude needs on the thinking before a tool
// use ("a final assistant message must start with a thinking block").
// An id the store does not hold for the key is left as it came.
func (s *Server) signReasoning(ctx context.Context, owner string, body []byte, unsigned []responses.Unsigned) ([]byte, error) {
	kept := map[string][]map[string]json.RawMessage{}
	sigs := map[int]json.RawMessage{}
	for _, u := range unsigned {
		id, n, ok := responses.ItemOf(u.ID)
		if !ok {
			continue
		}
		out, seen := kept[id]
		if !seen {
			sr, err := s.opts.Responses.GetResponse(ctx, id, owner)
			switch {
			case errors.Is(err, store.ErrNotFound):
			case err != nil:
				return nil, &llm.Error{Status: http.StatusServiceUnavailable, Type: llm.ErrUpstream, Code: "storage_unavailable",
					Message: "the stored response could not be read; try again", Err: err}
			default:
				_ = json.Unmarshal(sr.Output, &out)
			}
			kept[id] = out
		}
		if n < len(out) && string(out[n]["type"]) == `"reasoning"` && out[n]["encrypted_content"] != nil {
			sigs[u.Index] = out[n]["encrypted_content"]
		}
	}
	if len(sigs) == 0 {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, llm.Errorf("", "We could not parse the JSON body of your request. (%v)", err)
	}
	input, err := inputItems(m["input"])
	if err != nil {
		return nil, err
	}
	for i, sig := range sigs {
		var it map[string]json.RawMessage
		if i >= len(input) || json.Unmarshal(input[i], &it) != nil {
			continue
		}
		it["encrypted_content"] = sig
		if input[i], err = json.Marshal(it); err != nil {
			return nil, err
		}
	}
	if m["input"], err = json.Marshal(input); err != nil {
		return nil, err
	}
	return json.Marshal(m)
}

// referencesOwned refuses, on pass-through, what would have the upstream
// read state Fulcrum cannot tell is the caller's: every key reaches it
// with the same credentials. An input item id (item_reference, an item
// given by id, any output item given back) must be one of the caller's
// key's upstream-kept responses' output items; a conversation is refused
// by name (Fulcrum does not serve the Conversations API, so no key made
// one through it).
func (c *chatCall) referencesOwned() error {
	if c.in == nil || c.in.responses == nil {
		return nil
	}
	r := c.in.responses
	if r.Conversation != "" {
		return &llm.Error{Status: http.StatusBadRequest, Type: llm.ErrInvalidRequest, Code: "unsupported_parameter", Param: "conversation",
			Message: "parameter \"conversation\" is refused: Fulcrum does not serve the Conversations API, so no conversation is recorded as any key's own, " +
				"and the upstream, reached with the same credentials for every key, would read and extend any key's conversation; " +
				"continue with previous_response_id, or send the conversation as input"}
	}
	if c.rc.itemMissing != nil {
		return c.rc.itemMissing
	}
	if c.s.opts.Responses == nil && len(r.Refs) > 0 {
		ref := r.Refs[0]
		e := itemNotFound(&ref)
		e.Message = strings.TrimSuffix(e.Message, " not found.") + " is refused: this Fulcrum has no response store to record which key made an item, " +
			"and the upstream, reached with the same credentials for every key, would resolve any key's item; send the item without its id instead"
		return e
	}
	return nil
}

// itemNotFound is OpenAI's own answer to an input item id it does not
// hold (404, invalid_request_error, code null: "Item with id 'rs_...' not
// found."), with the param naming the id ("input[3].id"; OpenAI says
// "input"). It is the same for an id the store holds for no one and for
// another key's: it tells another key's id from a made-up one no more
// than OpenAI would.
func itemNotFound(ref *responses.ItemRef) *llm.Error {
	what := "Item"
	if ref.Container {
		what = "Container"
	}
	return &llm.Error{Status: http.StatusNotFound, Type: llm.ErrInvalidRequest, Param: ref.Param,
		Message: what + " with id '" + ref.ID + "' not found."}
}

// expandHistory returns body with the stored conversation (its input
// items, then its output items) in front of the body's own input, and
// without previous_response_id. The client's body is checked as strictly
// as policy checks it first: what is rebuilt must be what was sent.
func expandHistory(body []byte, prev *store.StoredResponse) ([]byte, error) {
	if err := jsonscan.Walk(body, nil); err != nil {
		return nil, &llm.Error{Status: http.StatusBadRequest, Type: llm.ErrInvalidRequest, Message: "We could not parse the JSON body of your request: " + err.Error(), Err: err}
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, llm.Errorf("", "We could not parse the JSON body of your request. (%v)", err)
	}
	input, err := inputItems(m["input"])
	if err != nil {
		return nil, err
	}
	var hist, out []json.RawMessage
	if json.Unmarshal(prev.Items, &hist) != nil || json.Unmarshal(prev.Output, &out) != nil {
		return nil, &llm.Error{Status: http.StatusInternalServerError, Type: llm.ErrUpstream, Message: "the stored response is unreadable"}
	}
	all := make([]json.RawMessage, 0, len(hist)+len(out)+len(input))
	all = append(append(append(all, hist...), out...), input...)
	if m["input"], err = json.Marshal(all); err != nil {
		return nil, err
	}
	delete(m, "previous_response_id")
	return json.Marshal(m)
}

// inputItems is input as a list of items (a string is one user message).
func inputItems(raw json.RawMessage) ([]json.RawMessage, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		b, _ := json.Marshal(map[string]string{"role": "user", "content": s})
		return []json.RawMessage{b}, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, llm.Errorf("input", "Invalid 'input': expected a string or an array of input items.")
	}
	return items, nil
}

// keepResponse stores a translated Responses answer (before redacted
// values are restored in it) when the client asked for storage and the
// gateway keeps responses. A failure to store is logged, not returned:
// the answer itself is good.
func (c *chatCall) keepResponse(ctx context.Context, resp *llm.ChatResponse) {
	if !c.keepsResponse() || resp == nil {
		return
	}
	s, req := c.s, c.in.responses
	meta := responseMeta(c, resp.Model, resp.Created)
	obj, err := req.EncodeResponse(meta, resp)
	if err != nil {
		s.log.Warn("could not store response", "request_id", c.rc.id, "err", err)
		return
	}
	// The output kept for later turns carries the reasoning's signature
	// as encrypted_content whether or not the client asked for it:
	// previous_response_id replays it and an item given back by id
	// without it is filled in (signReasoning), as OpenAI reads both
	// from its store.
	kept := obj
	if !req.Encrypted {
		signed := *req
		signed.Encrypted = true
		if kept, err = signed.EncodeResponse(meta, resp); err != nil {
			s.log.Warn("could not store response", "request_id", c.rc.id, "err", err)
			return
		}
	}
	var body, o struct {
		Input  json.RawMessage              `json:"input"`
		Output []map[string]json.RawMessage `json:"output"`
	}
	if json.Unmarshal(c.rc.body, &body) != nil || json.Unmarshal(kept, &o) != nil {
		return
	}
	items, err := inputItems(body.Input)
	if err != nil {
		return
	}
	// Output items go back as input items: without their ids, which only
	// the server that made them knows.
	for _, it := range o.Output {
		delete(it, "id")
	}
	ib, _ := json.Marshal(items)
	ob, _ := json.Marshal(o.Output)
	sr := &store.StoredResponse{ID: meta.ID, Owner: owner(c.rc.caller), Created: s.opts.Now().UTC(), Model: meta.Model,
		Items: ib, Output: ob, Response: obj, Declared: c.declared}
	if c.verdict != nil {
		// The verdict travels with the conversation: a request continuing
		// it is judged under these policies and classes too.
		sr.Policies = c.verdict.Policies()
	}
	// The client may be gone; the response is still its to continue.
	if err := s.opts.Responses.PutResponse(context.WithoutCancel(ctx), sr); err != nil {
		s.log.Warn("could not store response", "request_id", c.rc.id, "err", err)
	}
}

// upstreamHeld reports whether a stored response is only the record of a
// passed-through one, whose conversation the upstream keeps.
func upstreamHeld(sr *store.StoredResponse) bool { return len(sr.Items) == 0 && len(sr.Response) == 0 }

// keepUpstreamResponse records a passed-through Responses answer's id and
// its output items' ids for the caller's key (with the request's verdict),
// so that only this key can continue it or name its items. The upstream
// keeps the conversation.
func (c *chatCall) keepUpstreamResponse(ctx context.Context, id, model string, items []string) {
	if !c.recordsUpstream() || id == "" {
		return
	}
	s := c.s
	sr := &store.StoredResponse{ID: id, Owner: owner(c.rc.caller), Created: s.opts.Now().UTC(), Model: model, Declared: c.declared, ItemIDs: items}
	if c.verdict != nil {
		sr.Policies = c.verdict.Policies()
	}
	if err := s.opts.Responses.PutResponse(context.WithoutCancel(ctx), sr); err != nil {
		s.log.Warn("could not record passed-through response", "request_id", c.rc.id, "err", err)
	}
}

// upstreamResponse reads a passed-through Responses answer: the Response
// object, or a stream event carrying it (response.created, the terminal
// events) or one output item (response.output_item.added and .done).
// items are the output items' ids and the code_interpreter containers
// they ran in (container_id: "auto" creates one, kept by the upstream).
func upstreamResponse(b []byte) (id, model string, items []string) {
	type item struct {
		ID          string `json:"id"`
		ContainerID string `json:"container_id"`
	}
	type object struct {
		ID     string `json:"id"`
		Model  string `json:"model"`
		Output []item `json:"output"`
	}
	var v struct {
		object
		Response *object `json:"response"`
		Item     *item   `json:"item"`
	}
	if json.Unmarshal(b, &v) != nil {
		return "", "", nil
	}
	add := func(it *item) {
		for _, s := range []string{it.ID, it.ContainerID} {
			if s != "" && !slices.Contains(items, s) {
				items = append(items, s)
			}
		}
	}
	if v.Item != nil {
		add(v.Item)
		return "", "", items
	}
	o := &v.object
	if v.Response != nil {
		o = v.Response
	}
	for i := range o.Output {
		add(&o.Output[i])
	}
	return o.ID, o.Model, items
}

// recordsUpstream reports whether a passed-through answer's id is to be
// recorded for the caller's key: whenever the upstream keeps it (store)
// and there is a store, whether or not Fulcrum keeps conversations.
func (c *chatCall) recordsUpstream() bool {
	return c.in != nil && c.in.responses != nil && c.in.responses.Store && c.s.opts.Responses != nil
}

// keepsResponse reports whether the call's translated answer is to be
// stored.
func (c *chatCall) keepsResponse() bool {
	return c.recordsUpstream() && !c.s.opts.ResponseIDsOnly
}

// previousUnrecorded refuses, on pass-through without a store, a
// previous_response_id: nothing says which key made the response.
func previousUnrecorded() *llm.Error {
	return &llm.Error{Status: http.StatusBadRequest, Type: llm.ErrInvalidRequest, Code: "unsupported_parameter", Param: "previous_response_id",
		Message: "parameter \"previous_response_id\" is refused: this Fulcrum has no response store to record which key made a response, " +
			"and the upstream, reached with the same credentials for every key, would continue any key's conversation; send the whole conversation as input instead"}
}

// previousMissing refuses, on a translated target, a previous_response_id
// the store does not hold for this key.
func previousMissing(id string) *llm.Error {
	return &llm.Error{Status: http.StatusBadRequest, Type: llm.ErrInvalidRequest, Code: "previous_response_not_found", Param: "previous_response_id",
		Message: "Previous response with id " + quote(id) + " not found."}
}

// handleStoredResponse answers GET and DELETE /v1/responses/{id} and its
// cancel from the store (only the key that stored a response finds it).
func (s *Server) handleStoredResponse(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id := r.PathValue("id")
	if s.opts.Responses == nil {
		return &llm.Error{Status: http.StatusNotFound, Type: llm.ErrInvalidRequest, Code: "not_found", Param: "response_id",
			Message: "No response with id " + quote(id) + " found: response storage is off in this Fulcrum (send the conversation as input, or use store on an OpenAI pass-through with that provider directly)"}
	}
	notFound := &llm.Error{Status: http.StatusNotFound, Type: llm.ErrInvalidRequest, Code: "not_found", Param: "response_id",
		Message: "Response with id " + quote(id) + " not found."}
	if s.opts.ResponseIDsOnly {
		notFound.Message += " Response storage is off in this Fulcrum: it keeps no response bodies."
	}
	ctx := r.Context()
	var err error
	switch {
	case r.Method == http.MethodDelete:
		// An upstream-kept response is not Fulcrum's to delete: saying
		// "deleted" would leave it at the upstream unbeknown to the client.
		if sr, gerr := s.opts.Responses.GetResponse(ctx, id, owner(rc.caller)); gerr == nil && upstreamHeld(sr) {
			return notFound
		}
		err = s.opts.Responses.DeleteResponse(ctx, id, owner(rc.caller))
		if err == nil {
			w.Header().Set("Content-Type", "application/json")
			b, _ := json.Marshal(map[string]any{"id": id, "object": "response", "deleted": true})
			w.Write(b)
			return nil
		}
	default:
		var sr *store.StoredResponse
		sr, err = s.opts.Responses.GetResponse(ctx, id, owner(rc.caller))
		if err == nil && upstreamHeld(sr) {
			// Only its id is recorded: the upstream keeps the response.
			return notFound
		}
		if err == nil && r.Method == http.MethodPost {
			return &llm.Error{Status: http.StatusBadRequest, Type: llm.ErrInvalidRequest, Code: "invalid_value", Param: "response_id",
				Message: "Only responses created with background=true can be cancelled; Fulcrum runs no background responses."}
		}
		if err == nil {
			w.Header().Set("Content-Type", "application/json")
			w.Write(bytes.TrimSpace(sr.Response))
			return nil
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		return notFound
	}
	return &llm.Error{Status: http.StatusServiceUnavailable, Type: llm.ErrUpstream, Code: "storage_unavailable", Message: "the response store could not be reached", Err: err}
}
