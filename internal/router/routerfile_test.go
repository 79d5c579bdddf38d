package router

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/provider"
	"github.com/fulcrumhq/fulcrum/internal/router/difficulty"
)

// A route with router_file scores with the trained file and turns
// strong_share into a threshold on the file's own training prompts: about
// 40% of prompts like those go to the strong target.
func TestRouterFile(t *testing.T) {
	ex, err := difficulty.LoadDomain("mt_bench")
	if err != nil {
		t.Fatal(err)
	}
	res := difficulty.TrainAndBlend(ex, difficulty.RobustOptions{Buckets: 64, Iters: 50})
	b, err := res.Model.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	file, err := difficulty.Parse(b) // the file's numbers are rounded to 6 digits
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "router.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	env := newEnv(t, fmt.Sprintf(`
routes:
  - {name: rt, strategy: router, targets: [a, b], strong_share: 0.4, router_file: %q}
`, path), nil)
	p := env.plan(t, "rt")
	strong := 0
	for _, e := range ex {
		d := p.For(userReq(e.Prompt)).Decision()
		if want := file.Score(e.Prompt); math.Abs(d.Score-want) > 1e-12 {
			t.Fatalf("score %v, the file's model says %v", d.Score, want)
		}
		if d.Strong {
			strong++
		}
	}
	if share := float64(strong) / float64(len(ex)); math.Abs(share-0.4) > 0.05 {
		t.Errorf("strong share %.3f, want 0.4±0.05", share)
	}
}

func TestRouterFileErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"features":[{"name":"nope","std":1,"weight":1}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ file, want string }{
		{filepath.Join(dir, "missing.json"), "router_file"},
		{bad, `unknown feature "nope"`},
	} {
		_, err := newEnvErr(t, fmt.Sprintf("routes:\n  - {name: rt, strategy: router, targets: [a, b], router_file: %q}\n", tc.file))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.file, err, tc.want)
		}
	}
}

// newEnvErr builds a router from routes and returns New's error.
func newEnvErr(t *testing.T, routes string) (*Router, error) {
	t.Helper()
	cfg, err := config.Parse([]byte(testProviders+routes), func(string) (string, bool) { return "", false })
	if err != nil {
		return nil, err
	}
	provs := map[string]provider.Provider{}
	for _, p := range cfg.Providers {
		provs[p.Name] = &fakeProvider{info: provider.Info{Name: p.Name, Type: p.Type}}
	}
	return New(cfg, provs, Options{})
}
