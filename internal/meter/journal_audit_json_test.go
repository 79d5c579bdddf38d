package meter

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

func TestAppendRowJSONMatchesEncodingJSON(t *testing.T) {
	full := store.AuditRow{RequestID: "req_3", KeyID: "key_1", Classes: []string{"email:2", "iban:1"}, Action: "redact",
		Candidates: []string{"openai:proprietary", "local:self_hosted"}, Chosen: "local", ChosenHosting: "self_hosted", Outcome: "200"}
	full.Seq, full.PrevHash, full.Hash = 42, "ab12", "cd34"
	full.Time = time.Date(2026, 7, 24, 12, 0, 0, 5000, time.FixedZone("x", -3600))
	tests := []struct {
		name string
		row  store.AuditRow
	}{
		{"full", full},
		{"gateway", store.AuditRow{Time: full.Time, RequestID: "req_1", Action: "none", Outcome: "200"}},
		{"empty lists", store.AuditRow{Classes: []string{}, Candidates: []string{}}},
		{"escapes", store.AuditRow{RequestID: "q\"\\\n\x01é\xff\u2029", Classes: []string{"a\tb"}, Outcome: "502 upstream_error"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := json.Marshal(&tt.row)
			if err != nil {
				t.Fatal(err)
			}
			if got := appendAuditJSON(nil, &tt.row); !bytes.Equal(got, want) {
				t.Errorf("appendAuditJSON:\n got %s\nwant %s", got, want)
			}
		})
	}
}
