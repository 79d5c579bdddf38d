package fake

import (
	"encoding/json"
	"strings"
)

// ToolCall decides, by the convention's markers in text, whether a request
// that declares tools is answered with a tool call, and with which one:
//
//   - "[[call:NAME ARGS]]": a call to NAME with the JSON object ARGS
//     (e.g. [[call:Read {"file_path":"/tmp/x"}]]), whatever tools were
//     declared — real coding agents declare dozens and need one they know;
//   - "[[plain]]": no call, a text answer (agents declare tools on every turn);
//   - otherwise: a call to first (the first declared tool) with ToolArgs.
//
// first is "" when the request declares no tools, and then only a
// "[[call:...]]" marker makes a call.
func ToolCall(text, first string) (name, args string, ok bool) {
	if i := strings.Index(text, "[[call:"); i >= 0 {
		rest := text[i+len("[[call:"):]
		if j := strings.Index(rest, "]]"); j >= 0 {
			spec := rest[:j]
			// ARGS is a JSON object that may itself contain "]]": take
			// the longest prefix that parses.
			if k := strings.LastIndex(rest, "}]]"); k >= 0 {
				spec = rest[:k+1]
			}
			name, args, _ = strings.Cut(strings.TrimSpace(spec), " ")
			args = strings.TrimSpace(args)
			if args == "" {
				args = "{}"
			}
			if json.Valid([]byte(args)) && name != "" {
				return name, args, true
			}
		}
	}
	if first == "" || strings.Contains(text, "[[plain]]") {
		return "", "", false
	}
	return first, ToolArgs, true
}

func wantsCall(text, first string) bool {
	_, _, ok := ToolCall(text, first)
	return ok
}

// isSystemRole reports whether a message role carries instructions rather
// than a turn of the conversation.
func isSystemRole(role string) bool { return role == "system" || role == "developer" }
