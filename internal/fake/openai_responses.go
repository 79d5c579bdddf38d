package fake

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// The OpenAI fake's POST /v1/responses, as the API reference documents it
// (https://platform.openai.com/docs/api-reference/responses): a Response
// object, or with stream: true the event sequence response.created,
// response.in_progress, response.output_item.added, response.content_part.added,
// response.output_text.delta..., response.output_text.done,
// response.content_part.done, response.output_item.done (function calls:
// response.function_call_arguments.delta/.done), response.completed. Every
// event has a sequence_number. The package convention applies: the last
// input item (a user message, or a function_call_output) chooses the
// scenario; with function tools declared and a user message last, the
// answer is a call to the first function tool.

type respInputItem struct {
	Type    string          `json:"type"`
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
	Output  json.RawMessage `json:"output"`
}

type respRequest struct {
	Model  string          `json:"model"`
	Input  json.RawMessage `json:"input"`
	Stream bool            `json:"stream"`
	Tools  []struct {
		Type string `json:"type"`
		Name string `json:"name"`
	} `json:"tools"`
	Text *struct {
		Format *struct {
			Type   string          `json:"type"`
			Schema json.RawMessage `json:"schema"`
		} `json:"format"`
	} `json:"text"`
}

// respAnswer is the text of a message answer: SchemaAnswer when
// text.format asks for a JSON schema.
func (r *respRequest) answer(text string) string {
	if r.Text != nil && r.Text.Format != nil && r.Text.Format.Type == "json_schema" {
		return SchemaAnswer(r.Text.Format.Schema, text)
	}
	return text
}

// respText is the text of a Responses content: a string, or its
// input_text/output_text parts.
func respText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	_ = json.Unmarshal(raw, &parts)
	var b strings.Builder
	for _, p := range parts {
		if p.Type == "input_text" || p.Type == "output_text" {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

func respUsage() map[string]any {
	return map[string]any{
		"input_tokens": InputTokens, "input_tokens_details": map[string]any{"cached_tokens": 0},
		"output_tokens": OutputTokens, "output_tokens_details": map[string]any{"reasoning_tokens": 0},
		"total_tokens": InputTokens + OutputTokens,
	}
}

func (f *OpenAI) responses(w http.ResponseWriter, r *http.Request, body []byte, n int64) {
	var req respRequest
	if err := json.Unmarshal(body, &req); err != nil {
		openaiParseError(w)
		return
	}
	if req.Model == "" {
		openaiError(w, http.StatusBadRequest, "Missing required parameter: 'model'.", "invalid_request_error", "model", "missing_required_parameter")
		return
	}
	var text, lastType string
	var s string
	if json.Unmarshal(req.Input, &s) == nil {
		text, lastType = s, "message"
	} else {
		var items []respInputItem
		if json.Unmarshal(req.Input, &items) != nil || len(items) == 0 {
			openaiError(w, http.StatusBadRequest, "Missing required parameter: 'input'.", "invalid_request_error", "input", "missing_required_parameter")
			return
		}
		last := items[len(items)-1]
		lastType = last.Type
		if last.Type == "function_call_output" {
			text = respText(last.Output)
		} else {
			text = respText(last.Content)
			if lastType == "" {
				lastType = "message"
			}
		}
	}
	if openaiScenario(w, r, text, req.Model) {
		return
	}
	id := "resp_fake" + strconv.FormatInt(n, 10)
	var item map[string]any
	fn := ""
	for _, t := range req.Tools {
		if t.Type == "function" {
			fn = t.Name
			break
		}
	}
	switch {
	case lastType == "function_call_output":
		item = respMessage(id, req.answer("Tool said: "+text))
	case fn != "" && lastType == "message":
		item = map[string]any{"type": "function_call", "id": "fc_" + id[5:], "call_id": "call_" + id[5:],
			"name": fn, "arguments": ToolArgs, "status": "completed"}
	default:
		item = respMessage(id, req.answer(Reply(text)))
	}
	resp := map[string]any{
		"id": id, "object": "response", "created_at": OpenAICreated, "status": "completed", "background": false,
		"error": nil, "incomplete_details": nil, "instructions": nil, "max_output_tokens": nil, "model": req.Model,
		"output": []any{item}, "parallel_tool_calls": true, "previous_response_id": nil,
		"reasoning": map[string]any{"effort": nil, "summary": nil}, "store": true, "temperature": 1.0,
		"text": map[string]any{"format": map[string]any{"type": "text"}}, "tool_choice": "auto", "tools": []any{},
		"top_p": 1.0, "truncation": "disabled", "usage": respUsage(), "user": nil, "metadata": map[string]any{},
	}
	if req.Stream {
		respStream(w, resp, item, strings.Contains(text, "[[cut]]"))
		return
	}
	b, _ := json.Marshal(resp)
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

func respMessage(id, text string) map[string]any {
	return map[string]any{"type": "message", "id": "msg_" + id[5:], "status": "completed", "role": "assistant",
		"content": []any{map[string]any{"type": "output_text", "text": text, "annotations": []any{}}}}
}

// respStream writes resp as the documented event sequence.
func respStream(w http.ResponseWriter, resp, item map[string]any, cut bool) {
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	fl := w.(http.Flusher)
	seq := 0
	send := func(typ string, ev map[string]any) {
		ev["type"] = typ
		ev["sequence_number"] = seq
		seq++
		b, _ := json.Marshal(ev)
		_, _ = w.Write([]byte("event: " + typ + "\ndata: " + string(b) + "\n\n"))
		fl.Flush()
	}
	start := map[string]any{}
	for k, v := range resp {
		start[k] = v
	}
	start["status"], start["output"], start["usage"] = "in_progress", []any{}, nil
	send("response.created", map[string]any{"response": start})
	send("response.in_progress", map[string]any{"response": start})
	itemID := item["id"].(string)
	if item["type"] == "function_call" {
		added := map[string]any{}
		for k, v := range item {
			added[k] = v
		}
		added["arguments"], added["status"] = "", "in_progress"
		send("response.output_item.added", map[string]any{"output_index": 0, "item": added})
		args := item["arguments"].(string)
		for _, p := range openaiSplitArgs(args) {
			send("response.function_call_arguments.delta", map[string]any{"item_id": itemID, "output_index": 0, "delta": p})
		}
		send("response.function_call_arguments.done", map[string]any{"item_id": itemID, "output_index": 0, "name": item["name"], "arguments": args})
	} else {
		text := item["content"].([]any)[0].(map[string]any)["text"].(string)
		send("response.output_item.added", map[string]any{"output_index": 0, "item": map[string]any{
			"type": "message", "id": itemID, "status": "in_progress", "role": "assistant", "content": []any{}}})
		empty := map[string]any{"type": "output_text", "text": "", "annotations": []any{}}
		send("response.content_part.added", map[string]any{"item_id": itemID, "output_index": 0, "content_index": 0, "part": empty})
		pieces := openaiSplitWords(text)
		for i, p := range pieces {
			if cut && i == 2 {
				panic(http.ErrAbortHandler) // close the connection without response.completed
			}
			send("response.output_text.delta", map[string]any{"item_id": itemID, "output_index": 0, "content_index": 0, "delta": p, "logprobs": []any{}})
		}
		send("response.output_text.done", map[string]any{"item_id": itemID, "output_index": 0, "content_index": 0, "text": text, "logprobs": []any{}})
		send("response.content_part.done", map[string]any{"item_id": itemID, "output_index": 0, "content_index": 0,
			"part": map[string]any{"type": "output_text", "text": text, "annotations": []any{}}})
	}
	send("response.output_item.done", map[string]any{"output_index": 0, "item": item})
	send("response.completed", map[string]any{"response": resp})
}
