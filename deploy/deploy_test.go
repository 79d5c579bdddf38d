// Package deploy holds the container, Kubernetes and Grafana files and the
// tests that check them in CI (no cluster or kubectl needed: the manifests
// are parsed and their contract asserted).
package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/fulcrumhq/fulcrum/internal/config"
)

// obj is a parsed Kubernetes object.
type obj = map[string]any

func get(o any, path ...string) any {
	for _, p := range path {
		m, ok := o.(map[string]any)
		if !ok {
			return nil
		}
		o = m[p]
	}
	return o
}

func list(o any, path ...string) []any { l, _ := get(o, path...).([]any); return l }

func loadManifests(t *testing.T) map[string]obj {
	t.Helper()
	files, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	out := map[string]obj{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var o obj
			err := dec.Decode(&o)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if o == nil {
				continue
			}
			kind, _ := o["kind"].(string)
			name, _ := get(o, "metadata", "name").(string)
			if kind == "Kustomization" {
				for _, r := range list(o, "resources") {
					if _, err := os.Stat(filepath.Join("kubernetes", r.(string))); err != nil {
						t.Errorf("kustomization: %v", err)
					}
				}
				continue
			}
			if kind == "" || name == "" || o["apiVersion"] == nil {
				t.Fatalf("%s: object without apiVersion/kind/metadata.name", f)
			}
			out[kind+"/"+name] = o
		}
	}
	return out
}

// TestDeployment asserts the contract of the Deployment: several replicas,
// probes on /readyz and /healthz, non-root and read-only, secrets only by
// reference, and a grace period longer than the gateway's own.
func TestDeployment(t *testing.T) {
	objs := loadManifests(t)
	d := objs["Deployment/fulcrum"]
	if d == nil {
		t.Fatal("no Deployment/fulcrum")
	}
	if n, _ := get(d, "spec", "replicas").(int); n < 2 {
		t.Errorf("replicas = %v, want >= 2", get(d, "spec", "replicas"))
	}
	pod := get(d, "spec", "template", "spec")
	if get(pod, "securityContext", "runAsNonRoot") != true {
		t.Error("pod securityContext.runAsNonRoot is not true")
	}
	cs := list(pod, "containers")
	if len(cs) != 1 {
		t.Fatalf("%d containers", len(cs))
	}
	c := cs[0]
	for probe, path := range map[string]string{"readinessProbe": "/readyz", "livenessProbe": "/healthz"} {
		if got := get(c, probe, "httpGet", "path"); got != path {
			t.Errorf("%s path = %v, want %s", probe, got, path)
		}
		if got := get(c, probe, "httpGet", "port"); got != "http" {
			t.Errorf("%s port = %v, want the named port http", probe, got)
		}
	}
	if get(c, "securityContext", "allowPrivilegeEscalation") != false || get(c, "securityContext", "readOnlyRootFilesystem") != true {
		t.Error("container must set allowPrivilegeEscalation: false and readOnlyRootFilesystem: true")
	}
	if drop := list(c, "securityContext", "capabilities", "drop"); len(drop) != 1 || drop[0] != "ALL" {
		t.Errorf("capabilities.drop = %v, want [ALL]", drop)
	}

	// Every env var is a secret reference; nothing secret is inline.
	envs := map[string]bool{}
	for _, e := range list(c, "env") {
		name, _ := get(e, "name").(string)
		envs[name] = true
		if get(e, "value") != nil {
			t.Errorf("env %s has an inline value; take it from the Secret", name)
		}
		if get(e, "valueFrom", "secretKeyRef", "name") != "fulcrum-secrets" {
			t.Errorf("env %s is not a secretKeyRef to fulcrum-secrets", name)
		}
	}

	// The config the replicas run parses and validates with those
	// variables, on shared PostgreSQL and Redis.
	cm := objs["ConfigMap/fulcrum-config"]
	yml, _ := get(cm, "data", "fulcrum.yaml").(string)
	for _, ref := range regexp.MustCompile(`\$\{([A-Z_]+)\}`).FindAllStringSubmatch(yml, -1) {
		if !envs[ref[1]] {
			t.Errorf("config needs ${%s} but the Deployment does not set it", ref[1])
		}
	}
	fake := map[string]string{
		"FULCRUM_MASTER_KEY": "mk", "FULCRUM_METRICS_TOKEN": "mt", "OPENAI_API_KEY": "sk",
		"FULCRUM_DATABASE_URL": "postgres://u:p@postgres:5432/fulcrum", "FULCRUM_REDIS_URL": "redis://redis:6379/0",
	}
	cfg, err := config.Parse([]byte(yml), func(k string) (string, bool) { v, ok := fake[k]; return v, ok })
	if err != nil {
		t.Fatalf("ConfigMap fulcrum.yaml: %v", err)
	}
	if !strings.HasPrefix(cfg.Storage.URL, "postgres://") || cfg.Storage.Redis == "" {
		t.Errorf("replicas must share PostgreSQL and Redis; storage = %q, redis = %q", cfg.Storage.URL, cfg.Storage.Redis)
	}
	if cfg.Server.MasterKey == "" {
		t.Error("no master key: a non-loopback listener would be refused")
	}

	// Graceful shutdown fits the pod's grace period: preStop sleep, then
	// SIGTERM and shutdown_grace for in-flight streams.
	graceS, _ := get(pod, "terminationGracePeriodSeconds").(int)
	preStop, _ := get(c, "lifecycle", "preStop", "sleep", "seconds").(int)
	need := time.Duration(preStop)*time.Second + cfg.Server.ShutdownGrace.D()
	if time.Duration(graceS)*time.Second <= need {
		t.Errorf("terminationGracePeriodSeconds %ds <= preStop %ds + shutdown_grace %s", graceS, preStop, cfg.Server.ShutdownGrace.D())
	}
	if objs["Service/fulcrum"] == nil {
		t.Error("no Service/fulcrum")
	}
}

// TestDockerfile checks the image is multi-stage, static and non-root.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if n := regexp.MustCompile(`(?m)^FROM `).FindAllStringIndex(s, -1); len(n) < 2 {
		t.Error("Dockerfile is not multi-stage")
	}
	for _, want := range []string{"CGO_ENABLED=0", "-buildvcs=true", "USER 65532", "distroless/static"} {
		if !strings.Contains(s, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}

// TestGrafanaDashboard checks the dashboard is valid JSON whose every
// query names a series the gateway exports.
func TestGrafanaDashboard(t *testing.T) {
	b, err := os.ReadFile("grafana/fulcrum.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Title  string
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Panels) < 6 {
		t.Fatalf("%d panels", len(d.Panels))
	}
	known := exportedSeries(t)
	seriesRef := regexp.MustCompile(`fulcrum_[a-z_]+`)
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			for _, name := range seriesRef.FindAllString(q.Expr, -1) {
				if !known[name] {
					t.Errorf("panel %q queries %s, which the gateway does not export", p.Title, name)
				}
			}
		}
	}
}

// exportedSeries lists the metric names declared in the gateway's source
// (every "fulcrum_..." string literal outside tests), with the _bucket,
// _sum and _count series of histograms.
func exportedSeries(t *testing.T) map[string]bool {
	t.Helper()
	lit := regexp.MustCompile(`"(fulcrum_[a-z_]+)"`)
	known := map[string]bool{}
	err := filepath.WalkDir("../internal", func(path string, de os.DirEntry, err error) error {
		if err != nil || de.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range lit.FindAllStringSubmatch(string(b), -1) {
			known[m[1]] = true
			for _, sfx := range []string{"_bucket", "_sum", "_count"} {
				known[m[1]+sfx] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !known["fulcrum_requests_total"] {
		t.Fatal("did not find the gateway's series in ../internal")
	}
	return known
}
