package difficulty

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
)

// Recorded answers of GPT-4 (gpt-4-1106-preview, strong) and Mixtral-8x7B
// (weak) shipped with the package, from lm-sys/RouteLLM's evaluation data
// (Apache-2.0): the 14,042 MMLU test questions (MMLU, MIT; correctness per
// question) and the 80 MT-Bench questions, both turns (MT-Bench, Apache-2.0;
// GPT-4 judge scores 1–10, divided by 10). GSM8K comes from
// internal/dataset. See data/README.md.
var (
	//go:embed data/mmlu.csv.gz
	mmluGz []byte
	//go:embed data/mt_bench.csv
	mtBenchCSV []byte
)

// Domains names the embedded recordings LoadDomain reads.
var Domains = []string{"gsm8k", "mmlu", "mt_bench"}

// LoadDomain reads one embedded recording by name (see Domains).
func LoadDomain(name string) ([]Example, error) {
	switch name {
	case "gsm8k":
		return LoadGSM8K()
	case "mmlu":
		zr, err := gzip.NewReader(bytes.NewReader(mmluGz))
		if err != nil {
			return nil, fmt.Errorf("difficulty: mmlu: %w", err)
		}
		return ReadExamples(zr, "mmlu.csv", Columns{})
	case "mt_bench":
		return ReadExamples(bytes.NewReader(mtBenchCSV), "mt_bench.csv", Columns{})
	}
	return nil, fmt.Errorf("difficulty: unknown domain %q (want one of %s)", name, strings.Join(Domains, ", "))
}

// Columns names the fields of a data file. Empty names take the defaults:
// prompt ("prompt", "question" or "input"), weak ("weak", "weak_correct"
// or "weak_score"), strong ("strong", "strong_correct" or "strong_score"),
// and domain ("domain", optional).
type Columns struct {
	Prompt, Weak, Strong, Domain string
}

var defaultColumns = Columns{Prompt: "prompt|question|input", Weak: "weak|weak_correct|weak_score", Strong: "strong|strong_correct|strong_score", Domain: "domain"}

// LoadFile reads recorded answers from a CSV or TSV file (with a header
// row), a JSON Lines file (one object per line) or a JSON array of the same
// objects, by extension (.csv, .tsv, .jsonl, .ndjson, .json, optionally .gz). Each record is a prompt and each model's outcome:
// true/false, 1/0, yes/no, or a score in [0, 1] (for judge scores, divide by
// the scale first). Every error names the line.
func LoadFile(path string, cols Columns) ([]Example, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("difficulty: %w", err)
	}
	defer f.Close()
	var r io.Reader = bufio.NewReader(f)
	name := filepath.Base(path)
	if strings.HasSuffix(name, ".gz") {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("difficulty: %s: %w", path, err)
		}
		r = zr
		name = strings.TrimSuffix(name, ".gz")
	}
	ex, err := ReadExamples(r, name, cols)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return ex, nil
}

// ReadExamples reads recorded answers in the format named by name's
// extension (.csv or .jsonl/.json); see LoadFile.
func ReadExamples(r io.Reader, name string, cols Columns) ([]Example, error) {
	cols = withDefaults(cols)
	var ex []Example
	var err error
	switch ext := strings.ToLower(filepath.Ext(name)); ext {
	case ".csv":
		ex, err = readCSV(r, ',', cols)
	case ".tsv":
		ex, err = readCSV(r, '\t', cols)
	case ".jsonl", ".json", ".ndjson":
		ex, err = readJSON(r, cols)
	default:
		return nil, fmt.Errorf("difficulty: %s: unknown format %q (want .csv, .tsv, .jsonl or .json)", name, ext)
	}
	if err != nil {
		return nil, err
	}
	if len(ex) == 0 {
		return nil, fmt.Errorf("difficulty: %s: no records", name)
	}
	return ex, nil
}

func withDefaults(c Columns) Columns {
	if c.Prompt == "" {
		c.Prompt = defaultColumns.Prompt
	}
	if c.Weak == "" {
		c.Weak = defaultColumns.Weak
	}
	if c.Strong == "" {
		c.Strong = defaultColumns.Strong
	}
	if c.Domain == "" {
		c.Domain = defaultColumns.Domain
	}
	return c
}

// pick finds the first of the |-separated names among the keys.
func pick(names string, has func(string) bool) (string, bool) {
	for n := range strings.SplitSeq(names, "|") {
		if has(n) {
			return n, true
		}
	}
	return "", false
}

func readCSV(r io.Reader, comma rune, cols Columns) ([]Example, error) {
	cr := csv.NewReader(r)
	cr.Comma = comma
	cr.ReuseRecord = false
	head, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("difficulty: the file is empty: want a header line (prompt, weak, strong) and records")
	}
	if err != nil {
		return nil, fmt.Errorf("difficulty: csv header: %w", err)
	}
	pos := map[string]int{}
	for i, h := range head {
		h = strings.TrimPrefix(strings.TrimSpace(h), "\ufeff")
		if j, ok := pos[h]; ok && h != "" {
			// Which one would be read? The last, silently, before.
			return nil, fmt.Errorf("difficulty: csv header: column %q given twice (columns %d and %d)", h, j+1, i+1)
		}
		pos[h] = i
	}
	has := func(n string) bool { _, ok := pos[n]; return ok }
	var idx [4]int
	for i, want := range []string{cols.Prompt, cols.Weak, cols.Strong} {
		n, ok := pick(want, has)
		if !ok {
			return nil, fmt.Errorf("difficulty: csv header %q has no column %s", head, strings.ReplaceAll(want, "|", " or "))
		}
		idx[i] = pos[n]
	}
	idx[3] = -1
	if n, ok := pick(cols.Domain, has); ok {
		idx[3] = pos[n]
	}
	var out []Example
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			// Its line is in the error: FieldPos after a failed Read
			// panicked ("out of range index passed to FieldPos") on an
			// unterminated quote.
			return nil, fmt.Errorf("difficulty: csv: %w", err)
		}
		line, _ := cr.FieldPos(0)
		e, err := example(rec[idx[0]], rec[idx[1]], rec[idx[2]])
		if err != nil {
			return nil, fmt.Errorf("difficulty: csv line %d: %w", line, err)
		}
		if idx[3] >= 0 {
			e.Domain = rec[idx[3]]
		}
		out = append(out, e)
	}
}

// readJSON reads JSON Lines, or a file holding one JSON array of the same
// objects (what many tools export): the first character decides.
func readJSON(r io.Reader, cols Columns) ([]Example, error) {
	br := bufio.NewReader(r)
	line := 1
	for {
		c, _, err := br.ReadRune()
		if errors.Is(err, io.EOF) {
			return nil, nil // empty: "no records"
		}
		if err != nil {
			return nil, fmt.Errorf("difficulty: %w", err)
		}
		if c == '\n' {
			line++
		}
		if c == '\ufeff' || unicode.IsSpace(c) {
			continue
		}
		br.UnreadRune()
		if c == '[' {
			return readJSONArray(br, cols)
		}
		return readJSONL(br, line, cols)
	}
}

func readJSONArray(r io.Reader, cols Columns) ([]Example, error) {
	var objs []map[string]any
	dec := json.NewDecoder(r)
	if err := dec.Decode(&objs); err != nil {
		return nil, fmt.Errorf("difficulty: json array: %w", err)
	}
	if dec.More() {
		return nil, errors.New("difficulty: json array: more after the array's end (one array of records, or JSON Lines)")
	}
	out := make([]Example, 0, len(objs))
	for i, m := range objs {
		e, err := jsonExample(m, cols)
		if err != nil {
			return nil, fmt.Errorf("difficulty: json array element %d: %w", i+1, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// readJSONL reads JSON Lines; the first line read is line first of the file.
func readJSONL(r io.Reader, first int, cols Columns) ([]Example, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	var out []Example
	for line := first; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("difficulty: jsonl line %d: %w", line, err)
		}
		e, err := jsonExample(m, cols)
		if err != nil {
			return nil, fmt.Errorf("difficulty: jsonl line %d: %w", line, err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("difficulty: jsonl: %w", err)
	}
	return out, nil
}

// jsonExample reads one record's fields from a JSON object.
func jsonExample(m map[string]any, cols Columns) (Example, error) {
	has := func(n string) bool { _, ok := m[n]; return ok }
	var vals [3]string
	for i, want := range []string{cols.Prompt, cols.Weak, cols.Strong} {
		n, ok := pick(want, has)
		if !ok {
			return Example{}, fmt.Errorf("no field %s", strings.ReplaceAll(want, "|", " or "))
		}
		switch v := m[n].(type) {
		case string:
			vals[i] = v
		case bool:
			vals[i] = strconv.FormatBool(v)
		case float64:
			vals[i] = strconv.FormatFloat(v, 'g', -1, 64)
		case nil:
			return Example{}, fmt.Errorf("field %s is null", n)
		default:
			return Example{}, fmt.Errorf("field %s is a JSON %s, want a string, boolean or number", n, jsonKind(v))
		}
	}
	e, err := example(vals[0], vals[1], vals[2])
	if err != nil {
		return Example{}, err
	}
	if n, ok := pick(cols.Domain, has); ok {
		e.Domain, _ = m[n].(string)
	}
	return e, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func example(prompt, weak, strong string) (Example, error) {
	if strings.TrimSpace(prompt) == "" {
		return Example{}, errors.New("empty prompt")
	}
	w, err := outcome(weak)
	if err != nil {
		return Example{}, fmt.Errorf("weak: %w", err)
	}
	s, err := outcome(strong)
	if err != nil {
		return Example{}, fmt.Errorf("strong: %w", err)
	}
	return Example{Prompt: prompt, Weak: w, Strong: s, Steps: -1}, nil
}

// outcome parses a correctness flag or a score in [0, 1].
func outcome(v string) (float64, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "yes", "correct":
		return 1, nil
	case "false", "no", "wrong", "incorrect":
		return 0, nil
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || !(f >= 0 && f <= 1) { // NaN is neither, and hung scoring
		return 0, fmt.Errorf("%q is not true/false or a score in [0, 1]", v)
	}
	return f, nil
}
