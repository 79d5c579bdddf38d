package fake

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// FIMReply is the fake's answer to a fill-in-the-middle request (a
// completions request with a suffix): it names both sides, so a test sees
// the suffix arrived.
func FIMReply(prompt, suffix string) string {
	return "filled between " + strconv.Quote(prompt) + " and " + strconv.Quote(suffix)
}

// completionsRequest is the part of a legacy completions request the fake
// reads (https://platform.openai.com/docs/api-reference/completions/create).
type completionsRequest struct {
	Model         string          `json:"model"`
	Prompt        json.RawMessage `json:"prompt"`
	Suffix        *string         `json:"suffix"`
	N             int             `json:"n"`
	Echo          bool            `json:"echo"`
	Logprobs      *int            `json:"logprobs"`
	Stream        bool            `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

// Wire shapes of a text_completion, in OpenAI's field order.
type (
	oaiTextChoice struct {
		Text         string       `json:"text"`
		Index        int          `json:"index"`
		Logprobs     *oaiLogprobs `json:"logprobs"`
		FinishReason *string      `json:"finish_reason"`
	}
	oaiLogprobs struct {
		Tokens        []string             `json:"tokens"`
		TokenLogprobs []float64            `json:"token_logprobs"`
		TopLogprobs   []map[string]float64 `json:"top_logprobs"`
		TextOffset    []int                `json:"text_offset"`
	}
	oaiText struct {
		ID                string          `json:"id"`
		Object            string          `json:"object"`
		Created           int64           `json:"created"`
		Model             string          `json:"model"`
		Choices           []oaiTextChoice `json:"choices"`
		Usage             any             `json:"usage,omitempty"`
		SystemFingerprint string          `json:"system_fingerprint,omitempty"`
	}
)

// completions answers POST /v1/completions. Each prompt (a string, an
// array of strings, of token ids or of token-id arrays) gets n choices:
// Reply(prompt), or FIMReply(prompt, suffix) when the request has a
// suffix, preceded by the prompt with echo; logprobs, when asked, gives
// each word of the text a log probability of -0.5. Token-id prompts are
// answered as the text "tokens:N".
func (f *OpenAI) completions(w http.ResponseWriter, r *http.Request, body []byte, n int64) {
	var req completionsRequest
	if err := json.Unmarshal(body, &req); err != nil {
		openaiParseError(w)
		return
	}
	switch {
	case req.Model == "":
		openaiError(w, http.StatusBadRequest, "you must provide a model parameter", "invalid_request_error", "", "")
		return
	case len(req.Prompt) == 0 || string(req.Prompt) == "null":
		openaiError(w, http.StatusBadRequest, "Missing required parameter: 'prompt'.", "invalid_request_error", "prompt", "missing_required_parameter")
		return
	case req.StreamOptions != nil && !req.Stream:
		openaiError(w, http.StatusBadRequest, "The 'stream_options' parameter is only allowed when 'stream' is enabled.", "invalid_request_error", "stream_options", "invalid_value")
		return
	}
	prompts := completionPrompts(req.Prompt)
	if prompts == nil {
		openaiError(w, http.StatusBadRequest, "Invalid type for 'prompt': expected a string, an array of strings, an array of tokens or an array of token arrays.", "invalid_request_error", "prompt", "invalid_type")
		return
	}
	if openaiScenario(w, r, prompts[0], req.Model) {
		return
	}
	id := "cmpl-fake" + strconv.FormatInt(n, 10)
	stop := "stop"
	var choices []oaiTextChoice
	for _, p := range prompts {
		answer := Reply(p)
		if req.Suffix != nil && *req.Suffix != "" {
			answer = FIMReply(p, *req.Suffix)
		}
		if req.Echo {
			answer = p + answer
		}
		for range max(req.N, 1) {
			c := oaiTextChoice{Text: answer, Index: len(choices), FinishReason: &stop}
			if req.Logprobs != nil {
				c.Logprobs = fakeLogprobs(answer)
			}
			choices = append(choices, c)
		}
	}
	if req.Stream {
		f.completionsStream(w, &req, id, prompts[0], choices)
		return
	}
	resp := oaiText{ID: id, Object: "text_completion", Created: OpenAICreated, Model: req.Model, Choices: choices,
		Usage: fakeUsage(), SystemFingerprint: "fp_fake"}
	b, _ := json.Marshal(resp)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// completionsStream writes the choices as text_completion chunks: the
// text word by word, then a chunk with empty text and the finish reason,
// then (with stream_options.include_usage) a chunk with "choices": [] and
// the usage, then data: [DONE].
func (f *OpenAI) completionsStream(w http.ResponseWriter, req *completionsRequest, id, text string, choices []oaiTextChoice) {
	includeUsage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fl := w.(http.Flusher)
	send := func(c oaiTextChoice) {
		ch := oaiText{ID: id, Object: "text_completion", Created: OpenAICreated, Model: req.Model, Choices: []oaiTextChoice{c}}
		if includeUsage {
			ch.Usage = nullUsage{}
		}
		b, _ := json.Marshal(ch)
		_, _ = w.Write(append(append([]byte("data: "), b...), '\n', '\n'))
		fl.Flush()
	}
	for _, c := range choices {
		pieces := openaiSplitWords(c.Text)
		if strings.Contains(text, "[[cut]]") {
			for _, p := range pieces[:min(2, len(pieces))] {
				send(oaiTextChoice{Text: p, Index: c.Index})
			}
			panic(http.ErrAbortHandler) // close the connection without [DONE]
		}
		for _, p := range pieces {
			d := oaiTextChoice{Text: p, Index: c.Index}
			if c.Logprobs != nil {
				d.Logprobs = fakeLogprobs(p)
			}
			send(d)
		}
		send(oaiTextChoice{Text: "", Index: c.Index, FinishReason: c.FinishReason})
	}
	if includeUsage {
		b, _ := json.Marshal(oaiText{ID: id, Object: "text_completion", Created: OpenAICreated, Model: req.Model,
			Choices: []oaiTextChoice{}, Usage: fakeUsage()})
		_, _ = w.Write([]byte("data: " + string(b) + "\n\n"))
	}
	_, _ = w.Write([]byte("data: [DONE]\n\n"))
	fl.Flush()
}

// completionPrompts reads the prompt's texts (nil when it has none).
func completionPrompts(raw json.RawMessage) []string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil && len(list) > 0 {
		return list
	}
	var toks []int
	if json.Unmarshal(raw, &toks) == nil && len(toks) > 0 {
		return []string{"tokens:" + strconv.Itoa(len(toks))}
	}
	var arrays [][]int
	if json.Unmarshal(raw, &arrays) == nil && len(arrays) > 0 {
		out := make([]string, len(arrays))
		for i, a := range arrays {
			out[i] = "tokens:" + strconv.Itoa(len(a))
		}
		return out
	}
	return nil
}

// fakeLogprobs gives each word of text a log probability of -0.5.
func fakeLogprobs(text string) *oaiLogprobs {
	lp := &oaiLogprobs{Tokens: []string{}, TokenLogprobs: []float64{}, TopLogprobs: []map[string]float64{}, TextOffset: []int{}}
	off := 0
	for _, w := range openaiSplitWords(text) {
		lp.Tokens = append(lp.Tokens, w)
		lp.TokenLogprobs = append(lp.TokenLogprobs, -0.5)
		lp.TopLogprobs = append(lp.TopLogprobs, map[string]float64{w: -0.5})
		lp.TextOffset = append(lp.TextOffset, off)
		off += len(w)
	}
	return lp
}
