package ollama

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

// FuzzStream feeds arbitrary upstream bytes to the NDJSON stream reader: it
// must end without panicking, and a stream that reports success must have
// ended with a finish reason.
func FuzzStream(f *testing.F) {
	f.Add([]byte("{\"message\":{\"content\":\"hi\"},\"done\":false}\n{\"done\":true,\"done_reason\":\"stop\",\"eval_count\":1}\n"))
	f.Add([]byte("{\"message\":{\"tool_calls\":[{\"function\":{\"name\":\"f\",\"arguments\":{}}}]}}\n{\"done\":true}"))
	f.Add([]byte("{\"error\":\"boom\"}\n"))
	f.Add([]byte("not json\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		s := newStream("o", &http.Response{Body: io.NopCloser(bytes.NewReader(body))}, converter{id: ids{next: func() string { return "1" }}})
		defer s.Close()
		finished := false
		for i := 0; ; i++ {
			ch, err := s.Recv()
			if err == io.EOF {
				if !finished {
					t.Fatal("clean end without a finish reason")
				}
				return
			}
			if err != nil {
				return
			}
			finished = ch.FinishReason != ""
			if i > len(body)+10 {
				t.Fatal("more chunks than input bytes")
			}
		}
	})
}
