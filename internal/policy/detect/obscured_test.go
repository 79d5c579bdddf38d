package detect

import (
	"slices"
	"testing"
)

// Addresses written so that harvesters miss them are read by a model as
// the address, so they are found; prose sharing the words is not.
func TestObscuredEmail(t *testing.T) {
	s := newTestScanner(t)
	tests := []struct {
		text string
		want []string
	}{
		{"write to ann [at] example [dot] com today", []string{"email:ann [at] example [dot] com"}},
		{"ann(at)example.com", []string{"email:ann(at)example.com"}},
		{"ann {at} mail {dot} example {dot} co {dot} uk", []string{"email:ann {at} mail {dot} example {dot} co {dot} uk"}},
		{"ANN[AT]EXAMPLE[DOT]COM", []string{"email:ANN[AT]EXAMPLE[DOT]COM"}},
		{"ann@example(dot)com", []string{"email:ann@example(dot)com"}},
		{"mail ann @ example . com now", []string{"email:ann @ example . com"}},
		{"mail ann @ example.com", []string{"email:ann @ example.com"}},
		{"reach jane.doe at example dot org", []string{"email:jane.doe at example dot org"}},
		{"jane AT corp DOT example DOT de.", []string{"email:jane AT corp DOT example DOT de"}},
		{"plain ann@example.com stays one span", []string{"email:ann@example.com"}},
		{"mail ann.leak\n@\nexample.com", []string{"email:ann.leak\n@\nexample.com"}},
		{"mail ann.leak\t@\texample.com", []string{"email:ann.leak\t@\texample.com"}},
		{"mail ann.leak@\r\nexample.com", []string{"email:ann.leak@\r\nexample.com"}},

		{"look at example.com for docs", nil},         // a sentence: bare "at", a real dot
		{"available at docs.python.org", nil},         // likewise
		{"look at utils dot py and main dot go", nil}, // file names, not domains
		{"the angle at the dot product", nil},
		{"meet @ home . Then we go", nil},          // not a top-level domain
		{"thanks @bob for the fix", nil},           // a mention
		{"cc @alice.smith", nil},                   // a handle
		{"y = a @ b.mT", nil},                      // matrix product
		{"npm i @types/node and pkg @ 1.2.3", nil}, // packages and versions
		{"Claude <noreply [at] anthropic [dot] com>", nil},
		{"at at at [at] (at) @ . dot", nil},
		{"reach jane.doe\nat example dot org", nil},         // a line break is no space around "at"
		{"class A:\n\t@property\n\tdef x(self): pass", nil}, // a decorator
	}
	for _, tt := range tests {
		got := found(tt.text, s.Scan(tt.text, Builtin, nil))
		if !slices.Equal(got, tt.want) {
			t.Errorf("%q: found %v, want %v", tt.text, got, tt.want)
		}
	}
}
