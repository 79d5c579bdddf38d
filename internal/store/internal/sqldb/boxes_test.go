package sqldb

import (
	"strings"
	"testing"
)

// TestBoxesReuse: a column's repeated string is handed out in the box
// it got first, without allocating; a new value gets a box of its own.
func TestBoxesReuse(t *testing.T) {
	b := make(boxes, 2)
	model := strings.Repeat("gpt-4o-mini", 2) // not a constant: boxing it allocates
	other := strings.Repeat("claude", 2)
	if got := b.str(0, model); got != any(model) {
		t.Fatalf("str = %v, want %q", got, model)
	}
	same := strings.Clone(model) // equal, elsewhere in memory
	if n := testing.AllocsPerRun(100, func() { _ = b.str(0, same) }); n != 0 {
		t.Errorf("a repeated value allocates %.0f times", n)
	}
	if got := b.str(0, other); got != any(other) {
		t.Errorf("str after a change = %v, want %q", got, other)
	}
	if got := b.str(1, model); got != any(model) {
		t.Errorf("column 1 = %v, want %q", got, model)
	}
	if got := b.str(0, ""); got != any("") {
		t.Errorf("empty = %v", got)
	}
}
