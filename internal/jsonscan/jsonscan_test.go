package jsonscan

import (
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// strs lists the strings Walk visits, keys prefixed with "k:".
func strs(t *testing.T, doc string) ([]string, error) {
	t.Helper()
	var out []string
	err := Walk([]byte(doc), func(s *String) {
		if doc[s.Start] != '"' || doc[s.End-1] != '"' {
			t.Errorf("range %d:%d of %q is not a literal", s.Start, s.End, doc)
		}
		if s.Key {
			out = append(out, "k:"+s.Text)
		} else {
			out = append(out, s.Member+"="+s.Text)
		}
	})
	return out, err
}

func TestWalkAccepts(t *testing.T) {
	tests := []struct {
		doc  string
		want []string
	}{
		{`{"a":"b"}`, []string{"k:a", "a=b"}},
		{` {"user" : "ann\u0040example.com" , "n":[1,-2.5e+3,0,true,false,null]} `, []string{"k:user", "user=ann@example.com", "k:n"}},
		{`{"stop":["x","y\ty"],"m":{"k":"v"}}`, []string{"k:stop", "stop=x", "stop=y\ty", "k:m", "k:k", "k=v"}},
		{`{"e":"\"\\\/\b\f\n\r\t"}`, []string{"k:e", "e=\"\\/\b\f\n\r\t"}},
		{`{"s":"\ud83d\ude00 é 日本"}`, []string{"k:s", "s=😀 é 日本"}},
		{`{"a\u0041":"x","aB":"y"}`, []string{"k:aA", "aA=x", "k:aB", "aB=y"}},
		{`["top", {"x": ["in"]}]`, []string{"=top", "k:x", "x=in"}},
		{`"bare"`, []string{"=bare"}},
		{`{"nul":"\u0000"}`, []string{"k:nul", "nul=\x00"}},
	}
	for _, tt := range tests {
		got, err := strs(t, tt.doc)
		if err != nil {
			t.Errorf("Walk(%s): %v", tt.doc, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Walk(%s) (-want +got):\n%s", tt.doc, diff)
		}
	}
}

func TestWalkRefuses(t *testing.T) {
	tests := []struct{ name, doc, reason string }{
		{"invalid escape", `{"a":"ann\u0040example.com \q"}`, "invalid escape"},
		{"short unicode escape", `{"a":"\u12"}`, `invalid \u escape`},
		{"lone high surrogate", `{"a":"\ud800"}`, "lone UTF-16 surrogate"},
		{"lone low surrogate", `{"a":"\udc00x"}`, "lone UTF-16 surrogate"},
		{"high then non-surrogate", `{"a":"\ud800\u0041"}`, "lone UTF-16 surrogate"},
		{"duplicate key", `{"content":"a","content":"b"}`, "duplicate key"},
		{"case-variant key", `{"role":"user","content":"mail ann@example.com","Content":"hi"}`, "duplicate key"},
		{"kelvin sign key", "{\"k\":1,\"\u212a\":2}", "duplicate key"},
		{"long s key", "{\"stop\":1,\"\u017ftop\":2}", "duplicate key"},
		{"escaped duplicate", `{"content":"a","\u0063ontent":"b"}`, "duplicate key"},
		{"nested duplicate", `{"m":[{"x":1,"X":2}]}`, "duplicate key"},
		{"control character", "{\"a\":\"x\ny\"}", "control character"},
		{"invalid utf8", "{\"a\":\"\xff\"}", "invalid UTF-8"},
		{"trailing data", `{"a":1} {"a":2}`, "after the top-level value"},
		{"trailing comma", `{"a":1,}`, "expected a string key"},
		{"single quotes", `{'a':1}`, "expected a string key"},
		{"leading zero", `{"a":01}`, "expected ',' or '}'"},
		{"bare dot", `{"a":1.}`, "invalid number"},
		{"plus sign", `{"a":+1}`, "unexpected character"},
		{"NaN", `{"a":NaN}`, "unexpected character"},
		{"unterminated", `{"a":"b`, "unterminated string"},
		{"empty", ``, "unexpected end"},
		{"bom", "\ufeff{}", "unexpected character"},
		{"deep", strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1), "nesting deeper"},
		{"deep objects", strings.Repeat(`{"a":`, MaxDepth+1) + "1" + strings.Repeat("}", MaxDepth+1), "nesting deeper"},
		{"true typo", `{"a":tru}`, "invalid literal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := strs(t, tt.doc)
			if err == nil {
				t.Fatalf("Walk(%q) accepted", tt.doc)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("Walk(%q) = %v, want %q", tt.doc, err, tt.reason)
			}
		})
	}
}

func TestDepthLimitAccepted(t *testing.T) {
	doc := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	if err := Walk([]byte(doc), nil); err != nil {
		t.Fatalf("depth %d refused: %v", MaxDepth, err)
	}
}

func TestManyKeys(t *testing.T) {
	var b strings.Builder
	b.WriteString("{")
	for i := range 1000 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"key` + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + itoa(i) + `":1`)
	}
	doc := b.String() + "}"
	if err := Walk([]byte(doc), nil); err != nil {
		t.Fatalf("distinct keys refused: %v", err)
	}
	dup := doc[:len(doc)-1] + `,"KEYA0":2}`
	if err := Walk([]byte(dup), nil); err == nil || !strings.Contains(err.Error(), "duplicate key") {
		t.Fatalf("case-variant key among 1000 not refused: %v", err)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestRewrite(t *testing.T) {
	doc := []byte(`{"user": "ann@example.com", "messages":[{"content":"mail \u0061nn@example.com"}]}`)
	var edits []Edit
	Walk(doc, func(s *String) {
		if !s.Key && strings.Contains(s.Text, "ann@example.com") {
			edits = append(edits, Edit{Start: s.Start, End: s.End, Text: strings.ReplaceAll(s.Text, "ann@example.com", "[EMAIL_1]")})
		}
	})
	got := string(Rewrite(doc, edits))
	want := `{"user": "[EMAIL_1]", "messages":[{"content":"mail [EMAIL_1]"}]}`
	if got != want {
		t.Fatalf("Rewrite = %s, want %s", got, want)
	}
	if string(Rewrite(doc, nil)) != string(doc) {
		t.Fatal("Rewrite without edits changed the document")
	}
}

func TestParentOfKeys(t *testing.T) {
	doc := `{"tools":[{"parameters":{"properties":{"image_url":{"type":"string"}}}}],"image_url":{"url":"x"}}`
	got := map[string][]string{}
	if err := Walk([]byte(doc), func(s *String) {
		if s.Key {
			got[s.Text] = append(got[s.Text], s.Parent)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if p := got["image_url"]; len(p) != 2 || p[0] != "properties" || p[1] != "" {
		t.Errorf("parents of image_url = %q, want [properties \"\"]", p)
	}
	if p := got["parameters"]; len(p) != 1 || p[0] != "tools" {
		t.Errorf("parent of parameters = %q, want [tools]", p)
	}
}

// TestReaderDepth checks that a Reader reads to its own limit: a string
// at the bottom of a 300-deep document is visited under MaxDepth 300 (so
// a gateway configured for 300 scans it), and the document is refused
// one level short of it, by the zero Reader (MaxDepth) and past
// DepthLimit whatever the Reader asks.
func TestReaderDepth(t *testing.T) {
	deep := func(n int) []byte {
		return []byte(strings.Repeat(`{"a":`, n-1) + `["ann.leak@example.com"]` + strings.Repeat("}", n-1))
	}
	var got []string
	if err := (Reader{MaxDepth: 300}).WalkAll(deep(300), func(s *String) {
		if !s.Key {
			got = append(got, s.Text)
		}
	}); err != nil {
		t.Fatalf("Reader{300} refused a 300-deep document: %v", err)
	}
	if len(got) != 1 || got[0] != "ann.leak@example.com" {
		t.Errorf("values at depth 300 = %q", got)
	}
	for _, tt := range []struct {
		r     Reader
		depth int
		want  string
	}{
		{Reader{MaxDepth: 299}, 300, "nesting deeper than 299"},
		{Reader{}, MaxDepth + 1, "nesting deeper than 128"},
		{Reader{MaxDepth: 1 << 30}, DepthLimit + 1, "nesting deeper than 10000"},
	} {
		if err := tt.r.Walk(deep(tt.depth), nil); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Reader{%d}.Walk(depth %d) = %v, want %q", tt.r.MaxDepth, tt.depth, err, tt.want)
		}
	}
	if err := (Reader{MaxDepth: 1 << 30}).Walk(deep(DepthLimit), nil); err != nil {
		t.Errorf("depth DepthLimit refused: %v", err)
	}
}
