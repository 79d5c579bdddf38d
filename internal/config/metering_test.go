package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestMeteringDefaultsAndValidation(t *testing.T) {
	noEnv := func(string) (string, bool) { return "", false }
	c, err := Parse([]byte("storage: { data_dir: /var/lib/fulcrum }\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	m := c.Metering
	if m.BatchSize != 500 || m.FlushInterval.D() != 50*time.Millisecond || m.SelfHosted.Window.D() != 15*time.Minute ||
		m.SelfHosted.MinTokensPerSecond != 1 || m.JournalFsync || c.JournalPath() != "/var/lib/fulcrum/journal" {
		t.Errorf("defaults: %+v, journal %s", m, c.JournalPath())
	}
	_, err = Parse([]byte("metering: { batch_size: -1, flush_interval: 20s, self_hosted: { window: 10s } }\n"), noEnv)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"metering.batch_size", "metering.flush_interval", "metering.self_hosted.window"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("no error for %s in %v", want, err)
		}
	}
}
