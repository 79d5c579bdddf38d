package eval

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/dataset"
)

// BuiltinGSM8K names the embedded GSM8K test set (1,319 questions): each
// case has the variables question, solution (the reference working) and
// answer (the gold number after "####", commas removed), and ID
// "gsm8k-NNNN" in file order.
const BuiltinGSM8K = "builtin:gsm8k"

// LoadCases reads cases from BuiltinGSM8K or a .jsonl or .csv file. A
// JSONL object's fields and a CSV row's columns become the case's
// variables (numbers and booleans as they are written); a field or column
// named "id" becomes the case ID.
func LoadCases(from string) ([]Case, error) {
	if from == BuiltinGSM8K {
		return gsm8kCases()
	}
	if strings.HasPrefix(from, "builtin:") {
		return nil, fmt.Errorf("unknown built-in case set %q (have %q)", from, BuiltinGSM8K)
	}
	b, err := os.ReadFile(from)
	if err != nil {
		return nil, err
	}
	switch strings.ToLower(filepath.Ext(from)) {
	case ".jsonl", ".ndjson":
		return jsonlCases(bytes.NewReader(b))
	case ".csv":
		return csvCases(bytes.NewReader(b))
	}
	return nil, fmt.Errorf("%s: want a .jsonl or .csv file", from)
}

func gsm8kCases() ([]Case, error) {
	cases, err := jsonlCases(bytes.NewReader(dataset.GSM8KTest()))
	if err != nil {
		return nil, err
	}
	for i := range cases {
		v := cases[i].Vars
		v["solution"] = v["answer"]
		v["answer"] = GoldAnswer(v["solution"])
		cases[i].ID = fmt.Sprintf("gsm8k-%04d", i+1)
	}
	return cases, nil
}

// GoldAnswer is the number after the last "####" of a GSM8K solution, with
// thousands separators removed.
func GoldAnswer(solution string) string {
	i := strings.LastIndex(solution, "####")
	if i < 0 {
		return ""
	}
	return strings.ReplaceAll(strings.TrimSpace(solution[i+4:]), ",", "")
}

func jsonlCases(r io.Reader) ([]Case, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var out []Case
	for line := 1; sc.Scan(); line++ {
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		vars := make(map[string]string, len(obj))
		for k, v := range obj {
			var s string
			if err := json.Unmarshal(v, &s); err == nil {
				vars[k] = s
			} else {
				vars[k] = string(v) // numbers, booleans, objects: as written
			}
		}
		out = append(out, Case{ID: vars["id"], Vars: vars})
	}
	return out, sc.Err()
}

func csvCases(r io.Reader) ([]Case, error) {
	cr := csv.NewReader(r)
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("csv header: %w", err)
	}
	for i := range head {
		head[i] = strings.TrimSpace(strings.TrimPrefix(head[i], "\ufeff"))
	}
	var out []Case
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("csv: %w", err)
		}
		vars := make(map[string]string, len(head))
		for i, h := range head {
			vars[h] = rec[i]
		}
		out = append(out, Case{ID: vars["id"], Vars: vars})
	}
}
