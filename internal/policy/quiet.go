package policy

// Quiet texts. Every key and every string of a body is scanned, and most
// of a chat request's are the same few words: "model", "messages",
// "role", "content", "system", "user". A scan is a pure function of the
// text and the policy's detectors (mask), so each compiled policy scans
// these words once, when it is made, and keeps those in which its
// detectors find nothing; a request's scan of one of them is then a map
// lookup instead of the detectors' fixed cost (a dozen per request, about
// a quarter of a short request's scan). A word a detector does find (a
// custom keyword "content", say) is not kept, and is scanned every time.

// wellKnownTexts are the keys and enumerated values of the request
// formats Fulcrum reads (OpenAI Chat Completions and Responses, Anthropic
// Messages).
var wellKnownTexts = []string{
	// keys
	"model", "messages", "role", "content", "type", "text", "name", "system", "stream", "stream_options",
	"include_usage", "max_tokens", "max_completion_tokens", "max_output_tokens", "temperature", "top_p", "top_k",
	"n", "stop", "seed", "presence_penalty", "frequency_penalty", "user", "metadata", "store", "tools",
	"tool_choice", "function", "description", "parameters", "properties", "required", "items", "enum",
	"additionalProperties", "strict", "tool_calls", "tool_call_id", "id", "arguments", "response_format",
	"json_schema", "schema", "image_url", "url", "detail", "input", "instructions", "reasoning",
	"reasoning_effort", "effort", "thinking", "budget_tokens", "cache_control", "parallel_tool_calls",
	"logprobs", "service_tier", "modalities", "prompt_cache_key", "safety_identifier", "source", "media_type",
	"data", "tool_use_id", "stop_sequences", "previous_response_id",
	// values
	"assistant", "developer", "tool", "object", "string", "integer", "number", "boolean", "array", "null",
	"auto", "none", "any", "ephemeral", "image", "tool_use", "tool_result", "input_text", "output_text",
	"message", "json_object", "low", "high", "medium", "minimal", "enabled", "disabled",
}

// quietTexts returns the well-known texts in which p's detectors find
// nothing: neither a value, nor a placeholder, nor a content kind.
func (e *Engine) quietTexts(p *compiled) map[string]bool {
	q := make(map[string]bool, len(wellKnownTexts))
	ev := &evaluator{e: e, p: p}
	for _, t := range wellKnownTexts {
		ev.scan(t)
		if ev.nc == 0 && len(ev.more) == 0 && len(ev.values) == 0 && len(ev.fixed) == 0 && len(ev.taken) == 0 {
			q[t] = true
		}
		ev.nc, ev.more, ev.values, ev.fixed, ev.taken = 0, ev.more[:0], ev.values[:0], ev.fixed[:0], ev.taken[:0]
	}
	return q
}
