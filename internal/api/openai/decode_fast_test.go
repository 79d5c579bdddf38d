package openai

import (
	"encoding/json"
	"reflect"
	"testing"
)

var chatRequestSeeds = []string{
	string(typicalRequest),
	`{"model":"bench-model","messages":[{"role":"system","content":"You are a concise assistant."},{"role":"user","content":"Hi"}],"max_tokens":64,"temperature":0}`,
	`{"model":"m","messages":[{"role":"user","content":"a\nb\t\"c\" \\ \/ \b\f\r"}],"stream":true,"stream_options":{"include_usage":true}}`,
	`{"model":"m","messages":[{"role":"user","content":"\u00e9\ud83d\ude00 \ud800 x"}]}`,
	`{"model":"m","messages":[{"role":"user","content":"\ud800\u0041\udc00\ud83d"}],"user":"\ud83d\ude00\ud83d","stop":"\u0000\u001F\uFFFF"}`,
	"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\\u00e9 \xff\"}]}",
	"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"bad \xff utf8\"}]}",
	"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"bad \xff\\n utf8\"}]}",
	`{"model":"m","model":"n","messages":[]}`,
	`{"model":"m","messages":[{"role":"user","content":"a"}],"messages":[{"content":"b"}]}`,
	`{"MODEL":"m","messages":null}`,
	`{"modeſ":"m"}`,
	`{"mod\u0065l":"m"}`,
	`{"model":5}`,
	`{"model":null,"user":null,"stream":null,"max_tokens":null,"seed":null,"temperature":null,"stop":null,"tools":null,"response_format":null,"tool_choice":null}`,
	`{"model":"m","max_tokens":1.5}`,
	`{"model":"m","max_tokens":1e2}`,
	`{"model":"m","max_tokens":-0,"n":99999999999999999999,"seed":-9223372036854775808}`,
	`{"model":"m","temperature":1e400}`,
	`{"model":"m","temperature":-0.0,"top_p":1E-3,"presence_penalty":2,"frequency_penalty":-1.25}`,
	`{"model":"m","stop":"x"}`,
	`{"model":"m","stop":["x","y\n"]}`,
	`{"model":"m","stop":[]}`,
	`{"model":"m","stop":[null]}`,
	`{"model":"m","stop":5}`,
	`{"model":"m","stream":"true"}`,
	`{"model":"m","parallel_tool_calls":false,"stream_options":{"include_usage":true,"include_usage":false}}`,
	`{"model":"m","stream_options":null}`,
	`{"model":"m","stream_options":[]}`,
	`{"model":"m","messages":[null]}`,
	`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi","cache_control":{"type":"ephemeral"}},{"type":"refusal","refusal":"no"}]}]}`,
	`{"model":"m","messages":[{"role":"user","content":[]}]}`,
	`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"http://x"}}]}]}`,
	`{"model":"m","messages":[{"role":"user","content":[null]}]}`,
	`{"model":"m","messages":[{"role":"user","content":5}]}`,
	`{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},{"role":"tool","tool_call_id":"c1","content":"ok"}]}`,
	`{"model":"m","messages":[{"role":"assistant","tool_calls":[{"index":0,"function":null}],"refusal":"r","reasoning_content":"t","reasoning":null}]}`,
	`{"model":"m","messages":[{"role":"assistant","tool_calls":[null]}]}`,
	`{"model":"m","messages":[{"role":"user","content":"a","content":"b"}]}`,
	`{"model":"m","messages":[{"role":"user","content":"a","Content":"b"}]}`,
	`{"model":"m","messages":[{"role":"user","content":"a","extra":{"x":[1,2,{"y":null}]}}],"metadata":{"k":"v"},"":1}`,
	`{"model":"m","tools":[{"type":"function","function":{"name":"f","parameters":{}}}],"tool_choice":"auto"}`,
	`{"model":"m","response_format":{"type":"json_object"}}`,
	`{"model":"m","response_format":{"type":"json_schema","json_schema":{"name":"s","schema":{"type":"object"},"strict":true}}}`,
	`{"model":"m","response_format":{"type":"json_schema","json_schema":null,"type":"text"}}`,
	`{"model":"m","response_format":{}}`,
	`{"model":"m","response_format":[]}`,
	`{"model":"m","tools":[{"type":"custom","custom":{"name":"grep","format":{"type":"text"}}},{"type":"function","function":{"name":"f","strict":null,"parameters":null},"cache_control":{"type":"ephemeral"}}]}`,
	`{"model":"m","tools":[{"type":"function","function":{"name":"f","strict":"yes"}}]}`,
	`{"model":"m","tools":[{"type":"function","function":null,"custom":null}]}`,
	`{"model":"m","tools":[{"custom":{"name":"a","name":"b"}}]}`,
	`{"model":"m","tools":[]}`,
	`{"model":"m","tools":{}}`,
	`{"model":"m","logprobs":false,"top_logprobs":0,"service_tier":"auto","reasoning_effort":"low","modalities":["text"],"prompt_cache_key":"k","safety_identifier":"u","store":true,"moderation":null}`,
	` { "model" : "m" , "messages" : [ { "role" : "user" , "content" : "hi" } ] } `,
	`{"model":"m",}`,
	`{"model":"m"} x`,
	`null`,
	`[]`,
	`"m"`,
	`{}`,
	``,
}

// FuzzReadChatRequest: readChatRequest agrees with json.Unmarshal into
// chatRequest on every input, in its error (nil or not, and its text) and
// in every field it sets, and takes no input itself that encoding/json
// would refuse.
func FuzzReadChatRequest(f *testing.F) {
	for _, s := range chatRequestSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var want chatRequest
		wantErr := json.Unmarshal(b, &want)
		var got chatRequest
		err := readChatRequest(b, &got)
		if (err == nil) != (wantErr == nil) || err != nil && err.Error() != wantErr.Error() {
			t.Fatalf("%s: error %v, json.Unmarshal's %v", b, err, wantErr)
		}
		if err == nil && !reflect.DeepEqual(want, got) {
			t.Fatalf("%s:\njson.Unmarshal %+v\nreadChatRequest %+v", b, want, got)
		}
		var fast chatRequest
		if validJSON(b) && readChatRequestFast(b, &fast) {
			if wantErr != nil {
				t.Fatalf("%s: the fast reader took a body encoding/json refuses (%v)", b, wantErr)
			}
			if !reflect.DeepEqual(want, fast) {
				t.Fatalf("%s:\njson.Unmarshal %+v\nreadChatRequestFast %+v", b, want, fast)
			}
		}
	})
}

// TestReadChatRequestTakesCommonShapesItself: the bodies clients send
// most (text chats, tool calls, sampling parameters, streaming options)
// are read without encoding/json.
func TestReadChatRequestTakesCommonShapesItself(t *testing.T) {
	for _, s := range []string{
		chatRequestSeeds[0], chatRequestSeeds[1], chatRequestSeeds[2],
		`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],"metadata":{"k":"v"}}`,
	} {
		var w chatRequest
		if !readChatRequestFast([]byte(s), &w) {
			t.Errorf("fell back to encoding/json: %s", s)
		}
	}
}

// TestDecodeChatRequestAllocations bounds the allocations of decoding the
// benchmark harness's body (two text messages, max_tokens, temperature):
// the request, its messages and their parts, the strings and the two
// numbers.
func TestDecodeChatRequestAllocations(t *testing.T) {
	b := []byte(chatRequestSeeds[1])
	n := testing.AllocsPerRun(100, func() {
		if _, err := DecodeChatRequest(b); err != nil {
			t.Fatal(err)
		}
	})
	if n > 12 {
		t.Errorf("DecodeChatRequest allocates %.0f times, want at most 12", n)
	}
}

// BenchmarkReadChatRequest: the ~2 KB typical request and the benchmark
// harness's ~300-byte one read by readChatRequest and by json.Unmarshal,
// as DecodeChatRequest did before.
func BenchmarkReadChatRequest(b *testing.B) {
	for _, c := range []struct {
		name string
		body []byte
	}{{"typical", typicalRequest}, {"harness", []byte(chatRequestSeeds[1])}} {
		b.Run(c.name+"/readChatRequest", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var w chatRequest
				if err := readChatRequest(c.body, &w); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/json.Unmarshal", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var w chatRequest
				if err := json.Unmarshal(c.body, &w); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestReadStringDecodesEscapes: \u escapes, surrogate pairs and lone
// surrogates are decoded without encoding/json, as it decodes them.
func TestReadStringDecodesEscapes(t *testing.T) {
	for _, lit := range []string{`"\u00e9\ud83d\ude00"`, `"\ud800\u0041"`, `"x\udc00"`, `"\ud83d"`, `"a\nb\"c"`} {
		var want, got string
		if err := json.Unmarshal([]byte(lit), &want); err != nil {
			t.Fatal(err)
		}
		if !readString([]byte(lit), &got) || got != want {
			t.Errorf("%s: %q, json.Unmarshal's %q", lit, got, want)
		}
		if n := testing.AllocsPerRun(10, func() { readString([]byte(lit), &got) }); n > 2 {
			t.Errorf("%s: %.0f allocations; encoding/json was asked", lit, n)
		}
	}
}
