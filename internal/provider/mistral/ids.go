package mistral

import (
	"crypto/sha256"
	"sync"

	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/provider"
)

// Mistral accepts only tool call IDs of exactly nine characters from
// [a-zA-Z0-9]. History from other providers or clients carries IDs such as
// "call_abc123..." or "toolu_01...": each is replaced by a nine-character
// ID derived from it (the same ID always maps to the same short one, so a
// call and its result still match), and the mapping is remembered so that
// an answer naming a short ID gives the client its original ID back.
type idMap struct {
	mu    sync.Mutex
	max   int
	back  map[string]string // short -> original
	order []string
}

func newIDMap(max int) *idMap { return &idMap{max: max, back: map[string]string{}} }

const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// valid reports whether id is already a Mistral ID.
func valid(id string) bool {
	if len(id) != 9 {
		return false
	}
	for i := 0; i < 9; i++ {
		ch := id[i]
		if !('a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9') {
			return false
		}
	}
	return true
}

// short maps an ID to a Mistral ID, remembering the original.
func (m *idMap) short(id string) string {
	if valid(id) || id == "" {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	b := make([]byte, 9)
	for i := range b {
		b[i] = alphabet[int(sum[i])%len(alphabet)]
	}
	s := string(b)
	m.mu.Lock()
	if _, ok := m.back[s]; !ok {
		m.back[s] = id
		m.order = append(m.order, s)
		if len(m.order) > m.max {
			delete(m.back, m.order[0])
			m.order = m.order[1:]
		}
	}
	m.mu.Unlock()
	return s
}

// original is the ID the client knows for a Mistral ID.
func (m *idMap) original(id string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if o, ok := m.back[id]; ok {
		return o
	}
	return id
}

// shorten returns msgs with every tool call ID mapped; msgs is not
// modified.
func (m *idMap) shorten(msgs []llm.Message) []llm.Message {
	out := make([]llm.Message, len(msgs))
	for i, msg := range msgs {
		out[i] = msg
		if msg.ToolCallID != "" {
			out[i].ToolCallID = m.short(msg.ToolCallID)
		}
		if len(msg.ToolCalls) > 0 {
			out[i].ToolCalls = make([]llm.ToolCall, len(msg.ToolCalls))
			for j, tc := range msg.ToolCalls {
				tc.ID = m.short(tc.ID)
				out[i].ToolCalls[j] = tc
			}
		}
	}
	return out
}

// stream maps tool call IDs in streamed chunks back.
type stream struct {
	provider.Stream
	ids *idMap
}

func (s *stream) Recv() (*llm.Chunk, error) {
	c, err := s.Stream.Recv()
	if c != nil {
		for i := range c.ToolCalls {
			if c.ToolCalls[i].ID != "" {
				c.ToolCalls[i].ID = s.ids.original(c.ToolCalls[i].ID)
			}
		}
	}
	return c, err
}
