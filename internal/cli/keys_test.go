package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// runKeys runs `fulcrum keys ARGS` against the store of cfg.
func runKeys(t *testing.T, cfg string, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, lookup: func(string) (string, bool) { return "", false }}
	cmd := keysCmd(e)
	cmd.SetArgs(append(args, "--config", cfg))
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

var secretRE = regexp.MustCompile(`(?m)^fk-[A-Za-z0-9_-]{43}$`)

func TestKeysCLI(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "fulcrum.yaml")
	yaml := "storage:\n  url: sqlite://" + filepath.Join(dir, "f.db") + "\n  data_dir: " + dir + "\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runKeys(t, cfg, "create", "--name", "bot", "--team", "fin", "--models", "gpt-4o,smart",
		"--budget", "10.00", "--period", "weekly", "--rpm", "60", "--tpm", "100000", "--expires", "720h",
		"--user-budget", "0.50", "--user-period", "weekly")
	if err != nil {
		t.Fatalf("create: %v\n%s", err, out)
	}
	secret := secretRE.FindString(out)
	if secret == "" || !strings.Contains(out, "shown only now") {
		t.Fatalf("create printed no secret and warning:\n%s", out)
	}
	for _, want := range []string{"bot", "fin", "gpt-4o,smart", "$10.00/weekly", "$0.50/weekly", "60", "100000", "active", secret[:10] + "…"} {
		if !strings.Contains(out, want) {
			t.Errorf("create output lacks %q:\n%s", want, out)
		}
	}
	id := regexp.MustCompile(`key_[0-9a-f]{16}`).FindString(out)

	out, err = runKeys(t, cfg, "list")
	if err != nil || !strings.Contains(out, id) || strings.Contains(out, secret) {
		t.Errorf("list: %v\n%s", err, out)
	}
	out, err = runKeys(t, cfg, "rotate", id)
	newSecret := secretRE.FindString(out)
	if err != nil || newSecret == "" || newSecret == secret {
		t.Errorf("rotate: %v\n%s", err, out)
	}
	out, err = runKeys(t, cfg, "revoke", id)
	if err != nil || !strings.Contains(out, "revoked") {
		t.Errorf("revoke: %v\n%s", err, out)
	}
	for _, bad := range [][]string{
		{"create"},
		{"create", "--name", "x", "--budget", "ten"},
		{"create", "--name", "x", "--user-budget", "ten"},
		{"create", "--name", "x", "--user-budget", "1", "--user-period", "total"},
		{"create", "--name", "x", "--expires", "-1h"},
		{"create", "--name", "bot"},
		{"revoke", "key_missing"},
		{"rotate", id},
	} {
		if _, err := runKeys(t, cfg, bad...); err == nil {
			t.Errorf("keys %v: no error", bad)
		}
	}
}

// With storage.redis, `keys revoke` and `keys rotate` announce the change
// on the replicas' channel, as the gateway's admin API does, so every
// replica drops the key from its cache at once; they published nothing,
// and other replicas kept accepting a revoked key for key_cache_ttl.
func TestKeysCLIPublishesChanges(t *testing.T) {
	url := os.Getenv("FULCRUM_TEST_REDIS_URL")
	if url == "" {
		t.Skip("FULCRUM_TEST_REDIS_URL not set; run with FULCRUM_TEST_REDIS_URL=redis://127.0.0.1:6379/0 (as .ci/run does)")
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	prefix := fmt.Sprintf("fulcrum-cli-test-%d:", time.Now().UnixNano())
	ps := rdb.Subscribe(context.Background(), prefix+"keys")
	defer ps.Close()
	if _, err := ps.Receive(context.Background()); err != nil { // the subscription's confirmation
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "fulcrum.yaml")
	yaml := "storage:\n  url: sqlite://" + filepath.Join(dir, "f.db") + "\n  data_dir: " + dir + "\n  redis: " + url + "\n" +
		"metering:\n  limits:\n    redis_prefix: \"" + prefix + "\"\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runKeys(t, cfg, "create", "--name", "bot")
	if err != nil {
		t.Fatalf("create: %v\n%s", err, out)
	}
	id := regexp.MustCompile(`key_[0-9a-f]{16}`).FindString(out)
	for _, cmd := range []string{"rotate", "revoke"} {
		if out, err := runKeys(t, cfg, cmd, id); err != nil {
			t.Fatalf("%s: %v\n%s", cmd, err, out)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		msg, err := ps.ReceiveMessage(ctx)
		cancel()
		if err != nil || msg.Payload != id {
			t.Fatalf("%s: announced %v, %v; want %s", cmd, msg, err, id)
		}
	}
}
