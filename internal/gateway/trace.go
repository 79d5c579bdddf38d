package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/telemetry"
)

// Tracing (docs/tracing.md). The server span of a request is started in
// wrap and ended in finish; each upstream attempt's client span is started
// where the router hands the attempt its context (run, cascade) and ended
// in reportAs, which every attempt reaches exactly once, a stream's at its
// end. With Options.Tracer nil every span here is nil and each call is a
// nil check.

// startAttempt opens the client span of attempt n on t; the returned
// context carries it, so the upstream request's traceparent names it.
func (c *chatCall) startAttempt(ctx context.Context, t *Target, n int) context.Context {
	c.attempts++
	tr := c.s.opts.Tracer
	if tr == nil {
		return ctx
	}
	if c.att != nil {
		// An attempt that never reported (it cannot happen today; a span
		// must not leak if it ever does).
		c.att.End(0, "")
	}
	info := t.Provider.Info()
	ctx, c.att = tr.StartAttempt(ctx, &telemetry.Attempt{
		Op: c.op(), ProviderType: info.Type, ProviderName: info.Name, Hosting: string(info.Hosting), Region: info.Region,
		Model: t.Upstream, N: n, PassThrough: c.passThrough(t),
		Timed: true, // endAttempt gives the attempt record's times
	})
	return ctx
}

// endAttempt closes attempt a's span with its usage and cost. A judge's
// call (attempt 0), made outside run, gets a span backdated to its start.
func (c *chatCall) endAttempt(ctx context.Context, a *Attempt) {
	tr := c.s.opts.Tracer
	if tr == nil {
		return
	}
	sp := c.att
	if a.N == 0 {
		_, sp = tr.StartAttempt(ctx, &telemetry.Attempt{
			Op: "chat", ProviderType: a.Info.Type, ProviderName: a.Info.Name, Hosting: string(a.Info.Hosting), Region: a.Info.Region,
			Model: a.Target.Upstream, N: 0, Start: a.Time,
		})
		sp.Judge()
	} else {
		c.att = nil
	}
	if sp == nil {
		return
	}
	if u := a.Usage; u != nil {
		sp.Usage(u.InputTokens, u.OutputTokens, u.CacheReadTokens, u.Estimated, a.CostNanos, a.ReferenceNanos)
	}
	// The span's times are the attempt record's (a.Time is taken as the
	// attempt starts, a.Latency as it is reported): the trace and the
	// usage record agree, and the span reads no clock of its own.
	sp.EndAt(a.Status, a.ErrCode, a.Time, a.Time.Add(a.Latency))
}

// op is the GenAI operation name of the call.
func (c *chatCall) op() string {
	if c.in != nil && c.in.embed != nil {
		return "embeddings"
	}
	return "chat"
}

// traceRequest names the server span once the request is decoded.
func (c *chatCall) traceRequest() {
	sp := c.rc.span
	if !sp.Recording() {
		return
	}
	var p *telemetry.Params
	if r := c.req; r != nil && c.in.embed == nil {
		p = &telemetry.Params{MaxTokens: r.MaxTokens, Temperature: r.Temperature, TopP: r.TopP, Seed: r.Seed, Stop: r.Stop, N: r.N}
	}
	sp.Request(c.op(), c.in.model, c.in.stream, p)
	sp.RequestID(c.rc.id)
	if k := c.rc.caller; k != nil && k.KeyID != "" {
		sp.KeyID(k.KeyID)
	}
}

// captures reports whether this request's prompt and completion may go on
// its span: content capture is on, and what was forwarded holds no
// sensitive value (policy found none, or redacted what it found). A
// request policy sent in the clear to a self-hosted target is withheld.
func (c *chatCall) captures() bool {
	if !c.s.opts.Tracer.CaptureContent() || !c.rc.span.Recording() || c.in.embed != nil {
		return false
	}
	if v := c.verdict; v != nil && !v.Redacts() {
		if classes, _ := v.Header(); classes != "" {
			c.rc.span.Withheld()
			return false
		}
	}
	return true
}

// traceInput records the forwarded prompt (c.req was decoded from the
// body policy cleared, redacted when it redacts).
func (c *chatCall) traceInput() {
	if c.captures() {
		c.rc.span.Input(c.req.Messages)
	}
}

// traceResponse records the upstream's answer on the attempt's span and,
// when content is captured, on the request's span (before restore).
func (c *chatCall) traceResponse(resp *llm.ChatResponse) {
	if c.att.Recording() {
		var fb [4]string // Response copies: no allocation for up to four
		finish := fb[:0]
		for i := range resp.Choices {
			if f := resp.Choices[i].FinishReason; f != "" {
				finish = append(finish, f)
			}
		}
		c.att.Response(resp.ID, resp.Model, finish)
	}
	if c.captures() {
		c.rc.span.Output(resp.Choices)
	}
}

// traceStreamEnd records a streamed answer's model, finish reason and
// (when captured) text on the attempt's and the request's spans.
func (c *chatCall) traceStreamEnd(id, model, finish, text string) {
	c.traceStreamMeta(id, model, finish)
	if c.captures() {
		c.rc.span.OutputText(text, finish)
	}
}

// traceStreamEndRaw is traceStreamEnd for a passed-through stream, whose
// text is bytes: made a string only when it is captured.
func (c *chatCall) traceStreamEndRaw(id, model, finish string, text []byte) {
	c.traceStreamMeta(id, model, finish)
	if c.captures() {
		c.rc.span.OutputText(string(text), finish)
	}
}

func (c *chatCall) traceStreamMeta(id, model, finish string) {
	if c.att.Recording() {
		var fb [1]string
		fr := fb[:0]
		if finish != "" {
			fr = append(fr, finish)
		}
		c.att.Response(id, model, fr)
	}
}

// endRequest closes the server span with the request's outcome.
func (s *Server) endRequest(rc *reqCtx) {
	sp := rc.span
	if sp == nil {
		return
	}
	if sp.Recording() {
		if c := rc.call; c != nil {
			if v := c.verdict; v != nil {
				sp.Policy(v.Header())
			}
			if c.plan != nil {
				sp.Route(c.plan.Name(), c.plan.Strategy())
			}
			if c.served != nil {
				info := c.served.Provider.Info()
				sp.Served(info.Type, info.Name, string(info.Hosting), c.attempts)
			}
			cost := c.spent.ProprietaryNanos + c.spent.SelfHostedNanos
			if u := rc.usage; u != nil {
				sp.Usage(u.InputTokens, u.OutputTokens, u.CacheReadTokens, u.Estimated, cost, 0)
			} else if cost > 0 {
				sp.Cost(cost)
			}
		}
	}
	sp.End(rc.status, rc.errCode)
}

// rawAnswer is what a trace reads from a passed-through answer or stream
// event: OpenAI chat (choices), Anthropic messages (content, stop_reason;
// message on message_start) and Responses (output) shapes at once. Only
// decoded when the attempt's span records.
type rawAnswer struct {
	ID      string `json:"id"`
	Model   string `json:"model"`
	Choices []struct {
		FinishReason string `json:"finish_reason"`
		Message      struct {
			Content json.RawMessage `json:"content"`
		} `json:"message"`
	} `json:"choices"`
	StopReason string `json:"stop_reason"`
	Content    []struct {
		Text string `json:"text"`
	} `json:"content"`
	Message *struct {
		ID    string `json:"id"`
		Model string `json:"model"`
	} `json:"message"`
	Status string `json:"status"`
}

// rawMeta reads a passed-through body's id, model, finish reasons and
// answer text (best effort: what it cannot read stays empty).
func rawMeta(b []byte) (id, model string, finish []string, text string) {
	var a rawAnswer
	if json.Unmarshal(b, &a) != nil {
		return
	}
	id, model = a.ID, a.Model
	if a.Message != nil {
		id, model = a.Message.ID, a.Message.Model
	}
	var sb strings.Builder
	for _, ch := range a.Choices {
		if ch.FinishReason != "" {
			finish = append(finish, ch.FinishReason)
		}
		var s string
		if json.Unmarshal(ch.Message.Content, &s) == nil {
			sb.WriteString(s)
		}
	}
	if a.StopReason != "" {
		finish = append(finish, a.StopReason)
	}
	for _, c := range a.Content {
		sb.WriteString(c.Text)
	}
	return id, model, finish, sb.String()
}

// traceRaw records a passed-through non-streaming answer: its id, model
// and finish reasons are scanned for (no decoding), the body is decoded
// only when its content is captured.
func (c *chatCall) traceRaw(b []byte) {
	if !c.att.Recording() {
		return
	}
	var fb [4]string // Response copies the reasons: this stays on the stack
	id, model, finish := appendMeta(b, fb[:0])
	c.att.Response(id, model, finish)
	if c.captures() {
		_, _, _, text := rawMeta(b)
		fr := ""
		if len(finish) > 0 {
			fr = finish[0]
		}
		c.rc.span.OutputText(text, fr)
	}
}

// scanMeta finds the first "id" and "model" string values of a JSON
// answer (the top-level ones: OpenAI and Anthropic put them first; a
// string value cannot hide an unescaped key) and every finish_reason /
// stop_reason.
func scanMeta(b []byte) (id, model string, finish []string) {
	return appendMeta(b, nil)
}

// appendMeta is scanMeta appending the reasons to finish (a caller's
// stack array: traceRaw).
func appendMeta(b []byte, finish []string) (id, model string, _ []string) {
	id, _ = jsonString(b, `"id"`)
	model, _ = jsonString(b, `"model"`)
	for rest := b; ; {
		v, ok := nextReason(&rest)
		if !ok {
			break
		}
		if v != "" {
			finish = append(finish, v)
		}
	}
	return id, model, finish
}

// nextReason reads the next finish_reason or stop_reason in *rest and
// moves *rest past it: one pass over the body finds both keys. v is ""
// when the value is not a plain string (null); ok is false when no
// reason is left.
func nextReason(rest *[]byte) (v string, ok bool) {
	for {
		b := *rest
		i := bytes.Index(b, reasonKey)
		if i < 0 {
			return "", false
		}
		key := bytes.HasSuffix(b[:i], []byte(`"finish`)) || bytes.HasSuffix(b[:i], []byte(`"stop`))
		b = b[i+len(reasonKey):]
		v, n, colon := stringValue(b)
		*rest = b[n:]
		if key && colon {
			return v, true
		}
	}
}

var reasonKey = []byte(`_reason"`)

// jsonString returns the string value after the first occurrence of key
// (a quoted name) followed by a colon, and the offset just past it; -1
// when key does not occur. A value that is not a plain string (null, or
// one with escapes) is returned as "".
func jsonString(b []byte, key string) (string, int) {
	off := 0
	for {
		i := bytes.Index(b[off:], []byte(key))
		if i < 0 {
			return "", -1
		}
		p := off + i + len(key)
		v, n, ok := stringValue(b[p:])
		if !ok {
			off = p + n
			continue
		}
		return v, p + n
	}
}

// stringValue reads what follows a key: white space, a colon and a
// value. ok is false when there is no colon (the key was a value); the
// value is returned when it is a plain string (none with escapes), with
// the offset just past what was read.
func stringValue(b []byte) (v string, n int, ok bool) {
	p := skipSpace(b, 0)
	if p >= len(b) || b[p] != ':' {
		return "", p, false
	}
	p = skipSpace(b, p+1)
	if p >= len(b) || b[p] != '"' {
		return "", p, true
	}
	p++
	end := bytes.IndexByte(b[p:], '"')
	if end < 0 {
		return "", len(b), true
	}
	s := b[p : p+end]
	if bytes.IndexByte(s, '\\') >= 0 {
		return "", p + end + 1, true
	}
	return string(s), p + end + 1, true
}

func skipSpace(b []byte, p int) int {
	for p < len(b) && (b[p] == ' ' || b[p] == '\t' || b[p] == '\n' || b[p] == '\r') {
		p++
	}
	return p
}

// rawFinish returns the first finish (stop) reason a stream event
// carries, if any; read only when the attempt's span records.
func rawFinish(data []byte) string {
	for rest := data; ; {
		v, ok := nextReason(&rest)
		if !ok || v != "" {
			return v
		}
	}
}
