package detect

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDocumentedExamples checks the examples docs/sovereignty.md gives.
func TestDocumentedExamples(t *testing.T) {
	s := newTestScanner(t)
	tests := []struct {
		text string
		want []string
	}{
		{"dial 0044 20 7946 0958 now", []string{"phone:0044 20 7946 0958"}},
		{"UK office +44 (0)20 7946 0958", []string{"phone:+44 (0)20 7946 0958"}},
		{"+1 (415) 555-2671", []string{"phone:+1 (415) 555-2671"}},
		{"listen on [fe80::1]:8080", []string{"ip_private:fe80::1"}},
		{"mapped ::ffff:10.0.0.1 here", []string{"ip_private:::ffff:10.0.0.1"}},
		{"Bearer a8F3kd92LmQx7Zp0Wc4e", []string{"secret:a8F3kd92LmQx7Zp0Wc4e"}},
		{`"apiKey": "Zx81kLmP0qRs7TuVw2Yb"`, []string{"secret:Zx81kLmP0qRs7TuVw2Yb"}},
		{"my password is hunter2", nil},
		{"jane at example dot com", []string{"email:jane at example dot com"}},
		{"ann [at] example [dot] com", []string{"email:ann [at] example [dot] com"}},
		{"look at example.com", nil},
		{"a n n @ e x a m p l e . c o m", nil},
	}
	for _, tt := range tests {
		got := found(tt.text, s.Scan(tt.text, Builtin, nil))
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Scan(%q) (-want +got):\n%s", tt.text, diff)
		}
	}
}
