package jsonscan

import (
	"slices"

	"github.com/fulcrumhq/fulcrum/internal/jsonw"
)

// Edit replaces the literal doc[Start:End] (a String's range: a string,
// or a number visited by WalkAll) with the JSON string encoding of Text.
type Edit struct {
	Start, End int
	Text       string
}

// Rewrite returns a copy of doc with each edit applied; every byte outside
// the edited literals is kept. Edits must not overlap; they are applied in
// order of Start. With no edits it returns doc itself.
func Rewrite(doc []byte, edits []Edit) []byte {
	if len(edits) == 0 {
		return doc
	}
	if !slices.IsSortedFunc(edits, func(a, b Edit) int { return a.Start - b.Start }) {
		edits = slices.Clone(edits)
		slices.SortFunc(edits, func(a, b Edit) int { return a.Start - b.Start })
	}
	n := len(doc)
	for _, e := range edits {
		n += len(e.Text) + 2 - (e.End - e.Start)
	}
	out := make([]byte, 0, max(n, 0)+16)
	at := 0
	for _, e := range edits {
		out = append(out, doc[at:e.Start]...)
		out = jsonw.AppendString(out, e.Text)
		at = e.End
	}
	return append(out, doc[at:]...)
}
