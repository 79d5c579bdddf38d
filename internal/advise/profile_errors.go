package advise

import (
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// FieldError is one problem in a profile, named by its field path as the
// profile writes it (workloads[1].share) and, where the file has the field
// or its section, by line: "profile.yaml:7: workloads[1].share: want a
// number, got "lots"".
type FieldError struct {
	// File is the profile's path (set by LoadProfile; empty for bytes).
	File string `json:"file,omitempty"`
	// Line is the field's line, or its nearest section's when the field is
	// missing; 0 when neither is in the file.
	Line int    `json:"line,omitempty"`
	Path string `json:"path"`
	Msg  string `json:"message"`
}

func (e *FieldError) Error() string {
	var loc string
	switch {
	case e.File != "" && e.Line > 0:
		loc = fmt.Sprintf("%s:%d: ", e.File, e.Line)
	case e.File != "":
		loc = e.File + ": "
	case e.Line > 0:
		loc = fmt.Sprintf("line %d: ", e.Line)
	}
	if e.Path == "" {
		return loc + e.Msg
	}
	return loc + e.Path + ": " + e.Msg
}

// ProfileErrors are every problem found in a profile, in line order, one a
// line, so that an editor or CI log points at each.
type ProfileErrors []*FieldError

func (es ProfileErrors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	if len(es) > 1 {
		return fmt.Sprintf("%d problems in the profile:\n%s", len(es), strings.Join(lines, "\n"))
	}
	return strings.Join(lines, "\n")
}

// schema walks a profile's YAML against the Profile type before it is
// decoded, so that a value of the wrong type or an unknown field is named
// by its path and line. (The decoder's own message, "line 7: cannot
// unmarshal !!str `lots` into float64", names neither the field nor the
// section, and a list where a map is expected reads "cannot unmarshal !!seq
// into advise.Workload".) It walks the types by their yaml tags, as the
// decoder does; lines records the line of every path it meets, for the
// errors found after decoding.
type schema struct {
	errs  ProfileErrors
	lines map[string]int
}

func (s *schema) fail(n *yaml.Node, path, f string, a ...any) {
	s.errs = append(s.errs, &FieldError{Line: n.Line, Path: path, Msg: fmt.Sprintf(f, a...)})
}

// walk checks n against t at path.
func (s *schema) walk(n *yaml.Node, t reflect.Type, path string) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) > 0 {
			s.walk(n.Content[0], t, path)
		}
		return
	}
	if _, ok := s.lines[path]; !ok {
		s.lines[path] = n.Line
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // left empty: the default
	}
	switch t.Kind() {
	case reflect.Pointer:
		s.walk(n, t.Elem(), path)
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			s.fail(n, orTop(path), "want a map of fields (%s), got %s", strings.Join(fieldNames(t), ", "), describe(n))
			return
		}
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if first, ok := seen[k.Value]; ok && k.ShortTag() != "!!merge" {
				// Which one counts is the decoder's choice (it refuses):
				// name both lines.
				s.errs = append(s.errs, &FieldError{Line: k.Line, Path: join(path, k.Value), Msg: fmt.Sprintf("given twice (first at line %d)", first)})
				continue
			}
			seen[k.Value] = k.Line
			if k.ShortTag() == "!!merge" {
				// "<<: *defaults" merges an anchored map (or a list of
				// them) into this one, as the decoder does.
				for v.Kind == yaml.AliasNode && v.Alias != nil {
					v = v.Alias
				}
				if v.Kind == yaml.SequenceNode {
					for _, m := range v.Content {
						s.walk(m, t, path)
					}
				} else {
					s.walk(v, t, path)
				}
				continue
			}
			p := join(path, k.Value)
			f, ok := fieldByTag(t, k.Value)
			if !ok {
				msg := "unknown field"
				if near := nearest(k.Value, fieldNames(t)); near != "" {
					msg += fmt.Sprintf("; did you mean %q?", near)
				} else {
					msg += fmt.Sprintf("; %s has %s", section(path), strings.Join(fieldNames(t), ", "))
				}
				s.errs = append(s.errs, &FieldError{Line: k.Line, Path: p, Msg: msg + " (see docs/advise.md for the profile format)"})
				continue
			}
			s.lines[p] = k.Line
			s.walk(v, f.Type, p)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			s.fail(n, path, "want a list, got %s", describe(n))
			return
		}
		for i, item := range n.Content {
			s.walk(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	default:
		if n.Kind != yaml.ScalarNode {
			s.fail(n, path, "want %s, got %s", want(t), describe(n))
			return
		}
		// The decoder takes 1.5 for an int as 1: min_replicas: 1.5 would
		// be one replica, said nowhere. (24.0 is 24.)
		fraction := false
		if t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64 && n.ShortTag() == "!!float" {
			var v float64
			fraction = n.Decode(&v) != nil || v != math.Trunc(v)
		}
		if err := n.Decode(reflect.New(t).Interface()); err != nil || fraction {
			s.fail(n, path, "want %s, got %s", want(t), describe(n))
		}
	}
}

// line is the line of path in the file, or of its nearest section there.
func (s *schema) line(path string) int {
	for p := path; p != ""; {
		if l, ok := s.lines[p]; ok {
			return l
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 0
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func orTop(path string) string {
	if path == "" {
		return "the profile"
	}
	return path
}

func section(path string) string {
	if path == "" {
		return "the profile's top level"
	}
	return path
}

func fieldByTag(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if name, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); name == key && f.IsExported() {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func fieldNames(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); name != "" && name != "-" && t.Field(i).IsExported() {
			names = append(names, name)
		}
	}
	return names
}

// want says what a field of type t takes.
func want(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	}
	return t.String()
}

// describe says what the profile wrote, as a profile writer reads it.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a map"
	case yaml.SequenceNode:
		return "a list"
	}
	return strconv.Quote(n.Value)
}

// nearest is the name among names closest to key: a typo (at most two
// edits, or one for short keys), else the only name key begins
// (gpu_hourly: gpu_hourly_usd); "" when none is.
func nearest(key string, names []string) string {
	best, bestD := "", 3
	if len(key) <= 4 {
		bestD = 2
	}
	for _, n := range names {
		if d := editDistance(key, n); d < bestD {
			best, bestD = n, d
		}
	}
	if best != "" || len(key) < 3 {
		return best
	}
	for _, n := range names {
		if strings.HasPrefix(n, key) {
			if best != "" {
				return "" // peak: peak_rps or peak_hours_per_day
			}
			best = n
		}
	}
	return best
}

// editDistance is the Levenshtein distance, adjacent swaps counting one.
func editDistance(a, b string) int {
	prev2, prev, cur := make([]int, len(b)+1), make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// syntaxLine splits the YAML parser's "yaml: line 2: found a tab…".
var syntaxLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// checkSchema parses b and checks it against Profile. It returns the
// schema (for the lines of later errors) and every problem found.
func checkSchema(b []byte) (*schema, ProfileErrors) {
	s := &schema{lines: map[string]int{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		e := &FieldError{Msg: err.Error()}
		if m := syntaxLine.FindStringSubmatch(err.Error()); m != nil {
			e.Line, _ = strconv.Atoi(m[1])
			e.Msg = m[2]
		}
		return s, ProfileErrors{e}
	}
	if doc.Kind == 0 || doc.Kind == yaml.DocumentNode && len(doc.Content) == 0 {
		return s, ProfileErrors{{Msg: "the profile is empty: it needs at least workload.input_tokens_per_month, workload.output_tokens_per_month and candidates (see docs/advise.md)"}}
	}
	s.walk(&doc, reflect.TypeFor[Profile](), "")
	slices.SortStableFunc(s.errs, func(a, b *FieldError) int { return a.Line - b.Line })
	return s, s.errs
}
