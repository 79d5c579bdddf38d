package config

import (
	"testing"
	"time"
)

func TestRetention(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		yaml                 string
		usage, audit, minute time.Duration
		wantErr              bool
	}{
		{"", 90 * day, 0, 90 * day, false},
		{"metering: { retention: { usage: 30d, audit: 400d } }", 30 * day, 400 * day, 30 * day, false},
		{"metering: { retention: { usage: 0, minute_rollups: 2w } }", 0, 0, 14 * day, false},
		{"metering: { retention: { usage: 36h } }", 36 * time.Hour, 0, 36 * time.Hour, false},
		{"metering: { retention: { usage: 1h } }", 0, 0, 0, true},
		{"metering: { retention: { audit: 3x } }", 0, 0, 0, true},
		{"metering: { retention: { usage: 400d, hourly_rollups: 30d } }", 0, 0, 0, true},
	}
	for _, tt := range tests {
		c, err := Parse([]byte(tt.yaml), func(string) (string, bool) { return "", false })
		if (err != nil) != tt.wantErr {
			t.Errorf("%q: err = %v, want error %v", tt.yaml, err, tt.wantErr)
			continue
		}
		if tt.wantErr {
			continue
		}
		r := c.Metering.Retention
		if r.Usage.D() != tt.usage || r.Audit.D() != tt.audit || r.MinuteRollups.D() != tt.minute {
			t.Errorf("%q: usage %s audit %s minute %s", tt.yaml, r.Usage.D(), r.Audit.D(), r.MinuteRollups.D())
		}
	}
}
