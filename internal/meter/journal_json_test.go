package meter

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestAppendRecordJSONMatchesEncodingJSON(t *testing.T) {
	full := *testRecord(7)
	full.Time = time.Date(2026, 7, 24, 12, 0, 0, 123456789, time.FixedZone("x", 3600))
	full.TTFTMS, full.CachedTokens, full.CacheWriteTokens, full.ReasoningTokens = 95, 200, 100, 64
	full.ReferenceCostNanos, full.Estimated, full.PolicyAction, full.ErrorCode = -7, true, "redact", "rate_limit_error"
	full.DataClasses = []string{"email", "iban"}
	full.Tags, full.EndUser = map[string]string{"team": "search", "feature": "sum\"maries", "a": ""}, "user-42"
	odd := Record{RequestID: "q\"uote\\back\nnl\ttab\x01ctl é ✓ \u2028", Model: "m\x7f", Attempt: -1,
		DataClasses: []string{""}}
	tests := []struct {
		name string
		rec  Record
	}{
		{"gateway", *testRecord(1)},
		{"every field", full},
		{"zero", Record{}},
		{"escapes", odd},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := json.Marshal(&tt.rec)
			if err != nil {
				t.Fatal(err)
			}
			got := appendRecordJSON(nil, &tt.rec)
			if !bytes.Equal(got, want) {
				t.Errorf("appendRecordJSON:\n got %s\nwant %s", got, want)
			}
		})
	}
}

// FuzzAppendJSONString: whatever the string, the encoding is valid JSON
// that decodes to what encoding/json's would.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", "\"\\\n\r\t\x00\x1f", "é✓", "\xff\xfe", "a\xc3", "\u2028\u2029", "<&>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ref, _ := json.Marshal(s)
		var want, got string
		if err := json.Unmarshal(ref, &want); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(appendJSONString(nil, s), &got); err != nil {
			t.Fatalf("%q: invalid JSON %s: %v", s, appendJSONString(nil, s), err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", s, diff)
		}
	})
}
