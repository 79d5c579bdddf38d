// Package replay is a provider that answers from recorded real model
// outputs instead of calling a model: the GSM8K answers of GPT-4 and
// Mixtral-8x7B are embedded (file "builtin:gsm8k"), and any CSV or JSON-lines
// recording can be configured. It lets routing, policies, metering, eval and
// advice be tried and tested offline on real answers.
//
// A request is answered with the recorded answer to its last user message,
// matched after normalisation (see Normalize); an unknown prompt gets a 404
// "no recorded answer for this prompt", never an invented answer. Usage is
// counted with the cl100k_base tokenizer and marked Estimated.
//
// See docs/eval.md for the recording formats.
package replay

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/policy"
	"github.com/fulcrumhq/fulcrum/internal/provider"
)

const providerType = "replay"

// Client answers from a recording. It is safe for concurrent use.
type Client struct {
	info  provider.Info
	rec   *Recording
	model string // fixed recorded model; empty: the request's model
	now   func() time.Time
	newID func() string
	// chunkBytes is the approximate size of streamed text pieces.
	chunkBytes int
}

var _ provider.Provider = (*Client)(nil)

// Option configures a Client.
type Option func(*Client)

// WithClock sets the clock used for ChatResponse.Created. Default time.Now.
func WithClock(now func() time.Time) Option { return func(c *Client) { c.now = now } }

// WithIDs sets the response ID generator. Default: "chatcmpl-replay-" and
// 24 random hex digits.
func WithIDs(newID func() string) Option { return func(c *Client) { c.newID = newID } }

// WithRecording uses an already loaded recording instead of reading
// cfg.Replay.File (several providers can share one).
func WithRecording(r *Recording) Option { return func(c *Client) { c.rec = r } }

// New builds a replay provider. cfg.Replay.File is BuiltinGSM8K or a path
// to a CSV or JSONL recording; cfg.Replay.Model names the recorded model to
// answer as. When Model is empty the request's (upstream) model name picks
// the recorded model. Hosting defaults to self_hosted.
func New(cfg config.Provider, opts ...Option) (*Client, error) {
	c := &Client{
		info: provider.Info{
			Name:      cfg.Name,
			Type:      providerType,
			Hosting:   provider.Hosting(cfg.Hosting),
			Region:    cfg.Region,
			Retention: cfg.Retention,
		},
		now:        time.Now,
		newID:      randomID,
		chunkBytes: 16,
	}
	if c.info.Hosting == "" {
		c.info.Hosting = provider.SelfHosted
	}
	for _, o := range opts {
		o(c)
	}
	if cfg.Replay != nil {
		c.model = cfg.Replay.Model
	}
	if c.rec == nil {
		if cfg.Replay == nil || cfg.Replay.File == "" {
			return nil, fmt.Errorf("replay: provider %q: replay.file is required", cfg.Name)
		}
		rec, err := Load(cfg.Replay.File)
		if err != nil {
			return nil, fmt.Errorf("replay: provider %q: %w", cfg.Name, err)
		}
		c.rec = rec
	}
	if c.model != "" && c.rec.Len(c.model) == 0 {
		return nil, fmt.Errorf("replay: provider %q: model %q is not in the recording (have %s)",
			cfg.Name, c.model, strings.Join(c.rec.Models(), ", "))
	}
	return c, nil
}

// Info describes the provider.
func (c *Client) Info() *provider.Info { return &c.info }

// Recording returns the recording the client answers from.
func (c *Client) Recording() *Recording { return c.rec }

// answer finds the recorded answer for req and applies max_tokens and stop
// sequences to it, as a model would.
func (c *Client) answer(req *llm.ChatRequest) (text, finish string, usage *llm.Usage, err error) {
	if req.N > 1 {
		return "", "", nil, llm.Unsupported(c.info.Name, "n")
	}
	if err := req.Untranslated(c.info.Name); err != nil {
		return "", "", nil, err
	}
	model := c.model
	if model == "" {
		model = req.Model
		if c.rec.Len(model) == 0 {
			return "", "", nil, &llm.Error{
				Status: http.StatusNotFound, Type: llm.ErrNotFound, Code: "model_not_found", Param: "model",
				Provider: c.info.Name,
				Message:  fmt.Sprintf("replay provider %q has no recording for model %q", c.info.Name, model),
			}
		}
	}
	prompt, ok := lastUserText(req.Messages)
	if !ok {
		return "", "", nil, llm.Errorf("messages", "replay provider %q needs a user message to look up", c.info.Name)
	}
	text, ok = c.rec.Lookup(model, prompt)
	if !ok {
		return "", "", nil, &llm.Error{
			Status: http.StatusNotFound, Type: llm.ErrNotFound, Code: "no_recorded_answer", Param: "messages",
			Provider: c.info.Name,
			Message:  fmt.Sprintf("no recorded answer for this prompt (replay provider %q, model %q)", c.info.Name, model),
		}
	}
	finish = llm.FinishStop
	for _, s := range req.Stop {
		if i := strings.Index(text, s); s != "" && i >= 0 {
			text = text[:i]
		}
	}
	if req.MaxTokens != nil && *req.MaxTokens > 0 {
		if cut, did := truncateTokens(text, *req.MaxTokens); did {
			text, finish = cut, llm.FinishLength
		}
	}
	usage = &llm.Usage{InputTokens: inputTokens(req.Messages), OutputTokens: countTokens(text), Estimated: true}
	return text, finish, usage, nil
}

// lastUserText is the text of the last user message.
func lastUserText(msgs []llm.Message) (string, bool) {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == llm.RoleUser {
			return msgs[i].Text(), true
		}
	}
	return "", false
}

// Chat answers with the recorded answer.
func (c *Client) Chat(ctx context.Context, pm policy.Permit, req *llm.ChatRequest) (*llm.ChatResponse, error) {
	if err := pm.Check(c.Info()); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	text, finish, usage, err := c.answer(req)
	if err != nil {
		return nil, err
	}
	return &llm.ChatResponse{
		ID:      c.newID(),
		Model:   req.Model,
		Created: c.now().Unix(),
		Choices: []llm.Choice{{Message: llm.TextMessage(llm.RoleAssistant, text), FinishReason: finish}},
		Usage:   usage,
	}, nil
}

// ChatStream streams the recorded answer in pieces of a few words: a role
// chunk, text chunks, a finish chunk and a usage chunk.
func (c *Client) ChatStream(ctx context.Context, pm policy.Permit, req *llm.ChatRequest) (provider.Stream, error) {
	if err := pm.Check(c.Info()); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	text, finish, usage, err := c.answer(req)
	if err != nil {
		return nil, err
	}
	id := c.newID()
	chunks := make([]llm.Chunk, 0, 3+len(text)/c.chunkBytes+1)
	chunks = append(chunks, llm.Chunk{ID: id, Model: req.Model, Role: llm.RoleAssistant})
	for _, piece := range splitText(text, c.chunkBytes) {
		chunks = append(chunks, llm.Chunk{ID: id, Model: req.Model, Text: piece})
	}
	chunks = append(chunks,
		llm.Chunk{ID: id, Model: req.Model, FinishReason: finish},
		llm.Chunk{ID: id, Model: req.Model, Usage: usage})
	return &stream{chunks: chunks, err: ctx.Err}, nil
}

// Embed is not supported: recordings hold chat answers only.
func (c *Client) Embed(ctx context.Context, pm policy.Permit, req *llm.EmbedRequest) (*llm.EmbedResponse, error) {
	if err := pm.Check(c.Info()); err != nil {
		return nil, err
	}
	return nil, &llm.Error{
		Status: http.StatusBadRequest, Type: llm.ErrInvalidRequest, Code: "unsupported_operation",
		Provider: c.info.Name,
		Message:  fmt.Sprintf("replay provider %q does not support embeddings", c.info.Name),
		Err:      provider.ErrNoEmbeddings,
	}
}

// splitText cuts s into pieces of about size bytes, each ending after a
// space where there is one, so that concatenating them gives s back.
func splitText(s string, size int) []string {
	var out []string
	for len(s) > 0 {
		if len(s) <= size {
			out = append(out, s)
			break
		}
		cut := strings.IndexByte(s[size:], ' ')
		if cut < 0 {
			out = append(out, s)
			break
		}
		cut += size + 1
		out = append(out, s[:cut])
		s = s[cut:]
	}
	return out
}

// stream yields prepared chunks. Not safe for concurrent use.
type stream struct {
	chunks []llm.Chunk
	next   int
	closed bool
	// err reports the request context's cancellation.
	err func() error
}

func (s *stream) Recv() (*llm.Chunk, error) {
	if s.closed || s.next >= len(s.chunks) {
		return nil, io.EOF
	}
	if err := s.err(); err != nil {
		return nil, err
	}
	ch := &s.chunks[s.next]
	s.next++
	return ch, nil
}

func (s *stream) Close() error {
	s.closed = true
	return nil
}

func randomID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "chatcmpl-replay-" + hex.EncodeToString(b[:])
}

// Forward refuses: a replay has no pass-through (Caps.Passthrough is
// empty), so the gateway always translates.
func (c *Client) Forward(ctx context.Context, pm policy.Permit, raw *provider.RawRequest) (*http.Response, error) {
	if err := pm.Check(c.Info()); err != nil {
		return nil, err
	}
	return nil, provider.NoForward(c.Info())
}
