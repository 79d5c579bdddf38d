package openai

import (
	"encoding/json"
	"errors"
	"strconv"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// decodeError turns a failed json.Unmarshal of a request into a 400 that
// names the JSON path at fault. encoding/json's UnmarshalTypeError.Field
// drops array indices ("messages.content"), so on this (rare) path the body
// is decoded again piece by piece to find "messages[2].content".
func decodeError(body []byte, err error) *llm.Error {
	var se *json.SyntaxError
	if errors.As(err, &se) || !json.Valid(body) {
		e := llm.Errorf("", "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)")
		e.Err = err
		return e
	}
	if e := locate(body); e != nil {
		e.Err = err
		return e
	}
	e := llm.Errorf("", "Invalid request body: %s", err.Error())
	e.Err = err
	return e
}

// field is one value to check: its path, its raw JSON and a decoder.
type field struct {
	path   string
	raw    json.RawMessage
	target any
	want   string
}

func typeError(path, want string) *llm.Error {
	e := llm.Errorf(path, "Invalid type for '%s': expected %s.", path, want)
	e.Code = "invalid_type"
	return e
}

// check decodes each field into its target and reports the first failure.
func check(fields ...field) *llm.Error {
	for _, f := range fields {
		if len(f.raw) == 0 {
			continue
		}
		if err := json.Unmarshal(f.raw, f.target); err != nil {
			return typeError(f.path, f.want)
		}
	}
	return nil
}

func object(path string, raw json.RawMessage) (map[string]json.RawMessage, *llm.Error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil, typeError(path, "an object")
	}
	return m, nil
}

func array(path string, raw json.RawMessage, want string) ([]json.RawMessage, *llm.Error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var a []json.RawMessage
	if json.Unmarshal(raw, &a) != nil {
		return nil, typeError(path, want)
	}
	return a, nil
}

// locate finds the first field of a request body whose JSON type is wrong.
func locate(body []byte) *llm.Error {
	top, e := object("", body)
	if e != nil {
		return llm.Errorf("", "Invalid request body: expected a JSON object.")
	}
	var (
		s   string
		i   int
		i64 int64
		f   float64
		b   bool
		st  stop
		so  streamOption
		raw json.RawMessage
	)
	if e := check(
		field{"model", top["model"], &s, "a string"},
		field{"max_tokens", top["max_tokens"], &i, "an integer"},
		field{"max_completion_tokens", top["max_completion_tokens"], &i, "an integer"},
		field{"n", top["n"], &i, "an integer"},
		field{"top_k", top["top_k"], &i, "an integer"},
		field{"seed", top["seed"], &i64, "an integer"},
		field{"temperature", top["temperature"], &f, "a number"},
		field{"top_p", top["top_p"], &f, "a number"},
		field{"presence_penalty", top["presence_penalty"], &f, "a number"},
		field{"frequency_penalty", top["frequency_penalty"], &f, "a number"},
		field{"parallel_tool_calls", top["parallel_tool_calls"], &b, "a boolean"},
		field{"stream", top["stream"], &b, "a boolean"},
		field{"user", top["user"], &s, "a string"},
		field{"stop", top["stop"], &st, "a string or an array of strings"},
		field{"stream_options", top["stream_options"], &so, "an object with a boolean include_usage"},
		field{"tool_choice", top["tool_choice"], &raw, "a string or an object"},
	); e != nil {
		return e
	}
	msgs, e := array("messages", top["messages"], "an array of messages")
	if e != nil {
		return e
	}
	for n, m := range msgs {
		if e := locateMessage("messages["+strconv.Itoa(n)+"]", m); e != nil {
			return e
		}
	}
	tools, e := array("tools", top["tools"], "an array of tools")
	if e != nil {
		return e
	}
	for n, t := range tools {
		p := "tools[" + strconv.Itoa(n) + "]"
		tm, e := object(p, t)
		if e != nil {
			return e
		}
		fn, e := object(p+".function", tm["function"])
		if e != nil {
			return e
		}
		if e := check(
			field{p + ".type", tm["type"], &s, "a string"},
			field{p + ".function.name", fn["name"], &s, "a string"},
			field{p + ".function.description", fn["description"], &s, "a string"},
			field{p + ".function.strict", fn["strict"], &b, "a boolean"},
		); e != nil {
			return e
		}
	}
	rf, e := object("response_format", top["response_format"])
	if e != nil {
		return e
	}
	js, e := object("response_format.json_schema", rf["json_schema"])
	if e != nil {
		return e
	}
	return check(
		field{"response_format.type", rf["type"], &s, "a string"},
		field{"response_format.json_schema.name", js["name"], &s, "a string"},
		field{"response_format.json_schema.strict", js["strict"], &b, "a boolean"},
	)
}

func locateMessage(p string, raw json.RawMessage) *llm.Error {
	m, e := object(p, raw)
	if e != nil {
		return e
	}
	var (
		s string
		c content
	)
	if e := check(
		field{p + ".role", m["role"], &s, "a string"},
		field{p + ".name", m["name"], &s, "a string"},
		field{p + ".tool_call_id", m["tool_call_id"], &s, "a string"},
		field{p + ".content", m["content"], &c, "one of a string or an array of content parts"},
	); e != nil {
		// Narrow a bad content array down to the part at fault.
		if e.Param == p+".content" {
			if parts, _ := array(p+".content", m["content"], ""); parts != nil {
				for n, part := range parts {
					if pe := locatePart(p+".content["+strconv.Itoa(n)+"]", part); pe != nil {
						return pe
					}
				}
			}
		}
		return e
	}
	calls, e := array(p+".tool_calls", m["tool_calls"], "an array of tool calls")
	if e != nil {
		return e
	}
	for n, tc := range calls {
		cp := p + ".tool_calls[" + strconv.Itoa(n) + "]"
		cm, e := object(cp, tc)
		if e != nil {
			return e
		}
		fn, e := object(cp+".function", cm["function"])
		if e != nil {
			return e
		}
		if e := check(
			field{cp + ".id", cm["id"], &s, "a string"},
			field{cp + ".type", cm["type"], &s, "a string"},
			field{cp + ".function.name", fn["name"], &s, "a string"},
			field{cp + ".function.arguments", fn["arguments"], &s, "a string"},
		); e != nil {
			return e
		}
	}
	return nil
}

func locatePart(p string, raw json.RawMessage) *llm.Error {
	m, e := object(p, raw)
	if e != nil {
		return e
	}
	img, e := object(p+".image_url", m["image_url"])
	if e != nil {
		return e
	}
	var s string
	return check(
		field{p + ".type", m["type"], &s, "a string"},
		field{p + ".text", m["text"], &s, "a string"},
		field{p + ".image_url.url", img["url"], &s, "a string"},
		field{p + ".image_url.detail", img["detail"], &s, "a string"},
	)
}
