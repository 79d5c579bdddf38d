package config

import (
	"os"
	"strings"
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
		// Absurd periods: a time.Duration overflowed (negative: "for ever").
		{"metering: { retention: { usage: 99999999999d } }", 0, 0, 0, true},
		{"metering: { retention: { audit: 9999999999999999w } }", 0, 0, 0, true},
		{"metering: { retention: { audit: 36501d } }", 0, 0, 0, true},
		{"metering: { retention: { audit: 36500d } }", 90 * day, 36500 * day, 90 * day, false},
		{"metering: { retention: { usage: -1d } }", 0, 0, 0, true},
		{"metering: { retention: { usage: 90 } }", 0, 0, 0, true},
		// An empty value (a variable that expanded to nothing) is not
		// "for ever": raw rows would grow without bound unnoticed.
		{"metering: { retention: { usage: '' } }", 0, 0, 0, true},
		{"metering: { retention: { audit: ${AUDIT_RETENTION:-} } }", 0, 0, 0, true},
		{"metering: { retention: { usage: ~ } }", 90 * day, 0, 90 * day, false},
		// Daily rollups shorter than hourly ones: whole old days would be
		// read from daily rows already gone.
		{"metering: { retention: { daily_rollups: 30d } }", 0, 0, 0, true},
		{"metering: { retention: { hourly_rollups: 0, daily_rollups: 900d } }", 0, 0, 0, true},
		{"metering: { retention: { daily_rollups: 400d } }", 90 * day, 0, 90 * day, false},
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

// A size's error quotes it as written, unit included.
func TestByteSizeErrorQuotesValue(t *testing.T) {
	for _, v := range []string{"99999999999999GB", "1.5GB", "-1MB"} {
		if _, err := ParseByteSize(v); err == nil || !strings.Contains(err.Error(), `"`+v+`"`) {
			t.Errorf("ParseByteSize(%q) = %v, want an error quoting it", v, err)
		}
	}
}

func TestRollupEndUsers(t *testing.T) {
	env := func(string) (string, bool) { return "", false }
	for _, tc := range []struct {
		yaml string
		want int
		bad  bool
	}{
		{"metering: {}", 0, false},
		{"metering: {retention: {rollup_end_users: 0}}", 0, false},
		{"metering: {retention: {rollup_end_users: 50}}", 50, false},
		{"metering: {retention: {rollup_end_users: -1}}", 0, true},
		{"metering: {retention: {rollup_end_users: 2000000}}", 0, true},
	} {
		c, err := Parse([]byte(tc.yaml), env)
		if tc.bad {
			if err == nil || !strings.Contains(err.Error(), "metering.retention.rollup_end_users") {
				t.Errorf("%s: err %v, want one naming metering.retention.rollup_end_users", tc.yaml, err)
			}
			continue
		}
		if err != nil || c.Metering.Retention.RollupEndUsers != tc.want {
			t.Errorf("%s: %v, rollup_end_users %d; want %d", tc.yaml, err, c.Metering.Retention.RollupEndUsers, tc.want)
		}
	}
}

// A retention that does not parse stops Load with the file and the line.
func TestLoadNamesFileAndLine(t *testing.T) {
	path := t.TempDir() + "/fulcrum.yaml"
	if err := os.WriteFile(path, []byte("# gateway\n\nmetering:\n  retention:\n    usage: 1x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil || !strings.Contains(err.Error(), path+": ") || !strings.Contains(err.Error(), "line 5") || !strings.Contains(err.Error(), `"1x"`) {
		t.Errorf("Load = %v, want an error naming %s, line 5 and \"1x\"", err, path)
	}
}
