// Package fake plays upstream providers in tests and benchmarks: httptest
// servers that answer exactly as each provider's API reference shows, for
// normal answers, streams, tool calls, errors, rate limits and cut streams.
//
// Every fake follows one convention, so end-to-end tests can drive any
// provider the same way. The scenario is chosen by the text of the last
// user message (or the last tool result):
//
//   - default: the answer text is Reply(lastUserText), i.e.
//     "Hello! You said: <text>", streamed (when asked) in several chunks
//     split on spaces, with usage reported as the provider reports it
//     (input tokens = InputTokens, output tokens = OutputTokens).
//   - tools: when the request declares tools and the last message is from
//     the user, the answer is one tool call to the first declared tool with
//     arguments ToolArgs ({"location":"Paris","unit":"celsius"}); streamed,
//     the arguments arrive in several pieces. When the text contains
//     "[[parallel]]", two calls (to the first tool, with ToolArgs and
//     ToolArgs2).
//   - "[[call:NAME ARGS]]": a call to NAME with the JSON object ARGS,
//     whatever tools were declared (real coding agents declare dozens; the
//     test names one the agent knows, e.g. Claude Code's Read); "[[plain]]":
//     a text answer although tools were declared. See ToolCall.
//   - system messages: the scenario is read from the last message that is
//     not a system (or developer) message, since agents append those
//     after the user's turn.
//   - tool result: when the last message is a tool result, the answer text
//     is "Tool said: <result text>".
//   - "[[429]]": status 429 with Retry-After: 1 and the provider's rate-limit
//     error body.
//   - "[[500]]": status 500 with the provider's error body; "[[503]]" 503
//     (Anthropic: 529 overloaded).
//   - "[[400]]": status 400 with the provider's invalid-request error body.
//   - "[[slow]]": waits SlowDelay before sending headers.
//   - "[[cut]]": a stream that sends two content chunks and then closes the
//     connection without the terminal event; non-streaming, the body is
//     cut half-way.
//   - "[[malformed]]": 200 with a body that is not valid JSON (and, for
//     streams, a data line that is not valid JSON).
//   - "[[midstream-error]]": a stream that sends one content chunk, then the
//     provider's in-stream error event.
//   - a body over the model's context window (a token counted as four
//     bytes of the request body; AnthropicContextWindow,
//     OpenAIContextWindow) is refused with the provider's context-length
//     error (Anthropic "prompt is too long", OpenAI
//     context_length_exceeded).
//   - a request for structured output is answered with a JSON object
//     valid for its schema (SchemaAnswer).
//   - thinking: the Anthropic fake, asked for a thinking budget, answers
//     with a signed thinking block first (AnthropicSignature; with
//     "[[redacted]]" a redacted_thinking block too) and, as Claude does,
//     refuses a final assistant turn that uses a tool without starting
//     with its thinking; the Bedrock fake does the same for Claude.
//
// Every fake records the requests it received (method, path, headers, body)
// so tests can assert what left the gateway, and checks authentication the
// way the provider does (401 with the provider's error body on a wrong key).
package fake

import (
	"net/http"
	"sync"
	"time"
)

// Fixed values of the convention.
const (
	InputTokens  = 12
	OutputTokens = 7
	ToolArgs     = `{"location":"Paris","unit":"celsius"}`
	ToolArgs2    = `{"location":"London","unit":"celsius"}`
	SlowDelay    = 2 * time.Second
	// APIKey is the key every fake accepts.
	APIKey = "sk-fake-test-key"
)

// The context windows of the fakes' models, in tokens of four bytes of
// request body: Claude's 200k, GPT-4o's 128k.
const (
	AnthropicContextWindow = 200_000
	OpenAIContextWindow    = 128_000
)

// estimateTokens counts a request body as a tokenizer roughly would.
func estimateTokens(body []byte) int { return len(body) / 4 }

// Reply is the default answer to a user text.
func Reply(text string) string { return "Hello! You said: " + text }

// Request is one request a fake received.
type Request struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

// Log records requests; safe for concurrent use.
type Log struct {
	mu   sync.Mutex // guards reqs
	reqs []Request
}

// Add records one request.
func (l *Log) Add(r Request) {
	l.mu.Lock()
	l.reqs = append(l.reqs, r)
	l.mu.Unlock()
}

// All returns a copy of the recorded requests.
func (l *Log) All() []Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Request(nil), l.reqs...)
}

// Reset forgets recorded requests.
func (l *Log) Reset() {
	l.mu.Lock()
	l.reqs = nil
	l.mu.Unlock()
}
