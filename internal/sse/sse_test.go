package sse

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type ev struct {
	Event, Data, ID string
}

func decodeAll(t testing.TB, in string) ([]ev, error) {
	t.Helper()
	d := NewDecoder(strings.NewReader(in))
	var out []ev
	for {
		e, err := d.Next()
		if err != nil {
			if err == io.EOF {
				return out, nil
			}
			return out, err
		}
		out = append(out, ev{e.Event, string(e.Data), e.ID})
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []ev
		wantErr error
	}{
		{"openai", "data: {\"a\":1}\n\ndata: [DONE]\n\n", []ev{{"", `{"a":1}`, ""}, {"", "[DONE]", ""}}, nil},
		{"anthropic", "event: message_start\ndata: {}\n\nevent: ping\ndata: {\"type\": \"ping\"}\n\n", []ev{{"message_start", "{}", ""}, {"ping", `{"type": "ping"}`, ""}}, nil},
		{"crlf", "data: x\r\n\r\ndata: y\r\n\r\n", []ev{{"", "x", ""}, {"", "y", ""}}, nil},
		{"multiline", "data: a\ndata: b\n\n", []ev{{"", "a\nb", ""}}, nil},
		{"comment and no space", ": keep-alive\ndata:x\n\n", []ev{{"", "x", ""}}, nil},
		{"id", "id: 7\ndata: x\n\n", []ev{{"", "x", "7"}}, nil},
		{"event without data is dropped", "event: ping\n\ndata: x\n\n", []ev{{"", "x", ""}}, nil},
		{"cut mid-event", "data: x\n\ndata: {\"partial", []ev{{"", "x", ""}}, io.ErrUnexpectedEOF},
		{"cut before blank line", "data: x\n", nil, io.ErrUnexpectedEOF},
		{"empty", "", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeAll(t, tt.in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLongLine(t *testing.T) {
	big := strings.Repeat("x", 100_000)
	got, err := decodeAll(t, "data: "+big+"\n\n")
	if err != nil || len(got) != 1 || got[0].Data != big {
		t.Fatalf("long line: err=%v len=%d", err, len(got))
	}
}

func TestRoundTrip(t *testing.T) {
	var b []byte
	b = AppendEvent(b, "content_block_delta", []byte("line1\nline2"))
	b = AppendEvent(b, "", []byte("[DONE]"))
	got, err := decodeAll(t, string(b))
	if err != nil {
		t.Fatal(err)
	}
	want := []ev{{"content_block_delta", "line1\nline2", ""}, {"", "[DONE]", ""}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func FuzzDecoder(f *testing.F) {
	f.Add([]byte("data: {\"a\":1}\n\ndata: [DONE]\n\n"))
	f.Add([]byte("event: message_start\r\ndata: {}\r\n\r\n"))
	f.Add([]byte(": c\ndata:x\ndata: y\nid: 1\n\n"))
	f.Add([]byte("data: x\rdata: y\r\r"))
	f.Fuzz(func(t *testing.T, in []byte) {
		d := NewDecoder(bytes.NewReader(in))
		for i := 0; i < len(in)+2; i++ {
			e, err := d.Next()
			if err != nil {
				return
			}
			// Re-encoding a decoded event and decoding it again is stable.
			d2 := NewDecoder(bytes.NewReader(AppendEvent(nil, e.Event, e.Data)))
			e2, err := d2.Next()
			if err != nil {
				if len(e.Data) == 0 && e.Event == "" {
					continue
				}
				if bytes.ContainsAny([]byte(e.Event), "\r\n") {
					continue
				}
				t.Fatalf("re-decode %q: %v", e.Data, err)
			}
			if !bytes.Equal(e.Data, e2.Data) && !bytes.ContainsRune(e.Data, '\r') {
				t.Fatalf("round trip: %q != %q", e.Data, e2.Data)
			}
		}
	})
}

func TestBuffered(t *testing.T) {
	d := NewDecoder(strings.NewReader("data: a\n\ndata: b\n\ndata: c"))
	if _, err := d.Next(); err != nil {
		t.Fatal(err)
	}
	if !d.Buffered() {
		t.Error("second event is buffered but Buffered() is false")
	}
	if _, err := d.Next(); err != nil {
		t.Fatal(err)
	}
	if d.Buffered() {
		t.Error("only a partial event is left but Buffered() is true")
	}
}
