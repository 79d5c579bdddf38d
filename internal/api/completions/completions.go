// Package completions is the OpenAI legacy Completions wire format
// (POST /v1/completions, https://platform.openai.com/docs/api-reference/completions):
// it decodes a client's request into the canonical chat request (the
// prompt as one user message), encodes a canonical answer as a
// text_completion object and turns a canonical chunk stream into
// text_completion chunks.
//
// The canonical form is what a target without a /completions endpoint
// (Anthropic, Gemini, OpenAI's chat models) is asked: a prompt-in,
// text-out call translated to chat. What only a model served on a
// completions endpoint can do (fill-in-the-middle with suffix, echo,
// logprobs, best_of, several prompts or choices, token-id prompts) is
// named in Request.Native so the gateway refuses it, with a 400
// unsupported_parameter, on a translated target; on a target serving
// /completions the client's body is forwarded as it is.
//
// It is pure: no I/O, no gateway state.
package completions

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/fulcrumhq/fulcrum/internal/api/openai"
	"github.com/fulcrumhq/fulcrum/internal/jsonw"
	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// DefaultMaxTokens is the API's documented default for max_tokens, applied
// on the translated path when the client sets none (a chat target would
// otherwise write until its own limit).
const DefaultMaxTokens = 16

// maxBestOf is the API's largest best_of.
const maxBestOf = 20

// Request is a decoded completions request.
type Request struct {
	// Chat is the canonical request a translated target is asked: the
	// prompt as a single user message.
	Chat *llm.ChatRequest
	// Prompts are the text prompts (one for a string prompt); Tokens the
	// token-id prompts (one array per prompt).
	Prompts []string
	Tokens  [][]int
	// Suffix is the text after the completion (fill-in-the-middle).
	Suffix string
	Echo   bool
	// Native names the first parameter only a target serving the
	// completions endpoint can honour ("" when there is none).
	Native string
	// NativeWhy says, for the client, why Native cannot be translated.
	NativeWhy string
}

type wireRequest struct {
	Model         string          `json:"model"`
	Prompt        json.RawMessage `json:"prompt"`
	Suffix        *string         `json:"suffix"`
	MaxTokens     *int            `json:"max_tokens"`
	Temperature   *float64        `json:"temperature"`
	TopP          *float64        `json:"top_p"`
	N             *int            `json:"n"`
	Stream        bool            `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	Logprobs         *int            `json:"logprobs"`
	Echo             *bool           `json:"echo"`
	Stop             json.RawMessage `json:"stop"`
	PresencePenalty  *float64        `json:"presence_penalty"`
	FrequencyPenalty *float64        `json:"frequency_penalty"`
	BestOf           *int            `json:"best_of"`
	LogitBias        json.RawMessage `json:"logit_bias"`
	Seed             *int64          `json:"seed"`
	User             string          `json:"user"`
}

// DecodeRequest decodes a POST /v1/completions body. Failures are 400
// *llm.Error values in OpenAI's shape, Param naming the field.
func DecodeRequest(body []byte) (*Request, error) {
	var w wireRequest
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, llm.Errorf("", "We could not parse the JSON body of your request. (%v)", err)
	}
	if w.Model == "" {
		return nil, missing("model", "you must provide a model parameter")
	}
	if isNull(w.Prompt) {
		return nil, missing("prompt", "Missing required parameter: 'prompt'.")
	}
	if w.StreamOptions != nil && !w.Stream {
		return nil, invalid("stream_options", "The 'stream_options' parameter is only allowed when 'stream' is enabled.")
	}
	r := &Request{}
	if err := decodePrompt(w.Prompt, r); err != nil {
		return nil, err
	}
	chat := &llm.ChatRequest{
		Model:            w.Model,
		MaxTokens:        w.MaxTokens,
		Temperature:      w.Temperature,
		TopP:             w.TopP,
		Seed:             w.Seed,
		PresencePenalty:  w.PresencePenalty,
		FrequencyPenalty: w.FrequencyPenalty,
		User:             w.User,
		Stream:           w.Stream,
		IncludeUsage:     w.Stream && w.StreamOptions != nil && w.StreamOptions.IncludeUsage,
	}
	r.Chat = chat
	if w.MaxTokens != nil && *w.MaxTokens < 0 {
		return nil, invalid("max_tokens", fmt.Sprintf("Invalid 'max_tokens': integer below minimum value. Expected a value >= 0, but got %d instead.", *w.MaxTokens))
	}
	if w.N != nil && *w.N < 1 {
		return nil, invalid("n", fmt.Sprintf("Invalid 'n': integer below minimum value. Expected a value >= 1, but got %d instead.", *w.N))
	}
	if w.Logprobs != nil && (*w.Logprobs < 0 || *w.Logprobs > 5) {
		return nil, invalid("logprobs", fmt.Sprintf("Invalid 'logprobs': expected a value between 0 and 5, but got %d instead.", *w.Logprobs))
	}
	if w.BestOf != nil && (*w.BestOf < 1 || *w.BestOf > maxBestOf) {
		return nil, invalid("best_of", fmt.Sprintf("Invalid 'best_of': expected a value between 1 and %d, but got %d instead.", maxBestOf, *w.BestOf))
	}
	if w.BestOf != nil && w.N != nil && *w.BestOf < *w.N {
		return nil, invalid("best_of", fmt.Sprintf("Invalid 'best_of': best_of (%d) must be greater than or equal to n (%d).", *w.BestOf, *w.N))
	}
	if w.BestOf != nil && w.Stream && *w.BestOf > 1 {
		return nil, invalid("best_of", "Invalid 'best_of': results cannot be streamed when best_of is greater than 1.")
	}
	stop, err := decodeStop(w.Stop)
	if err != nil {
		return nil, err
	}
	chat.Stop = stop
	if w.Suffix != nil {
		r.Suffix = *w.Suffix
	}
	r.Echo = w.Echo != nil && *w.Echo
	// The prompt, for policy, limits and a translated target.
	var text string
	if len(r.Prompts) > 0 {
		text = r.Prompts[0]
	}
	chat.Messages = []llm.Message{llm.TextMessage(llm.RoleUser, text)}
	switch {
	case r.Suffix != "":
		r.Native, r.NativeWhy = "suffix", "fill-in-the-middle needs a model served on a completions endpoint"
	case len(r.Tokens) > 0:
		r.Native, r.NativeWhy = "prompt", "a prompt of token ids can only go to a model served on a completions endpoint"
	case len(r.Prompts) > 1:
		r.Native, r.NativeWhy = "prompt", "several prompts in one request can only go to a model served on a completions endpoint"
	case r.Echo:
		r.Native, r.NativeWhy = "echo", "a chat model does not echo its prompt"
	case w.Logprobs != nil:
		r.Native, r.NativeWhy = "logprobs", "token log probabilities are not translated to chat"
	case w.N != nil && *w.N > 1:
		r.Native, r.NativeWhy = "n", "several choices are not translated to chat"
	case w.BestOf != nil && *w.BestOf > 1:
		r.Native, r.NativeWhy = "best_of", "best_of is not translated to chat"
	case !isNull(w.LogitBias) && !bytes.Equal(bytes.TrimSpace(w.LogitBias), []byte("{}")):
		r.Native, r.NativeWhy = "logit_bias", "logit_bias is not translated to chat (token ids differ between models)"
	}
	// What the upstream generates and bills: best_of (or n) completions of
	// every prompt. chat.N carries it to the budgets' worst case; a request
	// with more than one is never translated (Native is set above), so the
	// chat request itself never asks for them.
	choices := 1
	if w.N != nil {
		choices = *w.N
	}
	if w.BestOf != nil {
		choices = max(choices, *w.BestOf)
	}
	if billed := choices * max(len(r.Prompts), len(r.Tokens), 1); billed > 1 {
		chat.N = billed
	}
	return r, nil
}

// Translated returns the canonical request for a target reached through
// chat: the API's default max_tokens applies when the client set none.
func (r *Request) Translated() *llm.ChatRequest {
	c := *r.Chat
	if c.MaxTokens == nil {
		n := DefaultMaxTokens
		c.MaxTokens = &n
	}
	return &c
}

func decodePrompt(raw json.RawMessage, r *Request) error {
	raw = bytes.TrimSpace(raw)
	bad := invalid("prompt", "Invalid type for 'prompt': expected a string, an array of strings, an array of tokens or an array of token arrays.")
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return bad
		}
		r.Prompts = []string{s}
		return nil
	case '[':
	default:
		return bad
	}
	// The first element's kind picks the type decoded into, straight from
	// raw, and arrays of token ids into slices sized once
	// (openai.TokenSlices): a prompt of 5 million ids held as one
	// json.RawMessage each peaked at 535 MB for a 15 MB body.
	first := bytes.TrimLeft(raw[1:], " \t\r\n")
	if len(first) == 0 || first[0] == ']' {
		e := invalid("prompt", "Invalid 'prompt': empty array. Expected an array with minimum length 1, but got an empty array instead.")
		e.Code = "empty_array"
		return e
	}
	switch first[0] {
	case '"':
		if json.Unmarshal(raw, &r.Prompts) != nil {
			return bad
		}
	case '[':
		r.Tokens = openai.TokenSlices(raw, 2)
		if json.Unmarshal(raw, &r.Tokens) != nil {
			return bad
		}
	default:
		r.Tokens = openai.TokenSlices(raw, 1)
		if json.Unmarshal(raw, &r.Tokens[0]) != nil {
			return bad
		}
	}
	return nil
}

func decodeStop(raw json.RawMessage) ([]string, error) {
	if isNull(raw) {
		return nil, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}, nil
	}
	var list []string
	if json.Unmarshal(raw, &list) != nil {
		return nil, invalid("stop", "Invalid type for 'stop': expected a string or an array of strings.")
	}
	if len(list) > 4 {
		return nil, invalid("stop", fmt.Sprintf("Invalid 'stop': array too long. Expected an array with maximum length 4, but got an array with length %d instead.", len(list)))
	}
	return list, nil
}

func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

func missing(param, msg string) *llm.Error {
	e := llm.Errorf(param, "%s", msg)
	e.Code = "missing_required_parameter"
	return e
}

func invalid(param, msg string) *llm.Error {
	e := llm.Errorf(param, "%s", msg)
	e.Code = "invalid_value"
	return e
}

// Meta names the text_completion object.
type Meta struct {
	ID      string
	Model   string
	Created int64
}

// finish maps a canonical finish reason onto the completions vocabulary
// (stop, length, content_filter).
func finish(r string) string {
	switch r {
	case llm.FinishLength, llm.FinishContentFilter:
		return r
	default:
		return llm.FinishStop
	}
}

// EncodeResponse renders a canonical answer as a text_completion object:
// the first choice's text (a chat model's reasoning is not part of a
// completion).
func EncodeResponse(m *Meta, resp *llm.ChatResponse) []byte {
	b := make([]byte, 0, 256)
	b = append(b, `{"id":`...)
	b = jsonw.AppendString(b, m.ID)
	b = append(b, `,"object":"text_completion","created":`...)
	b = strconv.AppendInt(b, m.Created, 10)
	b = append(b, `,"model":`...)
	b = jsonw.AppendString(b, m.Model)
	if resp.SystemFingerprint != "" {
		b = append(b, `,"system_fingerprint":`...)
		b = jsonw.AppendString(b, resp.SystemFingerprint)
	}
	b = append(b, `,"choices":[`...)
	for i, ch := range resp.Choices {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendChoice(b, i, ch.Message.Text(), finish(ch.FinishReason))
	}
	b = append(b, ']')
	if resp.Usage != nil {
		b = append(b, `,"usage":`...)
		b = appendUsage(b, resp.Usage)
	}
	return append(b, '}')
}

func appendChoice(b []byte, i int, text, finish string) []byte {
	b = append(b, `{"text":`...)
	b = jsonw.AppendString(b, text)
	b = append(b, `,"index":`...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, `,"logprobs":null,"finish_reason":`...)
	if finish == "" {
		return append(b, "null}"...)
	}
	b = jsonw.AppendString(b, finish)
	return append(b, '}')
}

func appendUsage(b []byte, u *llm.Usage) []byte {
	b = append(b, `{"prompt_tokens":`...)
	b = strconv.AppendInt(b, u.InputTokens, 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, u.OutputTokens, 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, u.Total(), 10)
	if u.CacheReadTokens > 0 {
		b = append(b, `,"prompt_tokens_details":{"cached_tokens":`...)
		b = strconv.AppendInt(b, u.CacheReadTokens, 10)
		b = append(b, '}')
	}
	if u.ReasoningTokens > 0 {
		b = append(b, `,"completion_tokens_details":{"reasoning_tokens":`...)
		b = strconv.AppendInt(b, u.ReasoningTokens, 10)
		b = append(b, '}')
	}
	return append(b, '}')
}

// StreamEncoder turns canonical chunks into text_completion chunks: one
// per text delta, one with the finish reason (and empty text), then, when
// the client asked for usage (stream_options.include_usage), one with
// "choices": [] and the usage, and data: [DONE]. Reasoning and tool-call
// deltas have no place in a completion and are not sent.
//
// A StreamEncoder is not safe for concurrent use.
type StreamEncoder struct {
	prefix       []byte
	includeUsage bool
	finished     bool
	done         bool
	usage        *llm.Usage
}

// NewStreamEncoder returns an encoder for one stream.
func NewStreamEncoder(m *Meta, includeUsage bool) *StreamEncoder {
	p := make([]byte, 0, 96+len(m.ID)+len(m.Model))
	p = append(p, `data: {"id":`...)
	p = jsonw.AppendString(p, m.ID)
	p = append(p, `,"object":"text_completion","created":`...)
	p = strconv.AppendInt(p, m.Created, 10)
	p = append(p, `,"model":`...)
	p = jsonw.AppendString(p, m.Model)
	p = append(p, ',')
	return &StreamEncoder{prefix: p, includeUsage: includeUsage}
}

// Append appends the event for one canonical chunk (none when it carries
// neither text nor a finish reason).
func (e *StreamEncoder) Append(b []byte, c *llm.Chunk) []byte {
	if c.Usage != nil {
		u := *c.Usage
		e.usage = &u
	}
	if e.done || e.finished || (c.Text == "" && c.FinishReason == "") {
		return b
	}
	fin := ""
	if c.FinishReason != "" {
		fin = finish(c.FinishReason)
		e.finished = true
	}
	b = append(b, e.prefix...)
	b = append(b, `"choices":[`...)
	b = appendChoice(b, 0, c.Text, fin)
	b = append(b, ']')
	if e.includeUsage {
		b = append(b, `,"usage":null`...)
	}
	return append(b, "}\n\n"...)
}

// Done appends the usage chunk (when asked for and known) and data: [DONE].
func (e *StreamEncoder) Done(b []byte) []byte {
	if e.done {
		return b
	}
	e.done = true
	if e.includeUsage && e.usage != nil {
		b = append(b, e.prefix...)
		b = append(b, `"choices":[],"usage":`...)
		b = appendUsage(b, e.usage)
		b = append(b, "}\n\n"...)
	}
	return append(b, "data: [DONE]\n\n"...)
}
