package gateway

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// Thinking kept for Chat Completions clients.
//
// Claude, reached by translation (Anthropic Messages, Bedrock Converse,
// Claude on Vertex AI) with reasoning on, answers a tool call after
// thinking blocks that carry a signature, and when the client sends the
// tool results back it requires those blocks, unmodified, at the start of
// the assistant turn that made the calls ("a final assistant message must
// start with a thinking block"; https://platform.claude.com/docs/en/build-with-claude/thinking-tool-workflows,
// and for Bedrock the reasoningContent block with its signature,
// https://docs.aws.amazon.com/bedrock/latest/userguide/claude-messages-extended-thinking.html).
// Chat Completions has no field to send thinking back, so a Chat
// Completions client's second turn would always be refused. The gateway
// keeps the thoughts of an answer that ended in tool calls,
// by the first tool call's id and the caller's key, and puts them back
// into the assistant turn when that key sends those tool calls back.
//
// The restored thoughts are part of the request policy judges: they are
// given to the Guard as texts that leave beside the body (which it scans
// and never redacts, so a class that would need redacting keeps the
// request off the proprietary targets), and they are sent only to the
// provider that produced them, on a target the verdict clears: any other
// target, the response cache's key and a shadow comparison get the turn
// as the client wrote it. Another key never gets them: the key is part
// of the cache key.
//
// The cache is per process and bounded (thoughtTTL, thoughtMaxBytes,
// thoughtMaxEntries). When it does not hold the thinking of the final
// tool-use turn (another replica answered, the gateway restarted, the
// entry expired or was evicted) the turn is sent as written; a target
// that then requires the thinking answers 400, which the client gets
// with the cause named (thoughtMissErr). Turning thinking off for that
// one request is not done: Anthropic asks for one thinking configuration
// per assistant turn, a tool-use loop being one turn, and some models
// refuse thinking disabled.
//
// Gemini's thought signatures are kept the same way, for every client
// format: Gemini attaches one to a function call (llm.ToolCall.Signature)
// and wants it back on that call in the next request, Gemini 3
// validating those of the current turn
// (https://ai.google.dev/gemini-api/docs/thought-signatures). No client
// format carries it, so no client ever sees it: the gateway keeps it by
// the answer's tool call ids and the caller's key, shares it between
// replicas like thinking, scans it with the request and sets it only on
// the calls sent back to the target that made them. When it is not held,
// the Gemini adapter sends Google's documented placeholder
// ("skip_thought_signature_validator"), which the gateway counts
// (fulcrum_gemini_signature_placeholders_total) and logs at debug.

const (
	// thoughtTTL is how long the thinking of an answer is kept for the
	// turn that sends its tool results back.
	thoughtTTL = time.Hour
	// thoughtMaxBytes bounds the thinking kept by the process (texts,
	// signatures and redacted data), thoughtMaxEntries the answers; the
	// oldest go first. An answer whose thinking alone is over
	// thoughtMaxEntryBytes is not kept.
	thoughtMaxBytes      = 32 << 20
	thoughtMaxEntries    = 1 << 16
	thoughtMaxEntryBytes = 2 << 20
	// sharedRunSteps bounds the reads of the shared store one request
	// makes for the steps of a Gemini tool-use run.
	sharedRunSteps = 16
)

type thoughtKey struct{ owner, id string }

type thoughtEntry struct {
	// provider names the target that produced the thoughts: the only one
	// they are sent back to.
	provider string
	// ids are the answer's tool call ids, in order; sigs, when not nil,
	// their signatures (Gemini's, "" for a call without one).
	ids      []string
	sigs     []string
	thoughts []llm.Thought
	at       time.Time
	size     int
	seq      uint64
}

// thoughtCache holds thoughts by (key, first tool call id). Safe for
// concurrent use.
type thoughtCache struct {
	now func() time.Time
	// placeholders counts Gemini requests sent with the placeholder
	// signature on the calls of their final tool-use turn.
	placeholders *prometheus.CounterVec

	mu    sync.Mutex // guards the following fields
	m     map[thoughtKey]*thoughtEntry
	order []thoughtSlot // insertion order, oldest first
	bytes int
	seq   uint64
}

type thoughtSlot struct {
	k   thoughtKey
	seq uint64
}

// newThoughtCache returns an empty cache whose counter is registered on
// reg (none when nil; one already there is shared).
func newThoughtCache(now func() time.Time, reg *prometheus.Registry) *thoughtCache {
	c := &thoughtCache{now: now, m: map[thoughtKey]*thoughtEntry{}}
	c.placeholders = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "fulcrum_gemini_signature_placeholders_total",
		Help: "Requests to a Gemini target whose final tool-use turn went with the placeholder thought signature: the gateway held no signature of that target for those calls and the caller's key.",
	}, []string{"provider"})
	if reg != nil {
		if err := reg.Register(c.placeholders); err != nil {
			if are, ok := err.(prometheus.AlreadyRegisteredError); ok {
				c.placeholders = are.ExistingCollector.(*prometheus.CounterVec)
			}
		}
	}
	return c
}

// put keeps the thoughts and call signatures (sigs, nil or one per id) of
// an answer whose tool calls have ids; it reports whether they were kept
// (not when over thoughtMaxEntryBytes).
func (c *thoughtCache) put(owner, provider string, ids, sigs []string, thoughts []llm.Thought) bool {
	size := 0
	for _, id := range ids {
		size += len(id)
	}
	for _, s := range sigs {
		size += len(s)
	}
	for _, t := range thoughts {
		size += len(t.Text) + len(t.Signature) + len(t.Redacted)
	}
	if len(ids) == 0 || ids[0] == "" || size > thoughtMaxEntryBytes {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	k := thoughtKey{owner, ids[0]}
	if old, ok := c.m[k]; ok {
		c.bytes -= old.size
	}
	c.seq++
	c.m[k] = &thoughtEntry{provider: provider, ids: slices.Clone(ids), sigs: slices.Clone(sigs), thoughts: slices.Clone(thoughts), at: c.now(), size: size, seq: c.seq}
	c.order = append(c.order, thoughtSlot{k, c.seq})
	c.bytes += size
	for len(c.order) > 0 && (c.bytes > thoughtMaxBytes || len(c.m) > thoughtMaxEntries) {
		c.dropOldestLocked()
	}
	return true
}

func (c *thoughtCache) dropOldestLocked() {
	s := c.order[0]
	c.order = c.order[1:]
	if e, ok := c.m[s.k]; ok && e.seq == s.seq {
		c.bytes -= e.size
		delete(c.m, s.k)
	}
}

// get returns the entry kept for owner's tool calls ids (all of them, in
// order), or nil.
func (c *thoughtCache) get(owner string, ids []string) *thoughtEntry {
	if len(ids) == 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	k := thoughtKey{owner, ids[0]}
	e, ok := c.m[k]
	if !ok {
		return nil
	}
	if c.now().Sub(e.at) > thoughtTTL {
		c.bytes -= e.size
		delete(c.m, k)
		return nil
	}
	if !slices.Equal(e.ids, ids) {
		return nil
	}
	return e
}

// restoredThoughts are the kept thoughts of a request's assistant turns.
type restoredThoughts struct {
	// byMessage holds them by message index.
	byMessage map[int]*thoughtEntry
	// texts are their texts, signatures and redacted data, and the call
	// signatures, for the policy scan.
	texts []string
	// final is the index of the final tool-use turn (finalToolTurn).
	final int
	// missing is the first tool call id of the final tool-use turn when
	// the cache held no thinking for it ("" otherwise).
	missing string
}

// decodeChatCompletions is decodeChat for Chat Completions clients, with
// the thinking of their earlier tool-use answers found again.
func (s *Server) decodeChatCompletions(r *http.Request, rc *reqCtx, body []byte) (*intake, error) {
	in, err := decodeChat(r, rc, body)
	if err != nil {
		return nil, err
	}
	rc.thoughts = s.restoreThoughts(r.Context(), owner(rc.caller), in.chat, true)
	return in, nil
}

// decodeMessages is decodeChat for Anthropic Messages clients, with the
// Gemini signatures of their earlier tool calls found again (their
// thinking they carry themselves).
func (s *Server) decodeMessages(r *http.Request, rc *reqCtx, body []byte) (*intake, error) {
	in, err := decodeChat(r, rc, body)
	if err != nil {
		return nil, err
	}
	rc.thoughts = s.restoreThoughts(r.Context(), owner(rc.caller), in.chat, false)
	return in, nil
}

// restoreThoughts finds the kept thoughts and call signatures of each
// assistant message that makes tool calls (thoughts only for one that
// carries none). The request itself is not changed: they go only into
// what their producer is sent (withThoughts), never into a cache key, a
// shadow comparison or another target's request. It runs on every decode
// of the request (policy decodes a redacted body again), with the same
// result. thinking is true for a client format that cannot carry
// thinking (Chat Completions): only then is a missing one named.
// The final tool-use turn's entry, when this process does not hold it,
// is looked for in the replicas' shared store (thoughts_shared.go): one
// read per request. Gemini 3 validates the signatures of every tool-use
// step since the last user message (the current turn), so when the final
// step's entry has call signatures, the earlier steps of that run this
// process does not hold are looked for there too (sharedRunSteps at
// most): another replica may have answered them.
func (s *Server) restoreThoughts(ctx context.Context, owner string, req *llm.ChatRequest, thinking bool) *restoredThoughts {
	if s.thoughts == nil || req == nil {
		return nil
	}
	var out *restoredThoughts
	final := finalToolTurn(req.Messages)
	// run is true while the loop, from the end, is in the current turn;
	// signedRun once the final step's entry has call signatures.
	run, signedRun, lookups := true, false, 0
	for i := len(req.Messages) - 1; i >= 0; i-- {
		m := &req.Messages[i]
		if m.Role == llm.RoleUser {
			run = false
		}
		if m.Role != llm.RoleAssistant || len(m.ToolCalls) == 0 {
			continue
		}
		ids := make([]string, len(m.ToolCalls))
		for j, tc := range m.ToolCalls {
			ids[j] = tc.ID
		}
		e := s.thoughts.get(owner, ids)
		if e == nil && s.shared != nil && (thinking || !anthropicIDs(ids)) && (i == final || (run && signedRun && lookups < sharedRunSteps)) {
			lookups++
			if e = s.shared.get(ctx, owner, ids); e != nil {
				s.thoughts.put(owner, e.provider, e.ids, e.sigs, e.thoughts)
			}
		}
		if i == final && e != nil && e.sigs != nil {
			signedRun = true
		}
		if e != nil && len(m.Thoughts) > 0 && len(e.thoughts) > 0 {
			// The client sent its thinking: only the signatures are added.
			e = &thoughtEntry{provider: e.provider, ids: e.ids, sigs: e.sigs}
		}
		if e != nil && e.sigs == nil && len(e.thoughts) == 0 {
			e = nil
		}
		if out == nil && (e != nil || i == final) {
			out = &restoredThoughts{byMessage: map[int]*thoughtEntry{}, final: final}
		}
		if e == nil {
			if i == final && thinking && len(m.Thoughts) == 0 && req.Reasoning != nil && !req.Reasoning.Disabled {
				out.missing = ids[0]
			}
			continue
		}
		out.byMessage[i] = e
		for _, t := range e.thoughts {
			for _, v := range [...]string{t.Text, t.Signature, t.Redacted} {
				if v != "" {
					out.texts = append(out.texts, v)
				}
			}
		}
		for _, v := range e.sigs {
			if v != "" {
				out.texts = append(out.texts, v)
			}
		}
	}
	return out
}

// anthropicIDs reports whether every id is an Anthropic tool_use id
// ("toolu_"). For a client that carries its own thinking (thinking
// false), the shared store can hold only call signatures, which only
// Gemini gives, under the ids the Gemini adapter hands out ("call_..."):
// a Claude Code turn whose calls all came from Claude is not looked up
// there, saving a Redis read on every tool-result turn.
func anthropicIDs(ids []string) bool {
	for _, id := range ids {
		if !strings.HasPrefix(id, "toolu_") {
			return false
		}
	}
	return len(ids) > 0
}

// finalToolTurn is the index of the last assistant message when it makes
// tool calls whose results follow (the turn Claude wants to start with
// its thinking: "a final assistant message must start with a thinking
// block"), or -1.
func finalToolTurn(msgs []llm.Message) int {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role != llm.RoleAssistant {
			continue
		}
		if len(msgs[i].ToolCalls) > 0 && i < len(msgs)-1 {
			return i
		}
		return -1
	}
	return -1
}

// withThoughts returns r, or a copy whose assistant turns carry the
// thoughts and call signatures t's provider produced for them: only the
// provider that signed them can read them, and the client never sent
// them to anyone else.
func (c *chatCall) withThoughts(r *llm.ChatRequest, t *Target) *llm.ChatRequest {
	rt := c.rc.thoughts
	if rt == nil {
		return r
	}
	info := t.Provider.Info()
	var msgs []llm.Message
	for i, e := range rt.byMessage {
		if e.provider != info.Name || i >= len(r.Messages) {
			continue
		}
		if msgs == nil {
			msgs = slices.Clone(r.Messages)
		}
		m := &msgs[i]
		if len(e.thoughts) > 0 {
			m.Thoughts = slices.Clone(e.thoughts)
		}
		if e.sigs != nil && len(e.sigs) == len(m.ToolCalls) {
			m.ToolCalls = slices.Clone(m.ToolCalls)
			for j := range m.ToolCalls {
				m.ToolCalls[j].Signature = e.sigs[j]
			}
		}
	}
	if msgs != nil {
		r.Messages = msgs
	}
	if info.Type == config.TypeGemini && rt.final >= 0 {
		if e := rt.byMessage[rt.final]; e == nil || e.provider != info.Name || e.sigs == nil {
			c.s.thoughts.placeholders.WithLabelValues(info.Name).Inc()
			c.s.log.Debug("gemini thought signature not held: the placeholder goes instead", "request_id", c.rc.id,
				"provider", info.Name, "tool_call_id", r.Messages[rt.final].ToolCalls[0].ID)
		}
	}
	return r
}

// keepsThoughts reports whether the call's answers' thinking is kept:
// for Chat Completions clients, who cannot send it back themselves.
func (c *chatCall) keepsThoughts() bool {
	return c.s.thoughts != nil && c.rc.format == fmtOpenAI
}

// keepsSignatures reports whether the call's answers' call signatures are
// kept: for every client, as none can carry them.
func (c *chatCall) keepsSignatures() bool {
	return c.s.thoughts != nil
}

// tapsThoughts reports whether a streamed chunk starts a thought tap: it
// has thinking that is kept, or a signed tool call.
func (c *chatCall) tapsThoughts(ch *llm.Chunk) bool {
	if c.keepsThoughts() && (ch.Reasoning != "" || ch.Signature != "" || ch.Redacted != "") {
		return true
	}
	return slices.ContainsFunc(ch.ToolCalls, func(d llm.ToolCallDelta) bool { return d.Signature != "" })
}

// rememberThoughts keeps the signed thinking (keepsThoughts) and the call
// signatures of an answer that ended in tool calls, from target t, for
// the caller's key. It is called with the answer as the upstream gave it
// (before redacted values are restored), which is what the upstream
// signed.
func (c *chatCall) rememberThoughts(t *Target, resp *llm.ChatResponse) {
	if !c.keepsSignatures() || resp == nil {
		return
	}
	for i := range resp.Choices {
		m := &resp.Choices[i].Message
		c.rememberMessage(t, m.Thoughts, m.ToolCalls)
	}
}

func (c *chatCall) rememberMessage(t *Target, thoughts []llm.Thought, calls []llm.ToolCall) {
	if !c.keepsThoughts() || !slices.ContainsFunc(thoughts, func(t llm.Thought) bool { return t.Signature != "" || t.Redacted != "" }) {
		thoughts = nil
	}
	ids := make([]string, len(calls))
	var sigs []string
	for j, tc := range calls {
		ids[j] = tc.ID
		if tc.Signature != "" {
			if sigs == nil {
				sigs = make([]string, len(calls))
			}
			sigs[j] = tc.Signature
		}
	}
	if len(calls) == 0 || (thoughts == nil && sigs == nil) {
		return
	}
	o, name := owner(c.rc.caller), t.Provider.Info().Name
	if c.s.thoughts.put(o, name, ids, sigs, thoughts) && c.s.shared != nil {
		c.s.shared.put(o, name, ids, sigs, thoughts)
	}
}

// thoughtTap gathers a streamed answer's thoughts and tool call ids and
// signatures, as the stream encoders read them: a signature closes the
// current thought.
// Not safe for concurrent use.
type thoughtTap struct {
	thoughts []llm.Thought
	cur      strings.Builder // the open thought's text
	thinking bool
	calls    []llm.ToolCall
}

func (tt *thoughtTap) add(ch *llm.Chunk) {
	if ch.Redacted != "" || ch.Text != "" || len(ch.ToolCalls) > 0 {
		// As cache.Builder reads a stream: what follows a thought closes
		// it (unsigned then).
		tt.close()
	}
	if ch.Redacted != "" {
		tt.thoughts = append(tt.thoughts, llm.Thought{Redacted: ch.Redacted})
	}
	if ch.Reasoning != "" || ch.Signature != "" {
		if !tt.thinking {
			tt.cur.Reset()
			tt.thinking = true
		}
		tt.cur.WriteString(ch.Reasoning)
		if ch.Signature != "" {
			tt.thoughts = append(tt.thoughts, llm.Thought{Text: tt.cur.String(), Signature: ch.Signature})
			tt.thinking = false
		}
	}
	for _, d := range ch.ToolCalls {
		if d.ID != "" {
			tt.calls = append(tt.calls, llm.ToolCall{ID: d.ID, Signature: d.Signature})
		}
	}
}

// remember keeps what the tap gathered (a thought still open has no
// signature: it is kept unsigned, as the answer carried it).
func (tt *thoughtTap) remember(c *chatCall, t *Target) {
	tt.close()
	c.rememberMessage(t, tt.thoughts, tt.calls)
}

// close ends an open thought, unsigned.
func (tt *thoughtTap) close() {
	if tt.thinking {
		tt.thoughts = append(tt.thoughts, llm.Thought{Text: tt.cur.String()})
		tt.thinking = false
	}
}

// explainThoughtMiss names the cause when an upstream refuses a
// continued tool-use turn for want of the thinking the gateway did not
// hold: the client could not have sent it.
func (c *chatCall) explainThoughtMiss(err error) error {
	rt := c.rc.thoughts
	if err == nil || rt == nil || rt.missing == "" {
		return err
	}
	e := llm.AsError(err)
	if e.Status != http.StatusBadRequest || !strings.Contains(strings.ToLower(e.Message), "thinking") {
		return err
	}
	return &llm.Error{Status: e.Status, Type: e.Type, Code: "thinking_not_restorable", Param: "messages", Provider: e.Provider, Err: err,
		Message: "the assistant turn that made tool call " + quote(rt.missing) + " needs the thinking the model produced before it, which Chat Completions " +
			"cannot carry and this Fulcrum no longer holds for your key (it keeps it for " + thoughtTTL.String() + " in the process that answered: " +
			"the gateway restarted, another replica answered without a shared store, or the entry expired). Start the tool-use turn again, send the request without " +
			"reasoning_effort, or use the Messages or Responses API, which carry thinking. Upstream said: " + e.Message}
}
