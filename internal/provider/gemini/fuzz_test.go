package gemini

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

// FuzzStream feeds arbitrary upstream bytes to the SSE stream reader: it
// must end (io.EOF or an error) without panicking, and a stream that
// reports success must have ended with a finish reason.
func FuzzStream(f *testing.F) {
	f.Add([]byte("data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"hi\"}]},\"finishReason\":\"STOP\"}]}\r\n\r\n"))
	f.Add([]byte("data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"f\",\"args\":{}}}]}}]}\n\n"))
	f.Add([]byte("data: {\"error\":{\"code\":500,\"message\":\"x\"}}\n\n"))
	f.Add([]byte("data: {not json\n\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		s := newStream("g", &http.Response{Body: io.NopCloser(bytes.NewReader(body))}, converter{newID: func() string { return "id" }})
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
