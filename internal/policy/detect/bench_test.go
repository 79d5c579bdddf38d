package detect

import (
	"strings"
	"testing"
)

// mixedPrompt is a realistic mix: prose, a support ticket with a few
// values, code with a key, numbers that must not match.
const mixedPrompt = `Hi team, the customer reported that the export job fails every night since version 2.4.1 was deployed on 2024-03-18.
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

func mixed(size int) string {
	var b strings.Builder
	for b.Len() < size {
		b.WriteString(mixedPrompt)
	}
	return b.String()[:size]
}

func BenchmarkScanMixed(b *testing.B) {
	s := newTestScanner(b)
	for _, size := range []int{4 << 10, 100 << 10} {
		text := mixed(size)
		b.Run(byteSize(size), func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			b.ReportAllocs()
			var spans []Span
			for b.Loop() {
				spans = s.Scan(text, Builtin, spans[:0])
			}
		})
	}
}

func BenchmarkScanProse(b *testing.B) {
	s := newTestScanner(b)
	text := strings.Repeat("The quick brown fox jumps over the lazy dog while the team reviews the quarterly report and plans the next release. ", 40)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	var spans []Span
	for b.Loop() {
		spans = s.Scan(text, Builtin, spans[:0])
	}
}

func byteSize(n int) string {
	if n >= 1<<10 {
		return strings.TrimSuffix(strings.TrimSuffix(itoa(n>>10), "")+"KB", "")
	}
	return itoa(n) + "B"
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
