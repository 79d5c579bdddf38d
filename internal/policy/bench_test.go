package policy

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/api/openai"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/policy/detect"
)

// benchPrompt is a mixed request body: prose, a support ticket with a few
// sensitive values, logs, config and code with numbers that must not match.
const benchPrompt = `Hi team, the customer reported that the export job fails every night since version 2.4.1 was deployed on 2024-03-18.
Their order #884213 was charged twice ($129.99 each). Please refund one charge and reply to them at maria.gonzalez@example.com
or call +44 20 7946 0958. The invoice lists 3 seats at 43.33 each, total 129.99, VAT 20%.
Logs from the worker (pod export-7c9f8d-x2v4k, node 10.12.4.7):
  2024-03-18T02:00:01Z INFO starting export batch=17 rows=120394 took=3.2s
  2024-03-18T02:00:04Z ERROR upload failed: 403 Forbidden (request id 4f9c2a1e-8b7d-4c3a-9e1f-2d6b5a7c8e90)
The config they sent looks like this:
    region: eu-west-1
    bucket: acme-exports
    retries: 5
    timeout_seconds: 30
We think the IAM policy is missing s3:PutObject. Could you check the role and summarise the steps to fix it?
Also, please write a short apology email explaining the double charge and the timeline for the refund (5-7 business days).
func retry(n int) error { for i := 0; i < n; i++ { if err := upload(); err == nil { return nil } }; return errors.New("gave up") }
`

func benchText(size int) string {
	var b strings.Builder
	for b.Len() < size {
		b.WriteString(benchPrompt)
	}
	return b.String()[:size]
}

// benchRequest splits size bytes of mixed text over a system prompt and
// user/assistant turns of about 1 KB each, cut after a line (a value cut
// in two across turns is read at the seam and keeps the request home, so
// redaction would not be measured).
func benchRequest(size int) *llm.ChatRequest {
	text := benchText(size)
	req := &llm.ChatRequest{Model: "m", Messages: []llm.Message{llm.TextMessage(llm.RoleSystem, "You are a support assistant.")}}
	for i, n := 0, 0; i < len(text); n++ {
		end := min(i+1024, len(text))
		if k := strings.LastIndexByte(text[i:end], '\n'); k > 0 && end < len(text) {
			end = i + k + 1
		}
		role := llm.RoleUser
		if n%2 == 1 {
			role = llm.RoleAssistant
		}
		req.Messages = append(req.Messages, llm.TextMessage(role, text[i:end]))
		i = end
	}
	return req
}

func BenchmarkScanner(b *testing.B) {
	e := testEngine(b)
	sc := e.Scanner()
	for _, c := range []struct {
		name string
		text string
	}{
		{"mixed", benchText(64 << 10)},
		{"prose", strings.Repeat("The quick brown fox jumps over the lazy dog while the team reviews the quarterly report. ", 700)},
		// A run of short digit groups: every group starts phone, card and
		// ID candidates of up to eight groups (an adversary's 15 MB of
		// "41 41 41 ..." took 275 s to scan).
		{"digit-groups", strings.Repeat("41 ", quickOr(20_000, 2_000))},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.text)))
			b.ReportAllocs()
			var spans []detect.Span
			for b.Loop() {
				spans = sc.Scan(c.text, detect.Builtin|sc.AllCustom(), spans[:0])
			}
		})
	}
}

func BenchmarkEvaluate(b *testing.B) {
	e := testEngine(b)
	for _, c := range []struct {
		name string
		size int
	}{{"4KB", 4 << 10}, {"100KB", 100 << 10}} {
		req := benchRequest(c.size)
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(c.size))
			b.ReportAllocs()
			for b.Loop() {
				e.Evaluate(req, nil, "")
			}
		})
		b.Run(c.name+"-clean", func(b *testing.B) {
			clean := chat(strings.Repeat("Please summarise the quarterly report and list three risks for the board. ", c.size/75))
			b.SetBytes(int64(c.size))
			b.ReportAllocs()
			for b.Loop() {
				e.Evaluate(clean, nil, "")
			}
		})
		b.Run(c.name+"-redact", func(b *testing.B) {
			b.SetBytes(int64(c.size))
			b.ReportAllocs()
			for b.Loop() {
				d := e.Evaluate(req, nil, "redact")
				d.Redact(req)
			}
		})
	}
}

// BenchmarkEvaluateBody is the request path since #10: the strict read
// and scan of the exact body (and, for -redact, the rewrite and rescan).
// Compare with BenchmarkEvaluate, which scanned an already decoded
// request (and whose decode, encoding/json, came on top).
func BenchmarkEvaluateBody(b *testing.B) {
	e := testEngine(b)
	for _, c := range []struct {
		name string
		size int
	}{{"4KB", 4 << 10}, {"100KB", 100 << 10}} {
		body, err := openai.EncodeChatRequest(benchRequest(c.size))
		if err != nil {
			b.Fatal(err)
		}
		for _, pol := range []string{"", "redact"} {
			b.Run(c.name+"-"+cmpOr(pol, "default"), func(b *testing.B) {
				b.SetBytes(int64(len(body)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := e.EvaluateBody(Input{Body: body, Policies: []string{cmpOr(pol, "default")}}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		b.Run(c.name+"-decode-only", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := openai.DecodeChatRequest(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	// The request bench/run.sh sends (bench/internal/loadgen.Body): on a
	// body this short, the seams' compaction and each scan's fixed cost
	// weigh more than the bytes.
	harness := []byte(`{"model":"bench-model","messages":[{"role":"system","content":"You are a concise assistant. Answer in one short sentence."},{"role":"user","content":"Write one short sentence that greets the reader and mentions the weather in Lisbon today, without any numbers."}],"max_tokens":64,"temperature":0}`)
	b.Run("harness-default", func(b *testing.B) {
		b.SetBytes(int64(len(harness)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := e.EvaluateBody(Input{Body: harness}); err != nil {
				b.Fatal(err)
			}
		}
	})
	// A body cut into one-letter content parts (an adversary's): the
	// parts roll into one token at the seams, whose windows are widened
	// to whole tokens only within a budget of the body's size.
	parts := quickOr(100_000, 5_000) // .ci/run: 20 iterations of 100,000 took 90 s under -race
	tiny := make([]string, parts)
	for i := range tiny {
		tiny[i] = "h"
	}
	fragmented := partsBody(b, tiny...)
	b.Run("fragmented-"+strconv.Itoa(parts/1000)+"k-parts", func(b *testing.B) {
		b.SetBytes(int64(len(fragmented)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := e.EvaluateBody(Input{Body: fragmented}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// quickOr is n, or quick under FULCRUM_BENCH_QUICK (.ci/run, where the
// benchmarks only have to run, under -race).
func quickOr(n, quick int) int {
	if os.Getenv("FULCRUM_BENCH_QUICK") != "" {
		return quick
	}
	return n
}
