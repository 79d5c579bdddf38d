package policy

import (
	"slices"
	"strconv"
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// placeholders assigns [CLASS_n] to each distinct value, numbered per
// class in order of first appearance, so the same value always gets the
// same placeholder within a request. A placeholder the request already
// holds (taken: typed by the client, or left in a stored conversation's
// history by an earlier redaction) is skipped: it names no value of this
// request, so an answer repeating it must not have a value restored
// there.
func placeholders(values []found, taken []string) []substitution {
	subs := make([]substitution, 0, len(values))
	counters := map[string]int{}
	for _, f := range values {
		if slices.ContainsFunc(subs, func(s substitution) bool { return s.value == f.value }) {
			continue
		}
		label := placeholderLabel(f.class)
		var p string
		for {
			counters[label]++
			p = "[" + label + "_" + strconv.Itoa(counters[label]) + "]"
			if !slices.Contains(taken, p) {
				break
			}
		}
		subs = append(subs, substitution{value: f.value, placeholder: p})
	}
	return subs
}

// notePlaceholders records the placeholders ("[EMAIL_1]") t holds.
func (ev *evaluator) notePlaceholders(t string) {
	for {
		i := strings.IndexByte(t, '[')
		if i < 0 {
			return
		}
		t = t[i+1:]
		j := 0
		for j < len(t) && (t[j] >= 'A' && t[j] <= 'Z' || isDigit(t[j]) || t[j] == '_') {
			j++
		}
		if j == len(t) || t[j] != ']' {
			continue
		}
		if k := strings.LastIndexByte(t[:j], '_'); k > 0 && k+1 < j && allDigits(t[k+1:j]) {
			if p := t[:j]; !slices.ContainsFunc(ev.taken, func(s string) bool { return s[1:len(s)-1] == p }) {
				ev.taken = append(ev.taken, "["+p+"]")
			}
		}
	}
}

// placeholderLabel upper-cases a class name and maps anything but letters
// and digits to '_': "payment_card" -> "PAYMENT_CARD".
func placeholderLabel(class string) string {
	b := []byte(strings.ToUpper(class))
	for i, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			b[i] = '_'
		}
	}
	return string(b)
}

// replacers are built once per redacting decision.
type replacers struct {
	redact      *strings.Replacer // value -> placeholder
	redactQuote *strings.Replacer // value -> "placeholder" (JSON outside strings)
	restore     *strings.Replacer // placeholder -> value
	restoreJSON *strings.Replacer // placeholder -> JSON-escaped value
	maxLen      int               // longest placeholder
}

func newReplacers(subs []substitution) *replacers {
	// Longest values first, so a value containing another is replaced whole.
	byLen := slices.Clone(subs)
	slices.SortStableFunc(byLen, func(a, b substitution) int { return len(b.value) - len(a.value) })
	var red, redQ, res, resJ []string
	r := &replacers{}
	for _, s := range byLen {
		red = append(red, s.value, s.placeholder)
		redQ = append(redQ, s.value, `"`+s.placeholder+`"`)
		res = append(res, s.placeholder, s.value)
		resJ = append(resJ, s.placeholder, escapeJSON(s.value))
		r.maxLen = max(r.maxLen, len(s.placeholder))
	}
	r.redact = strings.NewReplacer(red...)
	r.redactQuote = strings.NewReplacer(redQ...)
	r.restore = strings.NewReplacer(res...)
	r.restoreJSON = strings.NewReplacer(resJ...)
	return r
}

// Redact returns a copy of req with every value of a redacted class
// replaced by its placeholder in message text, tool-call arguments (kept
// valid JSON) and tool results. req is not modified. Unless the action is
// ActionRedact it returns a shallow copy.
func (d *Decision) Redact(req *llm.ChatRequest) *llm.ChatRequest {
	out := *req
	if d.rep == nil {
		return &out
	}
	out.Messages = make([]llm.Message, len(req.Messages))
	for i, m := range req.Messages {
		if len(m.Content) > 0 {
			m.Content = slices.Clone(m.Content)
			for k := range m.Content {
				if m.Content[k].Type == llm.PartText {
					m.Content[k].Text = d.redactText(m.Content[k].Text, m.Role == llm.RoleTool && looksJSON(m.Content[k].Text))
				}
			}
		}
		if len(m.ToolCalls) > 0 {
			m.ToolCalls = slices.Clone(m.ToolCalls)
			for k := range m.ToolCalls {
				m.ToolCalls[k].Arguments = d.redactText(m.ToolCalls[k].Arguments, true)
			}
		}
		out.Messages[i] = m
	}
	return &out
}

// RedactTexts returns texts with values replaced (embeddings inputs).
func (d *Decision) RedactTexts(texts []string) []string {
	if d.rep == nil {
		return texts
	}
	out := make([]string, len(texts))
	for i, t := range texts {
		out[i] = d.redactText(t, false)
	}
	return out
}

func looksJSON(t string) bool {
	t = strings.TrimLeft(t, " \t\r\n")
	return t != "" && (t[0] == '{' || t[0] == '[')
}

// redactText replaces values in t. JSON text is rewritten literal by
// literal so it stays valid (a number value becomes a string placeholder).
// Whatever the shape of t, no value survives: a value the structured
// rewrite missed is replaced in the raw text, and a text that still holds
// one after unescaping is replaced whole.
func (d *Decision) redactText(t string, jsonMode bool) string {
	r := d.rep
	var out string
	if !jsonMode && strings.IndexByte(t, '\\') < 0 {
		return r.redact.Replace(t)
	}
	other := r.redact.Replace
	if jsonMode {
		other = r.redactQuote.Replace
	}
	out = rewriteJSONish(t, r.redact.Replace, other)
	if d.leaks(out) {
		out = r.redact.Replace(out)
		if d.leaks(out) {
			return "[REDACTED]"
		}
	}
	return out
}

// leaks reports whether t, raw or unescaped, still contains a value.
func (d *Decision) leaks(t string) bool {
	u := t
	if strings.IndexByte(t, '\\') >= 0 {
		u = string(unescapeJSONish(nil, t))
	}
	for _, s := range d.subs {
		if strings.Contains(t, s.value) || strings.Contains(u, s.value) {
			return true
		}
	}
	return false
}

// Restore puts the original values back in place of placeholders in the
// answer's text and tool-call arguments (JSON-escaped there).
func (d *Decision) Restore(resp *llm.ChatResponse) {
	if d.rep == nil {
		return
	}
	for i := range resp.Choices {
		m := &resp.Choices[i].Message
		for k := range m.Content {
			if m.Content[k].Type == llm.PartText {
				m.Content[k].Text = d.rep.restore.Replace(m.Content[k].Text)
			}
		}
		for k := range m.ToolCalls {
			m.ToolCalls[k].Arguments = d.rep.restoreJSON.Replace(m.ToolCalls[k].Arguments)
		}
	}
}

// RestoreText puts the original values back in a text.
func (d *Decision) RestoreText(t string) string {
	if d.rep == nil {
		return t
	}
	return d.rep.restore.Replace(t)
}
