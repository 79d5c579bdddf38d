package gateway

import (
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

func TestRequestTags(t *testing.T) {
	long := strings.Repeat("v", maxTagValue+1)
	many := ""
	for i := range maxTags + 1 {
		many += ",k" + string(rune('a'+i)) + "=v"
	}
	tests := []struct {
		name    string
		header  string
		format  *wireFormat
		body    string
		want    map[string]string
		errPara string // the Param of the expected 400
	}{
		{"none", "", fmtOpenAI, `{"model":"m"}`, nil, ""},
		{"header", "team=search, feature=summaries", fmtOpenAI, `{}`, map[string]string{"team": "search", "feature": "summaries"}, ""},
		{"metadata", "", fmtOpenAI, `{"metadata":{"team":"ads","x.y":"1"}}`, map[string]string{"team": "ads", "x.y": "1"}, ""},
		{"header wins", "team=search", fmtOpenAI, `{"metadata":{"team":"ads","env":"prod"}}`, map[string]string{"team": "search", "env": "prod"}, ""},
		{"anthropic metadata is not tags", "", fmtAnthropic, `{"metadata":{"user_id":"u1"}}`, nil, ""},
		{"responses metadata", "", fmtResponses, `{"metadata":{"team":"r"}}`, map[string]string{"team": "r"}, ""},
		{"null metadata", "", fmtOpenAI, `{"metadata":null}`, nil, ""},
		{"not key=value", "team", fmtOpenAI, `{}`, nil, "x-fulcrum-tags"},
		{"bad key", "te am=x", fmtOpenAI, `{}`, nil, "x-fulcrum-tags"},
		{"quote in key", "te'am=x", fmtOpenAI, `{}`, nil, "x-fulcrum-tags"},
		{"value too long", "team=" + long, fmtOpenAI, `{}`, nil, "x-fulcrum-tags"},
		{"control char", "", fmtOpenAI, `{"metadata":{"team":"a\u0001b"}}`, nil, "metadata"},
		{"non-string metadata", "", fmtOpenAI, `{"metadata":{"n":1}}`, nil, "metadata"},
		{"metadata not an object", "", fmtOpenAI, `{"metadata":[1]}`, nil, "metadata"},
		{"too many", many[1:], fmtOpenAI, `{}`, nil, "x-fulcrum-tags"},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.header != "" {
			h.Set("X-Fulcrum-Tags", tt.header)
		}
		got, err := requestTags(h, tt.format, []byte(tt.body))
		if tt.errPara != "" {
			e, ok := err.(*llm.Error)
			if !ok || e.Status != 400 || e.Param != tt.errPara || e.Type != llm.ErrInvalidRequest {
				t.Errorf("%s: error %#v, want a 400 naming %s", tt.name, err, tt.errPara)
			}
			continue
		}
		if err != nil || !maps.Equal(got, tt.want) {
			t.Errorf("%s: requestTags = %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
	if err := checkEndUser(strings.Repeat("u", maxEndUserLen+1)); err == nil {
		t.Error("an end user id over the bound was accepted")
	}
}
