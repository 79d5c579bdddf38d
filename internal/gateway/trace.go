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
	sp.End(a.Status, a.ErrCode)
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
		var finish []string
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
	if c.att.Recording() {
		var fr []string
		if finish != "" {
			fr = []string{finish}
		}
		c.att.Response(id, model, fr)
	}
	if c.captures() {
		c.rc.span.OutputText(text, finish)
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
	id, model, finish := scanMeta(b)
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
	id, _ = jsonString(b, `"id"`)
	model, _ = jsonString(b, `"model"`)
	for _, k := range [...]string{`"finish_reason"`, `"stop_reason"`} {
		rest := b
		for {
			v, n := jsonString(rest, k)
			if n < 0 {
				break
			}
			if v != "" {
				finish = append(finish, v)
			}
			rest = rest[n:]
		}
	}
	return id, model, finish
}

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
		for p < len(b) && (b[p] == ' ' || b[p] == '\t' || b[p] == '\n' || b[p] == '\r') {
			p++
		}
		if p >= len(b) || b[p] != ':' {
			off = p
			continue
		}
		p++
		for p < len(b) && (b[p] == ' ' || b[p] == '\t' || b[p] == '\n' || b[p] == '\r') {
			p++
		}
		if p >= len(b) || b[p] != '"' {
			return "", p
		}
		p++
		end := bytes.IndexByte(b[p:], '"')
		if end < 0 {
			return "", len(b)
		}
		v := b[p : p+end]
		if bytes.IndexByte(v, '\\') >= 0 {
			return "", p + end + 1
		}
		return string(v), p + end + 1
	}
}

// rawFinish returns the finish (stop) reason a stream event carries, if
// any; read only when the attempt's span records.
func rawFinish(data []byte) string {
	for _, k := range [...]string{`"finish_reason"`, `"stop_reason"`} {
		if v, _ := jsonString(data, k); v != "" {
			return v
		}
	}
	return ""
}
