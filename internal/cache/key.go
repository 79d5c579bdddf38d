package cache

import (
	"crypto/sha256"
	"encoding/binary"
	"math"
	"slices"
	"sync"

	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/provider"
)

// Key identifies a cached answer: a SHA-256 of the normalised request and
// its policy scope.
type Key [sha256.Size]byte

// Scope is everything besides the request itself that decides whether two
// callers may share an answer.
type Scope struct {
	// Policy is the name of the data policy applied to the request.
	Policy string
	// Classes and Action are the verdict's data classes and action (the
	// x-fulcrum-data-classes and x-fulcrum-policy-action values).
	Classes, Action string
	// Targets are the providers the verdict permits among the plan's
	// targets, in plan order: two callers whose policies permit different
	// providers, hosting or regions never share an entry.
	Targets []*provider.Info
	// Tenant is "" for entries shared by everyone in the same policy scope,
	// else a team or key id (the rule's scope).
	Tenant string
}

// NewKey hashes the request and its scope. The request is normalised: the
// stream flags are left out (a hit is replayed either way), everything
// else the request carries is in the key, each field tagged and
// length-prefixed so no two different requests hash the same input.
func NewKey(req *llm.ChatRequest, s *Scope) Key {
	bp := bufs.Get().(*[]byte)
	h := hasher{b: (*bp)[:0]}
	h.str('P', s.Policy)
	h.str('C', s.Classes)
	h.str('A', s.Action)
	h.str('T', s.Tenant)
	for _, t := range s.Targets {
		h.str('t', t.Name)
		h.str('h', string(t.Hosting))
		h.str('r', t.Region)
		h.str('R', t.Retention)
	}
	h.request(req)
	k := Key(sha256.Sum256(h.b))
	if cap(h.b) <= 64<<10 {
		*bp = h.b
		bufs.Put(bp)
	}
	return k
}

// bufs pools the buffers requests are serialised into before hashing.
var bufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// hasher serialises fields, each tagged and length-prefixed. Lengths and
// numbers are uvarints: a uvarint is self-delimiting, so the encoding stays
// injective, and a typical request hashes a third fewer bytes than with
// fixed 8-byte fields (the key is most of the cache's own work on a miss).
type hasher struct{ b []byte }

// str and u64 write a value under 0x80 as the one byte its uvarint is,
// without the call: most lengths and numbers in a request are that small.
func (h *hasher) str(tag byte, s string) {
	if len(s) < 0x80 {
		h.b = append(h.b, tag, byte(len(s)))
	} else {
		h.b = append(h.b, tag)
		h.b = binary.AppendUvarint(h.b, uint64(len(s)))
	}
	h.b = append(h.b, s...)
}

func (h *hasher) u64(tag byte, v uint64) {
	if v < 0x80 {
		h.b = append(h.b, tag, byte(v))
		return
	}
	h.b = append(h.b, tag)
	h.b = binary.AppendUvarint(h.b, v)
}

func (h *hasher) flag(tag byte, b bool) {
	var v uint64
	if b {
		v = 1
	}
	h.u64(tag, v)
}

func (h *hasher) optInt(tag byte, p *int) {
	h.flag(tag, p != nil)
	if p != nil {
		h.u64(tag, uint64(*p))
	}
}

func (h *hasher) optFloat(tag byte, p *float64) {
	h.flag(tag, p != nil)
	if p != nil {
		h.u64(tag, math.Float64bits(*p))
	}
}

func (h *hasher) optBool(tag byte, p *bool) {
	h.flag(tag, p != nil)
	if p != nil {
		h.flag(tag, *p)
	}
}

func (h *hasher) request(r *llm.ChatRequest) {
	h.str('m', r.Model)
	h.u64('n', uint64(len(r.Messages)))
	for i := range r.Messages {
		m := &r.Messages[i]
		h.str('o', string(m.Role))
		h.str('i', m.ToolCallID)
		h.str('N', m.Name)
		h.flag('e', m.IsError)
		h.u64('p', uint64(len(m.Content)))
		for _, p := range m.Content {
			h.str('y', string(p.Type))
			h.str('x', p.Text)
			h.flag('I', p.Image != nil)
			if im := p.Image; im != nil {
				h.str('u', im.URL)
				h.str('M', im.MediaType)
				h.str('d', im.Data)
				h.str('D', im.Detail)
			}
		}
		h.u64('c', uint64(len(m.ToolCalls)))
		for _, tc := range m.ToolCalls {
			h.str('1', tc.ID)
			h.str('2', tc.Name)
			h.str('3', tc.Arguments)
		}
		// Reasoning sent back (signed thinking, encrypted_content) is
		// part of what the model reads.
		h.u64('V', uint64(len(m.Thoughts)))
		for _, th := range m.Thoughts {
			h.str('V', th.Text)
			h.str('V', th.Signature)
			h.str('V', th.Redacted)
		}
	}
	h.u64('L', uint64(len(r.Tools)))
	for _, t := range r.Tools {
		h.str('4', t.Name)
		h.str('5', t.Description)
		h.str('6', string(t.Parameters))
		h.optBool('7', t.Strict)
	}
	h.flag('Q', r.ToolChoice != nil)
	if tc := r.ToolChoice; tc != nil {
		h.str('q', string(tc.Mode))
		h.str('q', tc.Name)
	}
	h.optBool('8', r.ParallelToolCalls)
	h.flag('F', r.ResponseFormat != nil)
	if f := r.ResponseFormat; f != nil {
		h.str('f', f.Type)
		h.str('f', f.Name)
		h.str('f', string(f.Schema))
		h.optBool('f', f.Strict)
	}
	h.optInt('k', r.MaxTokens)
	h.optFloat('T', r.Temperature)
	h.optFloat('P', r.TopP)
	h.optInt('K', r.TopK)
	h.u64('s', uint64(len(r.Stop)))
	for _, s := range r.Stop {
		h.str('s', s)
	}
	h.flag('S', r.Seed != nil)
	if r.Seed != nil {
		h.u64('S', uint64(*r.Seed))
	}
	h.optFloat('E', r.PresencePenalty)
	h.optFloat('G', r.FrequencyPenalty)
	h.u64('B', uint64(r.N))
	h.str('U', r.User)
	h.u64('X', uint64(len(r.Unsupported)))
	for _, u := range r.Unsupported {
		h.str('X', u)
	}
	// A thinking budget or an effort changes the answer as much as
	// max_tokens does.
	h.flag('W', r.Reasoning != nil)
	if rs := r.Reasoning; rs != nil {
		h.str('W', rs.Effort)
		h.u64('W', uint64(rs.BudgetTokens))
		h.flag('W', rs.Adaptive)
		h.flag('W', rs.Disabled)
		h.str('W', rs.Summary)
		h.str('W', rs.Display)
		h.str('W', rs.Param)
		h.flag('W', rs.Hint)
	}
	// Anthropic's opt-in features (a larger output limit, the 1M context
	// window) change what the model can answer.
	h.u64('b', uint64(len(r.Betas)))
	for _, b := range r.Betas {
		h.str('b', b)
	}
	// Fields kept verbatim for a same-family target (Anthropic thinking,
	// output_config, context_management, ...), in name order.
	names := make([]string, 0, len(r.Extra))
	for k := range r.Extra {
		names = append(names, k)
	}
	slices.Sort(names)
	h.u64('Z', uint64(len(names)))
	for _, k := range names {
		h.str('Z', k)
		h.str('Z', string(r.Extra[k]))
	}
}
