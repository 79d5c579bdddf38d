package llm

import "strings"

const (
	thinkOpen  = "<think>"
	thinkClose = "</think>"
)

// ThinkSplitter separates reasoning written inline as <think>...</think>
// (Qwen3, DeepSeek-R1 and others served without a reasoning parser) from
// the answer text, across chunk boundaries: a tag cut between two chunks
// is held back until the next one says what it is. The whitespace a model
// writes around the tags ("<think>\n...\n</think>\n\n") is neither
// reasoning nor answer and is dropped.
//
// A ThinkSplitter serves one answer; it is not safe for concurrent use.
type ThinkSplitter struct {
	in      bool   // inside <think>
	trim    bool   // drop leading whitespace of the answer
	pending string // a suffix that may be the start of a tag
	ws      string // trailing whitespace of the reasoning, held until more follows
	started bool
}

// Split takes the next piece of content and returns the reasoning and
// answer text it completes (either may be empty).
func (s *ThinkSplitter) Split(text string) (reasoning, answer string) {
	if !s.started {
		s.started, s.trim = true, true
	}
	buf := s.pending + text
	s.pending = ""
	var r, a strings.Builder
	for buf != "" {
		tag := thinkOpen
		if s.in {
			tag = thinkClose
		}
		i := strings.Index(buf, tag)
		if i < 0 {
			k := partialSuffix(buf, tag)
			s.emit(&r, &a, buf[:len(buf)-k])
			s.pending = buf[len(buf)-k:]
			break
		}
		s.emit(&r, &a, buf[:i])
		buf = buf[i+len(tag):]
		s.in = !s.in
		s.trim, s.ws = true, ""
	}
	return r.String(), a.String()
}

// Flush returns what is still held back at the end of the answer: a
// partial tag that never completed is text of whichever side it was on.
func (s *ThinkSplitter) Flush() (reasoning, answer string) {
	p := s.pending
	s.pending = ""
	var r, a strings.Builder
	s.emit(&r, &a, p)
	if s.in {
		r.WriteString(s.ws)
	}
	s.ws = ""
	return r.String(), a.String()
}

func (s *ThinkSplitter) emit(r, a *strings.Builder, text string) {
	if s.trim {
		t := strings.TrimLeft(text, " \t\r\n")
		if t == "" {
			return
		}
		text, s.trim = t, false
	}
	if s.in {
		if text == "" {
			return
		}
		t := strings.TrimRight(text, " \t\r\n")
		if t == "" {
			s.ws += text
			return
		}
		r.WriteString(s.ws)
		r.WriteString(t)
		s.ws = text[len(t):]
	} else {
		a.WriteString(text)
	}
}

// partialSuffix is the length of the longest suffix of s that is a proper
// prefix of tag.
func partialSuffix(s, tag string) int {
	for k := min(len(tag)-1, len(s)); k > 0; k-- {
		if strings.HasSuffix(s, tag[:k]) {
			return k
		}
	}
	return 0
}

// SplitThink splits a complete content string written with <think> tags
// into its reasoning and its answer.
func SplitThink(text string) (reasoning, answer string) {
	var s ThinkSplitter
	r, a := s.Split(text)
	r2, a2 := s.Flush()
	return r + r2, a + a2
}
