// Package responses is the OpenAI Responses API wire format
// (POST /v1/responses): it decodes a client's request into the canonical
// chat request, encodes a canonical answer as a Response object, and turns
// a canonical chunk stream into the Responses event stream. It is pure: no
// I/O, no gateway state. The pass-through helpers read usage from bodies
// and events an OpenAI upstream sends back unchanged.
package responses

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// NamespaceSep joins a namespace tool's namespace and function name into
// the one flat name a chat-completions target sees ("ns__fn").
const NamespaceSep = "__"

// Request is a decoded Responses API request.
type Request struct {
	// Chat is the canonical request the target is asked.
	Chat *llm.ChatRequest
	// Raw fields echoed in the Response object.
	Instructions       string
	PreviousResponseID string
	Store              bool
	Include            []string
	Metadata           json.RawMessage
	Tools              json.RawMessage
	ToolChoice         json.RawMessage
	Text               json.RawMessage
	Reasoning          json.RawMessage
	MaxOutputTokens    *int
	// Namespaced maps a flattened tool name to its namespace and name.
	Namespaced map[string][2]string
	// Hosted lists the hosted tools the request declares (web_search,
	// file_search, ...), which only OpenAI itself can run. On a translated
	// target they are not offered to the model (it could never call them);
	// the gateway says so in a response header.
	Hosted []string
	// NeedsStore names the first field that only an upstream keeping
	// responses can honour (previous_response_id, conversation,
	// item_reference inputs, background), for a clear 400 elsewhere.
	NeedsStore string
	// Encrypted is true when the client asked for reasoning as
	// encrypted_content (include: ["reasoning.encrypted_content"]).
	Encrypted bool
	// TruncateAuto is truncation "auto": when the input is over the
	// target's context window, items are dropped from the start of the
	// conversation rather than the request failing (the gateway does it
	// for translated targets, on the upstream's context-length error).
	TruncateAuto bool
	// Conversation is the id of the conversation parameter (a string or
	// {"id": ...}): OpenAI prepends that conversation's items to input
	// (https://platform.openai.com/docs/api-reference/responses/create).
	Conversation string
	// Refs are the input items that carry an id, in input order. OpenAI
	// resolves an item's id against the items it stored: an
	// item_reference ({"type":"item_reference","id":...}, the type may be
	// left out) is replaced by the stored item, and a reasoning item
	// given by id without its encrypted_content is read from the store
	// ("Item with id 'rs_...' not found" otherwise). An id is therefore a
	// reference to upstream state whatever else its item carries.
	Refs []ItemRef
	// Unsigned are the reasoning items of input given by id without
	// their encrypted_content, as the OpenAI Agents SDK sends them back
	// when it did not ask for it: OpenAI reads such an item's encrypted
	// content from its store, and a gateway keeping responses must too,
	// or a Claude target loses the signature of its thinking.
	Unsigned []Unsigned

	// upstreamTools are the declared tools only an upstream serving the
	// Responses API can run (custom, local_shell, ...), for allowed_tools.
	upstreamTools []upstreamTool
}

// Unsigned is a reasoning item given by id without encrypted_content:
// its index in input and its id.
type Unsigned struct {
	Index int
	ID    string
}

// ItemRef is an id naming upstream state and the param naming it
// ("input[3].id"): an input item's id, an mcp_approval_response's
// approval_request_id, or a code_interpreter container's id (Container).
type ItemRef struct {
	Param, ID string
	Container bool
}

// upstreamTool is a declared tool that Chat.Unsupported names by path.
type upstreamTool struct {
	path, typ, name string
}

type wireRequest struct {
	Model              string          `json:"model"`
	Input              json.RawMessage `json:"input"`
	Instructions       json.RawMessage `json:"instructions"`
	Tools              json.RawMessage `json:"tools"`
	ToolChoice         json.RawMessage `json:"tool_choice"`
	ParallelToolCalls  *bool           `json:"parallel_tool_calls"`
	Text               json.RawMessage `json:"text"`
	Reasoning          json.RawMessage `json:"reasoning"`
	Store              *bool           `json:"store"`
	PreviousResponseID *string         `json:"previous_response_id"`
	Include            []string        `json:"include"`
	MaxOutputTokens    *int            `json:"max_output_tokens"`
	Temperature        *float64        `json:"temperature"`
	TopP               *float64        `json:"top_p"`
	Stream             bool            `json:"stream"`
	Metadata           json.RawMessage `json:"metadata"`
	User               string          `json:"user"`
	SafetyIdentifier   string          `json:"safety_identifier"`
	Background         *bool           `json:"background"`
	Conversation       json.RawMessage `json:"conversation"`
	Prompt             json.RawMessage `json:"prompt"`
	MaxToolCalls       *int            `json:"max_tool_calls"`
	TopLogprobs        *int            `json:"top_logprobs"`
	Truncation         string          `json:"truncation"`
	ServiceTier        json.RawMessage `json:"service_tier"`
	Moderation         json.RawMessage `json:"moderation"`
	ContextManagement  json.RawMessage `json:"context_management"`
}

// DecodeRequest decodes a POST /v1/responses body. Failures are 400
// *llm.Error values in OpenAI's shape, with Param naming the field.
func DecodeRequest(body []byte) (*Request, error) {
	var w wireRequest
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, jsonError(body, err)
	}
	if w.Model == "" {
		return nil, missing("model")
	}
	if isNull(w.Input) {
		return nil, missing("input")
	}
	chat := &llm.ChatRequest{
		Model:             w.Model,
		ParallelToolCalls: w.ParallelToolCalls,
		Temperature:       w.Temperature,
		TopP:              w.TopP,
		Stream:            w.Stream,
		IncludeUsage:      true,
		User:              w.User,
		MaxTokens:         w.MaxOutputTokens,
	}
	if chat.User == "" {
		chat.User = w.SafetyIdentifier
	}
	r := &Request{Chat: chat, Store: w.Store == nil || *w.Store, Include: w.Include, Metadata: w.Metadata,
		Tools: w.Tools, ToolChoice: w.ToolChoice, Text: w.Text, Reasoning: w.Reasoning, MaxOutputTokens: w.MaxOutputTokens}
	if w.MaxOutputTokens != nil && *w.MaxOutputTokens < 16 {
		return nil, invalid("max_output_tokens", fmt.Sprintf("Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but got %d instead.", *w.MaxOutputTokens))
	}
	for i, inc := range w.Include {
		switch inc {
		case "reasoning.encrypted_content":
			r.Encrypted = true
		case "message.output_text.logprobs":
			// Log probabilities no translated answer carries.
			untranslatable(chat, "include["+strconv.Itoa(i)+"]")
		}
	}
	switch {
	case w.PreviousResponseID != nil && *w.PreviousResponseID != "":
		r.PreviousResponseID, r.NeedsStore = *w.PreviousResponseID, "previous_response_id"
	case !isNull(w.Conversation):
		r.NeedsStore = "conversation"
		r.Conversation = conversationID(w.Conversation)
	case w.Background != nil && *w.Background:
		r.NeedsStore = "background"
	case !isNull(w.Prompt):
		r.NeedsStore = "prompt"
	}
	if w.MaxToolCalls != nil {
		chat.Unsupported = append(chat.Unsupported, "max_tool_calls")
	}
	if w.TopLogprobs != nil && *w.TopLogprobs > 0 {
		chat.Unsupported = append(chat.Unsupported, "top_logprobs")
	}
	// truncation "auto" is honoured on every target: passed through to
	// OpenAI, applied by the gateway for translated ones (TruncateAuto).
	r.TruncateAuto = w.Truncation == "auto"
	if !isNull(w.Moderation) {
		// OpenAI scores or blocks input and output with its moderation
		// model: a guarantee no other API gives.
		chat.Unsupported = append(chat.Unsupported, "moderation")
	}
	if !isNull(w.ContextManagement) && string(bytes.TrimSpace(w.ContextManagement)) != "[]" {
		// Server-side compaction past a token threshold: like
		// truncation "auto", a change of the context only OpenAI makes.
		chat.Unsupported = append(chat.Unsupported, "context_management")
	}
	if !isNull(w.ServiceTier) {
		// "auto" and "default" every target can honour: the Anthropic and
		// OpenAI encoders map them from Extra (the anthropic and openai
		// packages' ExtraServiceTier); "flex" and "priority" only OpenAI
		// has.
		if t := string(w.ServiceTier); t == `"auto"` || t == `"default"` {
			setExtra(chat, "service_tier", w.ServiceTier)
		} else {
			chat.Unsupported = append(chat.Unsupported, "service_tier")
		}
	}

	if !isNull(w.Instructions) {
		if err := json.Unmarshal(w.Instructions, &r.Instructions); err != nil {
			return nil, invalid("instructions", "Invalid type for 'instructions': expected a string.")
		}
		if r.Instructions != "" {
			chat.Messages = append(chat.Messages, llm.TextMessage(llm.RoleSystem, r.Instructions))
		}
	}
	if err := decodeInput(w.Input, r); err != nil {
		return nil, err
	}
	if err := decodeTools(w.Tools, r); err != nil {
		return nil, err
	}
	if err := decodeToolChoice(w.ToolChoice, r); err != nil {
		return nil, err
	}
	if err := decodeText(w.Text, chat); err != nil {
		return nil, err
	}
	if err := decodeReasoning(w.Reasoning, chat); err != nil {
		return nil, err
	}
	return r, nil
}

// conversationID is the id of a conversation parameter: a string, or an
// object with an id ("?" when it names none, so that it is never empty).
func conversationID(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil && s != "" {
		return s
	}
	var o struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(raw, &o) == nil && o.ID != "" {
		return o.ID
	}
	return "?"
}

func setExtra(chat *llm.ChatRequest, name string, raw json.RawMessage) {
	if chat.Extra == nil {
		chat.Extra = map[string]json.RawMessage{}
	}
	chat.Extra[name] = raw
}

// jsonError is the 400 for a body encoding/json refused, in OpenAI's words:
// invalid JSON, a body that is not an object, or a field of the wrong type
// named in param (never Go's type names).
func jsonError(body []byte, err error) *llm.Error {
	var te *json.UnmarshalTypeError
	switch {
	case !json.Valid(body):
		e := llm.Errorf("", "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)")
		e.Err = err
		return e
	case errors.As(err, &te) && te.Field != "":
		e := llm.Errorf(te.Field, "Invalid type for '%s': expected %s, but got %s instead.", te.Field, jsonWant(te.Type.Kind()), jsonGot(te.Value))
		e.Code, e.Err = "invalid_type", err
		return e
	}
	e := llm.Errorf("", "Invalid request body: expected a JSON object.")
	e.Err = err
	return e
}

// jsonWant names the JSON type a Go kind decodes from.
func jsonWant(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int64:
		return "an integer"
	case reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice:
		return "an array"
	}
	return "an object"
}

// jsonGot names the JSON type encoding/json found ("number 1.5" is a
// number that did not fit an integer).
func jsonGot(v string) string {
	v, _, _ = strings.Cut(v, " ")
	switch v {
	case "bool":
		return "a boolean"
	case "array", "object":
		return "an " + v
	}
	return "a " + v
}

func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

func missing(param string) *llm.Error {
	e := llm.Errorf(param, "Missing required parameter: '%s'.", param)
	e.Code = "missing_required_parameter"
	return e
}

func invalid(param, msg string) *llm.Error {
	e := llm.Errorf(param, "%s", msg)
	e.Code = "invalid_value"
	return e
}

// inputItem is one element of input: a message (type may be omitted), a
// function call, a function call's output or a reasoning item.
type inputItem struct {
	Type             string          `json:"type"`
	ID               string          `json:"id"`
	Role             string          `json:"role"`
	Content          json.RawMessage `json:"content"`
	CallID           string          `json:"call_id"`
	Name             string          `json:"name"`
	Namespace        string          `json:"namespace"`
	Arguments        string          `json:"arguments"`
	Output           json.RawMessage `json:"output"`
	Summary          []textPart      `json:"summary"`
	EncryptedContent string          `json:"encrypted_content"`
	// ApprovalRequestID (mcp_approval_response) and ContainerID
	// (code_interpreter_call) name upstream state too (Request.Refs).
	ApprovalRequestID string `json:"approval_request_id"`
	ContainerID       string `json:"container_id"`
}

type textPart struct {
	Type     string          `json:"type"`
	Text     string          `json:"text"`
	Refusal  string          `json:"refusal"`
	ImageURL string          `json:"image_url"`
	FileID   string          `json:"file_id"`
	Detail   string          `json:"detail"`
	FileData json.RawMessage `json:"file_data"`
}

func decodeInput(raw json.RawMessage, r *Request) *llm.Error {
	chat := r.Chat
	var s string
	if json.Unmarshal(raw, &s) == nil {
		chat.Messages = append(chat.Messages, llm.TextMessage(llm.RoleUser, s))
		return nil
	}
	var items []inputItem
	if err := json.Unmarshal(raw, &items); err != nil {
		return invalid("input", "Invalid 'input': expected a string or an array of input items.")
	}
	// Reasoning and function calls join the assistant turn they belong to.
	var pending []llm.Thought
	assistant := func() *llm.Message {
		n := len(chat.Messages)
		if n > 0 && chat.Messages[n-1].Role == llm.RoleAssistant {
			return &chat.Messages[n-1]
		}
		chat.Messages = append(chat.Messages, llm.Message{Role: llm.RoleAssistant})
		return &chat.Messages[n]
	}
	for i := range items {
		it := &items[i]
		p := "input[" + strconv.Itoa(i) + "]"
		if it.ID != "" {
			r.Refs = append(r.Refs, ItemRef{Param: p + ".id", ID: it.ID})
		}
		if it.ApprovalRequestID != "" {
			// The mcp_approval_request item it answers, resolved from the
			// store like any item id.
			r.Refs = append(r.Refs, ItemRef{Param: p + ".approval_request_id", ID: it.ApprovalRequestID})
		}
		if it.ContainerID != "" {
			// A code_interpreter_call given back names its container.
			r.Refs = append(r.Refs, ItemRef{Param: p + ".container_id", ID: it.ContainerID, Container: true})
		}
		typ := it.Type
		if typ == "" && it.Role == "" && it.ID != "" && isNull(it.Content) {
			// An item given by its id alone: an item_reference, whose
			// type OpenAI lets the client leave out.
			typ = "item_reference"
		}
		switch typ {
		case "message", "":
			m, err := decodeMessage(chat, it, p)
			if err != nil {
				return err
			}
			if m.Role == llm.RoleAssistant {
				a := assistant()
				a.Content = append(a.Content, m.Content...)
				if len(pending) > 0 {
					a.Thoughts = append(a.Thoughts, pending...)
					pending = nil
				}
				continue
			}
			chat.Messages = append(chat.Messages, m)
		case "function_call":
			if it.CallID == "" {
				return missing(p + ".call_id")
			}
			if it.Name == "" {
				return missing(p + ".name")
			}
			name := it.Name
			if it.Namespace != "" {
				name = it.Namespace + NamespaceSep + it.Name
			}
			a := assistant()
			if len(pending) > 0 {
				a.Thoughts = append(a.Thoughts, pending...)
				pending = nil
			}
			a.ToolCalls = append(a.ToolCalls, llm.ToolCall{ID: it.CallID, Name: name, Arguments: it.Arguments})
		case "function_call_output":
			if it.CallID == "" {
				return missing(p + ".call_id")
			}
			m := llm.Message{Role: llm.RoleTool, ToolCallID: it.CallID}
			if err := decodeOutput(chat, it.Output, p+".output", &m); err != nil {
				return err
			}
			chat.Messages = append(chat.Messages, m)
		case "reasoning":
			var t llm.Thought
			for _, s := range it.Summary {
				t.Text += s.Text
			}
			var content []textPart
			if !isNull(it.Content) && json.Unmarshal(it.Content, &content) == nil && len(content) > 0 {
				t.Text = ""
				for _, c := range content {
					t.Text += c.Text
				}
			}
			t.Signature = it.EncryptedContent
			if t.Signature == "" && it.ID != "" {
				r.Unsigned = append(r.Unsigned, Unsigned{Index: i, ID: it.ID})
			}
			pending = append(pending, t)
		case "item_reference":
			if r.NeedsStore == "" {
				r.NeedsStore = p
			}
		default:
			// custom_tool_call(_output), local_shell_call(_output),
			// hosted-tool calls, compaction, and item types newer than
			// Fulcrum: only an upstream serving the Responses API can
			// take them.
			untranslatable(chat, p+".type")
		}
	}
	if len(items) == 0 {
		return invalid("input", "Invalid 'input': empty array. Expected an array with minimum length 1, but got an empty array instead.")
	}
	return nil
}

// untranslatable notes a field or item that only an upstream serving the
// Responses API itself can honour (custom tools and their calls, audio and
// file inputs, allowed_tools, ...). Pass-through forwards it unchanged, as
// OpenAI documents it; every translated target refuses the request with a
// 400 unsupported_parameter naming param (llm.ChatRequest.Unsupported),
// so nothing is silently dropped.
func untranslatable(chat *llm.ChatRequest, param string) {
	if !slices.Contains(chat.Unsupported, param) {
		chat.Unsupported = append(chat.Unsupported, param)
	}
}

func decodeMessage(chat *llm.ChatRequest, it *inputItem, p string) (llm.Message, *llm.Error) {
	var m llm.Message
	switch it.Role {
	case "user":
		m.Role = llm.RoleUser
	case "assistant":
		m.Role = llm.RoleAssistant
	case "system", "developer":
		m.Role = llm.RoleSystem
	case "":
		return m, missing(p + ".role")
	default:
		return m, invalid(p+".role", fmt.Sprintf("Invalid value: '%s'. Supported values are: 'user', 'assistant', 'system', and 'developer'.", it.Role))
	}
	var s string
	if json.Unmarshal(it.Content, &s) == nil {
		m.Content = []llm.Part{{Type: llm.PartText, Text: s}}
		return m, nil
	}
	var parts []textPart
	if err := json.Unmarshal(it.Content, &parts); err != nil {
		return m, invalid(p+".content", "Invalid 'content': expected a string or an array of content parts.")
	}
	for j := range parts {
		part, ok, err := decodePart(chat, &parts[j], p+".content["+strconv.Itoa(j)+"]")
		if err != nil {
			return m, err
		}
		if ok {
			m.Content = append(m.Content, part)
		}
	}
	return m, nil
}

// decodePart reads one content part; ok is false for a part only an
// upstream serving the Responses API can take (see untranslatable).
func decodePart(chat *llm.ChatRequest, c *textPart, p string) (part llm.Part, ok bool, err *llm.Error) {
	switch c.Type {
	case "input_text", "output_text", "text":
		return llm.Part{Type: llm.PartText, Text: c.Text}, true, nil
	case "refusal":
		return llm.Part{Type: llm.PartText, Text: c.Refusal}, true, nil
	case "input_image":
		if c.ImageURL == "" {
			if c.FileID != "" {
				// A file OpenAI holds: no other API can read it.
				untranslatable(chat, p+".file_id")
				return llm.Part{}, false, nil
			}
			return llm.Part{}, false, missing(p + ".image_url")
		}
		img := &llm.Image{URL: c.ImageURL, Detail: c.Detail}
		if rest, ok := strings.CutPrefix(c.ImageURL, "data:"); ok {
			mt, data, ok := strings.Cut(rest, ";base64,")
			if !ok {
				return llm.Part{}, false, invalid(p+".image_url", "Invalid 'image_url': a data URL must be base64-encoded.")
			}
			img = &llm.Image{MediaType: mt, Data: data, Detail: c.Detail}
		}
		return llm.Part{Type: llm.PartImage, Image: img}, true, nil
	case "":
		return llm.Part{}, false, missing(p + ".type")
	default:
		// input_file, input_audio, and part types newer than Fulcrum.
		untranslatable(chat, p+".type")
		return llm.Part{}, false, nil
	}
}

// decodeOutput reads a function_call_output's output: a string or a list
// of input_text / input_image parts.
func decodeOutput(chat *llm.ChatRequest, raw json.RawMessage, p string, m *llm.Message) *llm.Error {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		m.Content = []llm.Part{{Type: llm.PartText, Text: s}}
		return nil
	}
	var parts []textPart
	if err := json.Unmarshal(raw, &parts); err != nil {
		return invalid(p, "Invalid 'output': expected a string or an array of content parts.")
	}
	for j := range parts {
		part, ok, err := decodePart(chat, &parts[j], p+"["+strconv.Itoa(j)+"]")
		if err != nil {
			return err
		}
		if ok {
			m.Content = append(m.Content, part)
		}
	}
	return nil
}
