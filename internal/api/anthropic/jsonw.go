package anthropic

import (
	"strconv"

	"github.com/fulcrumhq/fulcrum/internal/jsonw"
)

// Hand-written JSON appenders for the hot streaming path, where
// encoding/json's reflection and allocations would dominate.

// appendString appends s as a JSON string (see jsonw.AppendString).
func appendString(b []byte, s string) []byte { return jsonw.AppendString(b, s) }

func appendInt(b []byte, n int64) []byte { return strconv.AppendInt(b, n, 10) }
