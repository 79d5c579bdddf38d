package gateway

import (
	"net/http"
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/api/completions"
	"github.com/fulcrumhq/fulcrum/internal/api/openai"
	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// fmtCompletions is OpenAI's legacy Completions API (POST /v1/completions).
// It is passed through to upstreams that serve /completions
// (Capabilities.Completions: vLLM, llama.cpp, Ollama's OpenAI-compatible
// endpoint) and translated to chat for every other target, the prompt
// becoming one user message. Errors, stream errors, the pass-through usage
// tap and the model rewrite are OpenAI's.
var fmtCompletions = &wireFormat{
	name: "completions",
	path: "/completions",
	encode: func(c *chatCall, resp *llm.ChatResponse) ([]byte, error) {
		return completions.EncodeResponse(completionMeta(c, resp.Model, resp.Created), resp), nil
	},
	newStream: func(c *chatCall, id, model string, created int64) streamEncoder {
		return completions.NewStreamEncoder(completionMeta(c, model, created), c.req.IncludeUsage)
	},
	encodeError:     openai.EncodeError,
	streamError:     openai.AppendStreamError,
	setModel:        setModel,
	responseUsage:   openai.ResponseUsage,
	errorMessage:    openai.ErrorMessage,
	newTap:          func(want bool) usageTap { return &openaiTap{want: want} },
	prepareForwared: fmtOpenAI.prepareForwared,
}

// completionMeta names the text_completion object: its id derives from
// the request id, so the record and the client's id match.
func completionMeta(c *chatCall, model string, created int64) *completions.Meta {
	if model == "" {
		model = c.req.Model
	}
	if created == 0 {
		created = c.s.opts.Now().Unix()
	}
	return &completions.Meta{ID: "cmpl-" + strings.TrimPrefix(c.rc.id, "req_"), Model: model, Created: created}
}

// decodeCompletions is the decoder of POST /v1/completions. Policy scans
// the body as every endpoint's (token-id prompts decoded as embeddings'
// are); limits reserve for the prompt with the API's default max_tokens
// when the client set none.
func decodeCompletions(r *http.Request, rc *reqCtx, body []byte) (*intake, error) {
	req, err := completions.DecodeRequest(body)
	if err != nil {
		return nil, err
	}
	chat := req.Translated()
	return &intake{model: chat.Model, stream: chat.Stream, chat: chat, tokens: req.Tokens, completions: req}, nil
}

// completionsTranslatable refuses, on a target reached through chat, what
// only a model served on a completions endpoint can do.
func completionsTranslatable(r *completions.Request, t *Target) error {
	if r.Native == "" {
		return nil
	}
	name := t.Provider.Info().Name
	e := llm.Unsupported(name, r.Native)
	if t.Provider.Info().Caps.Completions {
		// The target serves /completions, but policy redacted the
		// request: a redacted request takes the canonical path, so that
		// the answer can be restored.
		e.Message = "parameter " + quote(r.Native) + " cannot be honoured: policy redacted this request, and a redacted request to provider " +
			quote(name) + " is translated to chat (so that its answer can be restored), where " + r.NativeWhy
		return e
	}
	e.Message = "parameter " + quote(r.Native) + " is not supported by provider " + quote(name) +
		": it is reached through translation to chat, and " + r.NativeWhy +
		" (configure the provider with completions: true if it serves /v1/completions)"
	return e
}
