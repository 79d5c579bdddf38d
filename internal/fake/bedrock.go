package fake

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Bedrock plays the Amazon Bedrock runtime API as its reference documents
// it: POST /model/{modelId}/converse, /converse-stream (AWS event-stream
// framing, application/vnd.amazon.eventstream) and /invoke (Titan and
// Cohere embedding bodies), with AWS JSON errors (X-Amzn-ErrorType header
// and {"message": ...}).
//
// Every request must carry a SigV4 signature by BedrockAccessKey and
// BedrockSecretKey for service "bedrock" in Region; the fake recomputes it
// with the SDK's v4 signer from the received method, path, query, signed
// headers and body hash, and answers 403 InvalidSignatureException when it
// differs (UnrecognizedClientException for another access key).
//
// Conversations are checked the way Bedrock checks them: they start with a
// user message, user and assistant turns alternate, and toolUse or
// toolResult blocks need a toolConfig.
type Bedrock struct {
	Server *httptest.Server
	// URL is what a bedrock provider's base_url is set to.
	URL    string
	Region string
	Log    Log

	n atomic.Int64
}

// Credentials the Bedrock fake accepts (AWS's documentation example keys).
const (
	BedrockAccessKey = "AKIDEXAMPLEFULCRUM01"
	BedrockSecretKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
)

// NewBedrock starts a fake Bedrock runtime for an AWS region.
func NewBedrock(region string) *Bedrock {
	b := &Bedrock{Region: region}
	b.Server = httptest.NewServer(http.HandlerFunc(b.serve))
	b.URL = b.Server.URL
	return b
}

// Close shuts the server down.
func (b *Bedrock) Close() { b.Server.Close() }

func (b *Bedrock) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	b.Log.Add(Request{Method: r.Method, Path: r.URL.RequestURI(), Header: r.Header.Clone(), Body: body})
	w.Header().Set("X-Amzn-Requestid", fmt.Sprintf("fake-req-%04d", b.n.Add(1)))
	if typ, msg := b.verify(r, body); typ != "" {
		bedrockError(w, http.StatusForbidden, typ, msg)
		return
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	if r.Method != http.MethodPost || len(parts) != 3 || parts[0] != "model" {
		bedrockError(w, http.StatusNotFound, "UnknownOperationException", "")
		return
	}
	model, err := url.PathUnescape(parts[1])
	if err != nil || model == "" {
		bedrockError(w, http.StatusBadRequest, "ValidationException", "The provided model identifier is invalid.")
		return
	}
	switch parts[2] {
	case "converse":
		b.converse(w, r, body, model, false)
	case "converse-stream":
		b.converse(w, r, body, model, true)
	case "invoke":
		b.invoke(w, body, model)
	default:
		bedrockError(w, http.StatusNotFound, "UnknownOperationException", "")
	}
}

// verify recomputes the SigV4 signature. It returns the AWS error type and
// message when the request is not signed correctly.
func (b *Bedrock) verify(r *http.Request, body []byte) (string, string) {
	auth := r.Header.Get("Authorization")
	const algo = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(auth, algo) {
		return "MissingAuthenticationTokenException", "Missing Authentication Token"
	}
	fields := map[string]string{}
	for _, f := range strings.Split(strings.TrimPrefix(auth, algo), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[0] != BedrockAccessKey {
		return "UnrecognizedClientException", "The security token included in the request is invalid."
	}
	if scope[2] != b.Region || scope[3] != "bedrock" || scope[4] != "aws4_request" {
		return "InvalidSignatureException", fmt.Sprintf("Credential should be scoped to a valid region and service 'bedrock' in %s, not '%s/%s'.", b.Region, scope[2], scope[3])
	}
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return "IncompleteSignatureException", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
	}
	if d := time.Since(at); d > 5*time.Minute || d < -5*time.Minute {
		return "InvalidSignatureException", "Signature expired: " + r.Header.Get("X-Amz-Date") + " is now earlier than the allowed time window."
	}
	// Rebuild the request from what was received and sign it again.
	u := *r.URL
	u.Scheme, u.Host = "http", r.Host
	re, _ := http.NewRequestWithContext(context.Background(), r.Method, u.String(), bytes.NewReader(body))
	re.URL = &u
	re.ContentLength = r.ContentLength
	for _, h := range strings.Split(fields["SignedHeaders"], ";") {
		if h != "host" && h != "content-length" {
			re.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	re.Header.Del("Authorization")
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: BedrockAccessKey, SecretAccessKey: BedrockSecretKey, SessionToken: r.Header.Get("X-Amz-Security-Token")}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, re, hex.EncodeToString(sum[:]), "bedrock", b.Region, at); err != nil {
		return "InvalidSignatureException", err.Error()
	}
	if re.Header.Get("Authorization") != auth {
		return "InvalidSignatureException", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	}
	return "", ""
}

type bedrockBlock struct {
	Text             *string `json:"text"`
	ReasoningContent *struct {
		ReasoningText *struct {
			Text      string `json:"text"`
			Signature string `json:"signature"`
		} `json:"reasoningText"`
		RedactedContent string `json:"redactedContent"`
	} `json:"reasoningContent"`
	ToolUse *struct {
		ToolUseID string          `json:"toolUseId"`
		Name      string          `json:"name"`
		Input     json.RawMessage `json:"input"`
	} `json:"toolUse"`
	ToolResult *struct {
		ToolUseID string `json:"toolUseId"`
		Content   []struct {
			Text *string `json:"text"`
		} `json:"content"`
	} `json:"toolResult"`
}

type bedrockConverse struct {
	Messages []struct {
		Role    string         `json:"role"`
		Content []bedrockBlock `json:"content"`
	} `json:"messages"`
	ToolConfig *struct {
		Tools []struct {
			ToolSpec struct {
				Name string `json:"name"`
			} `json:"toolSpec"`
		} `json:"tools"`
	} `json:"toolConfig"`
	InferenceConfig *struct {
		MaxTokens *int `json:"maxTokens"`
	} `json:"inferenceConfig"`
	AdditionalModelRequestFields *struct {
		Thinking *struct {
			Type         string `json:"type"`
			BudgetTokens *int   `json:"budget_tokens"`
		} `json:"thinking"`
		OutputConfig *struct {
			Effort string `json:"effort"`
		} `json:"output_config"`
	} `json:"additionalModelRequestFields"`
	// OutputConfig.TextFormat is structured output, the schema a JSON
	// string (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_OutputFormat.html).
	OutputConfig *struct {
		TextFormat *struct {
			Type      string `json:"type"`
			Structure struct {
				JSONSchema *struct {
					Schema string `json:"schema"`
				} `json:"jsonSchema"`
			} `json:"structure"`
		} `json:"textFormat"`
	} `json:"outputConfig"`
}

// answer is the text of a text answer: SchemaAnswer when
// outputConfig.textFormat asks for a JSON schema.
func (req *bedrockConverse) answer(text string) string {
	if oc := req.OutputConfig; oc != nil && oc.TextFormat != nil && oc.TextFormat.Type == "json_schema" && oc.TextFormat.Structure.JSONSchema != nil {
		return SchemaAnswer(json.RawMessage(oc.TextFormat.Structure.JSONSchema.Schema), text)
	}
	return text
}

// bedrockToolUseID is the constraint on toolUseId (1 to 64 characters),
// https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ToolUseBlock.html.
var bedrockToolUseID = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// check validates a conversation as Bedrock does.
func (req *bedrockConverse) check() string {
	if len(req.Messages) == 0 {
		return "A conversation must start with a user message. Try again with a conversation that starts with a user message."
	}
	calls := map[string]bool{}
	for i, m := range req.Messages {
		if (i%2 == 0) != (m.Role == "user") {
			if i == 0 {
				return "A conversation must start with a user message. Try again with a conversation that starts with a user message."
			}
			return "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again."
		}
		if len(m.Content) == 0 {
			return fmt.Sprintf("The content field in the Message object at messages.%d is empty. Add a ContentBlock object to the content field and try again.", i)
		}
		for j, bl := range m.Content {
			if (bl.ToolUse != nil || bl.ToolResult != nil) && req.ToolConfig == nil {
				return "The toolConfig field must be defined when using toolUse and toolResult content blocks."
			}
			if bl.ToolUse != nil {
				if !bedrockToolUseID.MatchString(bl.ToolUse.ToolUseID) {
					return fmt.Sprintf("1 validation error detected: Value '%s' at 'messages.%d.member.content.%d.member.toolUse.toolUseId' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_-]+", bl.ToolUse.ToolUseID, i+1, j+1)
				}
				calls[bl.ToolUse.ToolUseID] = true
			}
			if bl.ToolResult != nil && !calls[bl.ToolResult.ToolUseID] {
				return fmt.Sprintf("messages.%d: toolResult %q does not match a toolUse in the previous turn.", i, bl.ToolResult.ToolUseID)
			}
		}
	}
	return ""
}

func (b *Bedrock) converse(w http.ResponseWriter, r *http.Request, body []byte, model string, stream bool) {
	var req bedrockConverse
	if err := json.Unmarshal(body, &req); err != nil {
		bedrockError(w, http.StatusBadRequest, "SerializationException", "Could not parse request body into json.")
		return
	}
	if msg := req.check(); msg != "" {
		bedrockError(w, http.StatusBadRequest, "ValidationException", msg)
		return
	}
	thinks, msg := req.thinking(model)
	if msg != "" {
		bedrockError(w, http.StatusBadRequest, "ValidationException", msg)
		return
	}
	last := req.Messages[len(req.Messages)-1]
	var text string
	toolResult := false
	for _, bl := range last.Content {
		switch {
		case bl.ToolResult != nil:
			toolResult, text = true, ""
			for _, c := range bl.ToolResult.Content {
				if c.Text != nil {
					text += *c.Text
				}
			}
		case bl.Text != nil && !toolResult:
			text += *bl.Text
		}
	}
	switch {
	case strings.Contains(text, "[[429]]"):
		bedrockError(w, http.StatusTooManyRequests, "ThrottlingException", "Too many requests, please wait before trying again.")
		return
	case strings.Contains(text, "[[500]]"):
		bedrockError(w, http.StatusInternalServerError, "InternalServerException", "The server encountered an error processing your request.")
		return
	case strings.Contains(text, "[[503]]"):
		bedrockError(w, http.StatusServiceUnavailable, "ServiceUnavailableException", "Bedrock is unable to process your request.")
		return
	case strings.Contains(text, "[[400]]"):
		bedrockError(w, http.StatusBadRequest, "ValidationException", "The maximum tokens you requested exceeds the model limit.")
		return
	case strings.Contains(text, "[[slow]]"):
		select {
		case <-time.After(SlowDelay):
		case <-r.Context().Done():
			return
		}
	}
	id := b.n.Load()
	var blocks []map[string]any
	stop := "end_turn"
	first := ""
	if req.ToolConfig != nil && len(req.ToolConfig.Tools) > 0 {
		first = req.ToolConfig.Tools[0].ToolSpec.Name
	}
	switch {
	case toolResult:
		blocks = []map[string]any{{"text": req.answer("Tool said: " + text)}}
	case wantsCall(text, first):
		stop = "tool_use"
		name, args, _ := ToolCall(text, first)
		blocks = []map[string]any{bedrockToolUse(id, 0, name, args)}
		if strings.Contains(text, "[[parallel]]") {
			blocks = append(blocks, bedrockToolUse(id, 1, name, ToolArgs2))
		}
	default:
		blocks = []map[string]any{{"text": req.answer(Reply(text))}}
	}
	if thinks {
		thought := []map[string]any{{"reasoningContent": map[string]any{"reasoningText": map[string]any{"text": Thought(text), "signature": BedrockSignature}}}}
		if strings.Contains(text, "[[redacted]]") {
			thought = append(thought, map[string]any{"reasoningContent": map[string]any{"redactedContent": BedrockRedacted}})
		}
		blocks = append(thought, blocks...)
	}
	if stream {
		bedrockStream(w, text, blocks, stop)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if strings.Contains(text, "[[malformed]]") {
		_, _ = io.WriteString(w, `{"output": {"message": `)
		return
	}
	out, _ := json.Marshal(map[string]any{
		"output":     map[string]any{"message": map[string]any{"role": "assistant", "content": blocks}},
		"stopReason": stop,
		"usage":      map[string]any{"inputTokens": InputTokens, "outputTokens": OutputTokens, "totalTokens": InputTokens + OutputTokens},
		"metrics":    map[string]any{"latencyMs": 321},
	})
	if strings.Contains(text, "[[cut]]") {
		w.Header().Set("Content-Length", fmt.Sprint(len(out)))
		_, _ = w.Write(out[:len(out)/2])
		return
	}
	_, _ = w.Write(out)
}

// BedrockSignature signs the fake's reasoning; BedrockRedacted is the
// redactedContent (base64, as blobs travel in JSON) it adds for
// "[[redacted]]". Reasoning sent back must carry them unchanged.
const (
	BedrockSignature = "EqoBCkgIARABGAIiQGZha2UtYmVkcm9jay1zaWduYXR1cmU="
	BedrockRedacted  = "ZmFrZS1yZWRhY3RlZC1yZWFzb25pbmc="
)

// thinking checks additionalModelRequestFields.thinking as Claude on
// Bedrock does
// (https://docs.aws.amazon.com/bedrock/latest/userguide/claude-messages-extended-thinking.html):
// only Claude models take it; "enabled" needs budget_tokens of at least
// 1,024 and below maxTokens; "adaptive" (and output_config.effort) only
// Claude 4.6 and later. It reports whether the model thinks, or the
// ValidationException's message. Reasoning sent back is checked whatever
// the request: its signature must be the one the fake gave, and with
// thinking on, an assistant turn that uses a tool must start with its
// reasoning.
func (req *bedrockConverse) thinking(model string) (bool, string) {
	for i, m := range req.Messages {
		for _, bl := range m.Content {
			rc := bl.ReasoningContent
			switch {
			case rc == nil:
			case rc.ReasoningText != nil && rc.ReasoningText.Signature != BedrockSignature:
				return false, fmt.Sprintf("The model returned the following errors: messages.%d.content: Invalid `signature` in `thinking` block", i)
			case rc.ReasoningText == nil && rc.RedactedContent != BedrockRedacted:
				return false, fmt.Sprintf("The model returned the following errors: messages.%d.content: Invalid `data` in `redacted_thinking` block", i)
			}
		}
	}
	f := req.AdditionalModelRequestFields
	if f == nil || f.Thinking == nil {
		return false, ""
	}
	claude := strings.Contains(model, "anthropic.claude")
	adaptive := claude && (strings.Contains(model, "-4-6") || strings.Contains(model, "-4-7"))
	if !claude {
		return false, "The model returned the following errors: Malformed input request: extraneous key [thinking] is not permitted, please reformat your input and try again."
	}
	switch f.Thinking.Type {
	case "enabled":
		b := f.Thinking.BudgetTokens
		switch {
		case b == nil:
			return false, "The model returned the following errors: thinking.enabled.budget_tokens: Field required"
		case *b < 1024:
			return false, "The model returned the following errors: thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
		case req.InferenceConfig == nil || req.InferenceConfig.MaxTokens == nil || *req.InferenceConfig.MaxTokens <= *b:
			return false, "The model returned the following errors: `max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size"
		}
	case "adaptive":
		if !adaptive {
			return false, "The model returned the following errors: thinking.type: adaptive thinking is not supported on this model"
		}
	case "disabled":
		return false, ""
	default:
		return false, "The model returned the following errors: thinking.type: Input tag '" + f.Thinking.Type + "' found using 'type' does not match any of the expected tags: 'adaptive', 'disabled', 'enabled'"
	}
	if f.OutputConfig != nil && !adaptive {
		return false, "The model returned the following errors: output_config.effort: not supported on this model"
	}
	for i := len(req.Messages) - 1; i >= 0; i-- {
		m := req.Messages[i]
		if m.Role != "assistant" {
			continue
		}
		if m.Content[0].ReasoningContent != nil {
			break
		}
		for _, bl := range m.Content {
			if bl.ToolUse != nil {
				return false, fmt.Sprintf("The model returned the following errors: messages.%d.content.0.type: Expected `thinking` or `redacted_thinking`, but found `text`. When `thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). We recommend you include thinking blocks from previous turns.", i)
			}
		}
		break
	}
	return true, ""
}

func bedrockToolUse(id int64, i int, name, args string) map[string]any {
	return map[string]any{"toolUse": map[string]any{
		"toolUseId": fmt.Sprintf("tooluse_fake%04d_%d", id, i), "name": name, "input": json.RawMessage(args),
	}}
}

func (b *Bedrock) invoke(w http.ResponseWriter, body []byte, model string) {
	words := func(s string) int { return len(strings.Fields(s)) }
	switch {
	case strings.Contains(model, "amazon.titan-embed"):
		var req struct {
			InputText  *string `json:"inputText"`
			Dimensions int     `json:"dimensions"`
		}
		if json.Unmarshal(body, &req) != nil || req.InputText == nil {
			bedrockError(w, http.StatusBadRequest, "ValidationException", "Malformed input request: #: required key [inputText] not found, please reformat your input and try again.")
			return
		}
		if strings.Contains(*req.InputText, "[[429]]") {
			bedrockError(w, http.StatusTooManyRequests, "ThrottlingException", "Too many requests, please wait before trying again.")
			return
		}
		n := words(*req.InputText)
		w.Header().Set("X-Amzn-Bedrock-Input-Token-Count", fmt.Sprint(n))
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"embedding": HashVector(*req.InputText, cmp.Or(req.Dimensions, 8)), "inputTextTokenCount": n})
	case strings.Contains(model, "cohere.embed"):
		var req struct {
			Texts     []string `json:"texts"`
			InputType string   `json:"input_type"`
		}
		if json.Unmarshal(body, &req) != nil || len(req.Texts) == 0 || req.InputType == "" {
			bedrockError(w, http.StatusBadRequest, "ValidationException", "Malformed input request: #: required key [input_type] not found, please reformat your input and try again.")
			return
		}
		if len(req.Texts) > 96 {
			bedrockError(w, http.StatusBadRequest, "ValidationException", "Malformed input request: #/texts: expected maximum item count: 96, found: "+fmt.Sprint(len(req.Texts))+", please reformat your input and try again.")
			return
		}
		embs := make([][]float32, len(req.Texts))
		n := 0
		for i, t := range req.Texts {
			embs[i] = HashVector(t, 8)
			n += words(t)
		}
		w.Header().Set("X-Amzn-Bedrock-Input-Token-Count", fmt.Sprint(n))
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"embeddings": embs, "id": "fake-embed", "response_type": "embeddings_floats", "texts": req.Texts})
	default:
		bedrockError(w, http.StatusBadRequest, "ValidationException", "The provided model identifier is invalid.")
	}
}

// bedrockError writes an AWS JSON error.
func bedrockError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", typ+":http://internal.amazon.com/coral/com.amazon.bedrock/")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"message": msg})
	_, _ = w.Write(b)
}
