package config

import (
	"strings"
	"testing"
	"time"
)

func TestDiagnosticsFlightRecorder(t *testing.T) {
	noEnv := func(string) (string, bool) { return "", false }
	c, err := Parse([]byte("diagnostics: { flight_recorder: { enabled: true, slow_request: 20ms, dir: /tmp/fr, max_snapshots: 3 } }"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	fr := c.Diagnostics.FlightRecorder
	if !fr.Enabled || fr.SlowRequest.D() != 20*time.Millisecond || fr.Dir != "/tmp/fr" || fr.MaxSnapshots != 3 {
		t.Errorf("parsed %+v", fr)
	}
	c, err = Parse([]byte("server: { listen: \"127.0.0.1:8080\" }"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if c.Diagnostics.FlightRecorder.Enabled {
		t.Error("the flight recorder is on by default")
	}
	for _, tt := range []struct{ yaml, want string }{
		{"diagnostics: { flight_recorder: { slow_request: -1s } }", "diagnostics.flight_recorder.slow_request"},
		{"diagnostics: { flight_recorder: { max_snapshots: -1 } }", "diagnostics.flight_recorder.max_snapshots"},
		{"diagnostics: { flight_recorder: { min_interval: -1s } }", "diagnostics.flight_recorder.min_interval"},
		{"diagnostics: { flight_recorder: { window: -1s } }", "diagnostics.flight_recorder.window"},
		{"diagnostics: { flight_recorder: { max_bytes: -1 } }", "diagnostics.flight_recorder.max_bytes"},
		{"diagnostics: { flight_recorder: { bogus: 1 } }", "bogus"},
	} {
		_, err := Parse([]byte(tt.yaml), noEnv)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one naming %s", tt.yaml, err, tt.want)
		}
	}
}
