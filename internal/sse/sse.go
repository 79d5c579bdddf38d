// Package sse reads and writes server-sent events as the HTML Living
// Standard defines them (https://html.spec.whatwg.org/multipage/server-sent-events.html),
// the framing OpenAI, Anthropic and Gemini streams use.
//
// It is a leaf package, and fuzzed: its decoder reads upstream bytes that
// Fulcrum does not control.
package sse

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// Event is one dispatched event. Data lines are joined with "\n".
type Event struct {
	// Event is the "event:" field; empty means the default "message".
	Event string
	Data  []byte
	ID    string
}

// MaxLine bounds a single line (and so a single event's data line); longer
// lines fail with ErrLineTooLong rather than growing without limit.
const MaxLine = 8 << 20

// ErrLineTooLong is returned for a line over MaxLine bytes.
var ErrLineTooLong = errors.New("sse: line too long")

// Decoder reads events from a stream. It is not safe for concurrent use.
type Decoder struct {
	r       *bufio.Reader
	data    []byte
	event   []byte
	id      string
	started bool
	line    []byte
}

// readSize is the decoder's read buffer. A stream holds it for its whole
// life, so with a thousand concurrent streams every KB here is a MB of
// heap, twice over once the garbage collector's headroom is counted. 1 KB
// holds a whole chat chunk event (OpenAI's are about 250 bytes, Anthropic's
// 300-500); a longer line is assembled in line (readLine) and the reads
// come from the HTTP client's own buffer, not the socket.
const readSize = 1 << 10

// NewDecoder returns a decoder reading from r.
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{r: bufio.NewReaderSize(r, readSize)}
}

// readLine returns one line without its terminator (CRLF, LF or CR).
func (d *Decoder) readLine() ([]byte, error) {
	d.line = d.line[:0]
	for {
		frag, err := d.r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			d.line = append(d.line, frag...)
			if len(d.line) > MaxLine {
				return nil, ErrLineTooLong
			}
			continue
		}
		if err != nil {
			if len(frag) == 0 && len(d.line) == 0 {
				return nil, err
			}
			d.line = append(d.line, frag...)
			// A final line without terminator: the stream was cut.
			return d.line, io.ErrUnexpectedEOF
		}
		var line []byte
		if len(d.line) == 0 {
			line = frag
		} else {
			d.line = append(d.line, frag...)
			line = d.line
		}
		line = line[:len(line)-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		// A lone CR is also a line terminator; split on it if present.
		if i := bytes.IndexByte(line, '\r'); i >= 0 {
			return d.splitCR(line)
		}
		return line, nil
	}
}

// splitCR handles the rare CR-only line endings by processing all but the
// last segment as separate lines through pending state.
func (d *Decoder) splitCR(line []byte) ([]byte, error) {
	parts := bytes.Split(line, []byte{'\r'})
	for _, p := range parts[:len(parts)-1] {
		if len(p) == 0 {
			// An empty line inside: dispatch is not possible from here
			// without losing the event, so keep the fields; CR-only
			// streams are not produced by any provider Fulcrum speaks to.
			continue
		}
		d.field(p)
	}
	return parts[len(parts)-1], nil
}

func (d *Decoder) field(line []byte) {
	if len(line) > 0 && line[0] == ':' {
		return // comment
	}
	name, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		name, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(name) {
	case "data":
		if d.started {
			d.data = append(d.data, '\n')
		}
		d.data = append(d.data, value...)
		d.started = true
	case "event":
		d.event = append(d.event[:0], value...)
	case "id":
		if bytes.IndexByte(value, 0) < 0 {
			d.id = string(value)
		}
	}
}

// Next returns the next event. The Data slice is valid until the next call.
// At the end of the stream it returns io.EOF; if the stream ended in the
// middle of an event it returns io.ErrUnexpectedEOF.
func (d *Decoder) Next() (Event, error) {
	d.data = d.data[:0]
	d.event = d.event[:0]
	d.started = false
	for {
		line, err := d.readLine()
		if err != nil {
			if err == io.EOF && d.started {
				return Event{}, io.ErrUnexpectedEOF
			}
			if err == io.ErrUnexpectedEOF {
				return Event{}, err
			}
			return Event{}, err
		}
		if len(line) == 0 {
			if !d.started && len(d.event) == 0 {
				continue
			}
			if !d.started {
				// An event with no data is not dispatched.
				d.event = d.event[:0]
				continue
			}
			return Event{Event: string(d.event), Data: d.data, ID: d.id}, nil
		}
		d.field(line)
	}
}

// Buffered reports whether a complete event is already buffered, so the
// next Next returns without reading from the stream. Proxies use it to
// write a burst of events with one flush instead of one per event.
func (d *Decoder) Buffered() bool {
	n := d.r.Buffered()
	if n == 0 {
		return false
	}
	b, _ := d.r.Peek(n)
	return bytes.Contains(b, []byte("\n\n")) || bytes.Contains(b, []byte("\r\n\r\n"))
}

// AppendEvent appends the wire form of one event to b. Data containing
// newlines is split into several data lines, so it round-trips.
func AppendEvent(b []byte, event string, data []byte) []byte {
	if event != "" {
		b = append(b, "event: "...)
		b = append(b, event...)
		b = append(b, '\n')
	}
	for {
		i := bytes.IndexByte(data, '\n')
		b = append(b, "data: "...)
		if i < 0 {
			b = append(b, data...)
			b = append(b, '\n')
			break
		}
		b = append(b, data[:i]...)
		b = append(b, '\n')
		data = data[i+1:]
	}
	return append(b, '\n')
}
