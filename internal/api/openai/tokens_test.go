package openai

import (
	"runtime"
	"strings"
	"testing"
)

// Embeddings input given as token ids is decoded into slices sized once:
// grown by encoding/json a quarter at a time, 5 million ids in a 15 MB
// body peaked at 229 MB. What the decoder allocates stays within a few
// times the body.
func TestDecodeEmbedTokensMemory(t *testing.T) {
	ids := strings.Repeat("1000,", 1_000_000) + "1"
	for _, c := range []struct {
		input  string
		arrays int
	}{
		{`[` + ids + `]`, 1},
		{`[[` + ids + `]]`, 1},
		{`[[1, 2],[` + ids + `] , [3]]`, 3},
	} {
		body := `{"model":"m","input":` + c.input + `}`
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		req, err := DecodeEmbedRequest([]byte(body))
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatal(err)
		}
		if len(req.Tokens) != c.arrays {
			t.Fatalf("%d arrays of token ids decoded, want %d", len(req.Tokens), c.arrays)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 6*uint64(len(body)) {
			t.Errorf("%.10s...: %d bytes allocated for a %d-byte body", c.input, n, len(body))
		}
	}
}
