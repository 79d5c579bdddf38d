package replay

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/fulcrumhq/fulcrum/internal/dataset"
)

// BuiltinGSM8K is the replay.file value that selects the embedded GSM8K
// recording of gpt-4-1106-preview and Mixtral-8x7B-Instruct-v0.1.
const BuiltinGSM8K = "builtin:gsm8k"

// minContained is the shortest normalised recorded prompt that may match by
// containment: shorter ones ("hi") would match far too much.
const minContained = 24

// maxContaining bounds the normalised text searched for recorded prompts
// by containment: each search reads the text once per recorded prompt
// (1,319 times for GSM8K), so a 14 MB prompt cost 4.9 s of CPU. A
// template around a recorded question is far shorter; a longer text
// matches only exactly.
const maxContaining = 64 << 10

// Recording holds recorded answers by model and normalised prompt.
// It is immutable after Load and safe for concurrent use.
type Recording struct {
	byModel map[string]*answers
}

// answers are one model's recorded answers.
type answers struct {
	exact map[string]string
	// bySize lists the normalised prompts longest first, for containment
	// matching (the longest recorded prompt inside the user text wins).
	bySize []string
}

// Models lists the recorded model names, sorted.
func (r *Recording) Models() []string {
	out := make([]string, 0, len(r.byModel))
	for m := range r.byModel {
		out = append(out, m)
	}
	slices.Sort(out)
	return out
}

// Len is the number of recorded prompts for model.
func (r *Recording) Len(model string) int {
	a := r.byModel[model]
	if a == nil {
		return 0
	}
	return len(a.exact)
}

// Lookup returns model's recorded answer to prompt: the answer whose
// normalised prompt equals the normalised text, else the one whose
// normalised prompt (at least 24 bytes long) is contained in it, the
// longest such prompt winning, when the text is at most maxContaining
// bytes. ok is false when nothing matches.
func (r *Recording) Lookup(model, text string) (answer string, ok bool) {
	a := r.byModel[model]
	if a == nil {
		return "", false
	}
	n := Normalize(text)
	if ans, ok := a.exact[n]; ok {
		return ans, true
	}
	if len(n) > maxContaining {
		return "", false
	}
	for _, p := range a.bySize {
		if len(p) > len(n) {
			continue
		}
		if len(p) < minContained {
			break
		}
		if strings.Contains(n, p) {
			return a.exact[p], true
		}
	}
	return "", false
}

// Load reads a recording: BuiltinGSM8K, or a path to a .csv, .jsonl or
// .ndjson file.
func Load(file string) (*Recording, error) {
	if file == BuiltinGSM8K {
		return parseCSV(bytes.NewReader(dataset.GSM8KResponses()))
	}
	if strings.HasPrefix(file, "builtin:") {
		return nil, fmt.Errorf("replay: unknown built-in recording %q (have %q)", file, BuiltinGSM8K)
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	defer f.Close()
	switch strings.ToLower(filepath.Ext(file)) {
	case ".csv":
		return parseCSV(f)
	case ".jsonl", ".ndjson":
		return parseJSONL(f)
	default:
		return nil, fmt.Errorf("replay: %s: want a .csv or .jsonl file", file)
	}
}

// parseCSV reads a header row naming a "prompt" column and one
// "<model>_response" column per model (the RouteLLM layout). Other columns
// (such as correctness labels) are ignored.
func parseCSV(rd io.Reader) (*Recording, error) {
	cr := csv.NewReader(rd)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("replay: csv header: %w", err)
	}
	promptCol := -1
	models := map[int]string{}
	for i, h := range head {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		switch {
		case h == "prompt":
			promptCol = i
		case strings.HasSuffix(h, "_response"):
			models[i] = strings.TrimSuffix(h, "_response")
		}
	}
	if promptCol < 0 || len(models) == 0 {
		return nil, errors.New(`replay: csv: want a "prompt" column and at least one "<model>_response" column`)
	}
	b := newBuilder()
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("replay: csv: %w", err)
		}
		if promptCol >= len(rec) {
			return nil, fmt.Errorf("replay: csv line %d: missing prompt", line)
		}
		for col, m := range models {
			if col < len(rec) {
				b.add(m, rec[promptCol], rec[col])
			}
		}
	}
	return b.build()
}

// jsonlRecord is one line of a JSON-lines recording.
type jsonlRecord struct {
	Prompt   string `json:"prompt"`
	Model    string `json:"model"`
	Response string `json:"response"`
}

func parseJSONL(rd io.Reader) (*Recording, error) {
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	b := newBuilder()
	for line := 1; sc.Scan(); line++ {
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		var r jsonlRecord
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, fmt.Errorf("replay: jsonl line %d: %w", line, err)
		}
		if r.Prompt == "" || r.Model == "" {
			return nil, fmt.Errorf("replay: jsonl line %d: prompt and model are required", line)
		}
		b.add(r.Model, r.Prompt, r.Response)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("replay: jsonl: %w", err)
	}
	return b.build()
}

type builder struct {
	rec *Recording
}

func newBuilder() *builder { return &builder{rec: &Recording{byModel: map[string]*answers{}}} }

// add keeps the first answer recorded for a prompt, so a file's order
// decides between duplicates.
func (b *builder) add(model, prompt, response string) {
	a := b.rec.byModel[model]
	if a == nil {
		a = &answers{exact: map[string]string{}}
		b.rec.byModel[model] = a
	}
	n := Normalize(prompt)
	if n == "" {
		return
	}
	if _, dup := a.exact[n]; !dup {
		a.exact[n] = response
	}
}

func (b *builder) build() (*Recording, error) {
	if len(b.rec.byModel) == 0 {
		return nil, errors.New("replay: the recording holds no answers")
	}
	for _, a := range b.rec.byModel {
		a.bySize = make([]string, 0, len(a.exact))
		for p := range a.exact {
			a.bySize = append(a.bySize, p)
		}
		slices.SortFunc(a.bySize, func(x, y string) int {
			if len(x) != len(y) {
				return len(y) - len(x)
			}
			return strings.Compare(x, y)
		})
	}
	return b.rec, nil
}

// Normalize is the form prompts are matched in: typographic quotes,
// apostrophes and dashes become their ASCII forms, every run of white space
// (including non-breaking spaces) becomes one space, leading and trailing
// space is dropped, and letters are lower-cased. Digits and punctuation are
// kept, so two questions that differ in a number never match each other.
func Normalize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if unicode.IsSpace(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		switch r {
		case '\u2018', '\u2019', '\u201a', '\u201b', '\u2032', '\u00b4', '`':
			b.WriteByte('\'')
		case '\u201c', '\u201d', '\u201e', '\u201f', '\u2033', '\u00ab', '\u00bb':
			b.WriteByte('"')
		case '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2212':
			b.WriteByte('-')
		case '\u2026':
			b.WriteString("...")
		default:
			if r < utf8.RuneSelf {
				if 'A' <= r && r <= 'Z' {
					r += 'a' - 'A'
				}
				b.WriteByte(byte(r))
			} else {
				b.WriteRune(unicode.ToLower(r))
			}
		}
	}
	return b.String()
}
