package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/eval"
	"github.com/fulcrumhq/fulcrum/internal/shadow"
	"github.com/fulcrumhq/fulcrum/internal/store"
)

// seedShadow stores 40 comparisons of llama-3.1-8b shadowing gpt-4o on the
// route "chat" over the last hours (30 agree; a quarter carry a data
// class and so no prompt), and the
// usage of the 40 live requests plus their shadow calls (attempt -1,
// which must not count as traffic).
func seedShadow(t *testing.T, fx *opFixture) {
	t.Helper()
	st := fx.store(t)
	defer st.Close()
	ctx := context.Background()
	t0 := time.Now().UTC().Add(-10 * time.Hour)
	var rows []store.ShadowResult
	var recs []store.UsageRecord
	for i := range 40 {
		at := t0.Add(time.Duration(i) * time.Minute)
		id := fmt.Sprintf("req_%d", i)
		r := store.ShadowResult{Time: at, RequestID: id, KeyID: "k1", Route: "chat", Live: "gpt-4o", LiveProvider: "openai", LiveHosting: "proprietary",
			Candidate: "llama-3.1-8b", CandidateProvider: "gpu", CandidateHosting: "self_hosted", Method: "numeric", Verdict: shadow.VerdictAgree,
			LiveLatencyMS: 800, CandidateLatencyMS: 300, LiveCostNanos: 3_000_000, CandidateCostNanos: 400_000, SampleRate: 1,
			Prompt: fmt.Sprintf("what is %d plus %d?", i, i)}
		if i%4 == 3 {
			r.Verdict = shadow.VerdictDisagree
		}
		if i%4 == 0 {
			r.DataClasses, r.Prompt = []string{"email"}, ""
		}
		rows = append(rows, r)
		recs = append(recs,
			store.UsageRecord{Time: at, RequestID: id, Attempt: 1, KeyID: "k1", Model: "chat", Provider: "openai", Hosting: "proprietary", Status: 200, InputTokens: 50, OutputTokens: 20},
			store.UsageRecord{Time: at.Add(time.Second), RequestID: id, Attempt: -1, KeyID: "k1", Model: "shadow:llama-3.1-8b", Provider: "gpu", Hosting: "self_hosted", Status: 200, InputTokens: 50, OutputTokens: 20})
	}
	if _, err := st.InsertUsage(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if err := st.(store.Shadows).InsertShadow(ctx, rows); err != nil {
		t.Fatal(err)
	}
}

func TestShadowReportCommand(t *testing.T) {
	fx := newOpFixture(t)
	seedShadow(t, fx)
	out, _, err := opRun(t, "shadow", "report", "--config", fx.cfgPath, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var rep shadow.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Candidates) != 1 {
		t.Fatalf("%v: %s", err, out)
	}
	c := rep.Candidates[0]
	if c.Agreement.N != 40 || c.Agreement.K != 30 || c.VolumeSource != "usage" || c.Hosting != "self_hosted" {
		t.Errorf("candidate %+v", c)
	}
	// 40 requests (the shadow calls not counted) over the span measured,
	// scaled to a month of 730 h (30.42 days, not 30).
	if want := 40 * 730.0 / 24 / rep.Days; c.MonthlyRequests < want*0.999 || c.MonthlyRequests > want*1.001 {
		t.Errorf("monthly requests %v, want %v", c.MonthlyRequests, want)
	}
	if c.ByClass[0].Name != "email" || c.ByClass[0].Agreement.N != 10 || c.ByClass[0].Agreement.K != 10 {
		t.Errorf("by class %+v", c.ByClass)
	}
	out, _, err = opRun(t, "shadow", "report", "--config", fx.cfgPath)
	if err != nil || !strings.Contains(out, "75.0% [") || !strings.Contains(out, "llama-3.1-8b") {
		t.Errorf("table (%v):\n%s", err, out)
	}
	html := filepath.Join(t.TempDir(), "r.html")
	if _, _, err := opRun(t, "shadow", "report", "--config", fx.cfgPath, "--html", "-o", html); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(html); !strings.Contains(string(b), "<svg") {
		t.Errorf("html has no chart")
	}
}

// The exports feed the other tools: route-train trains on the labels, the
// eval export reads back as an eval report, and advise --measured takes
// the comparisons as quality evidence for the profile's candidates.
func TestShadowFeedsAdviseAndRouteTrain(t *testing.T) {
	fx := newOpFixture(t)
	seedShadow(t, fx)
	dir := t.TempDir()
	evalPath, labels := filepath.Join(dir, "shadow-eval.json"), filepath.Join(dir, "labels.jsonl")
	if _, _, err := opRun(t, "shadow", "export", "--config", fx.cfgPath, "--format", "eval", "-o", evalPath); err != nil {
		t.Fatal(err)
	}
	rep, err := eval.ReadJSONFile(evalPath)
	if err != nil {
		t.Fatal(err)
	}
	if s := rep.Summary("llama-3.1-8b"); s == nil || s.Accuracy != 0.75 || s.Cases != 40 {
		t.Errorf("eval export: %+v", rep.Models)
	}
	if _, _, err := opRun(t, "shadow", "export", "--config", fx.cfgPath, "--format", "route-train", "-o", labels); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(labels)
	if n := strings.Count(string(b), "\n"); n != 30 {
		t.Errorf("%d labels, want 30 (the comparisons without a data class)", n)
	}
	if _, _, err := opRun(t, "route-train", "--data", labels, "--out", filepath.Join(dir, "router.json"), "--split", "all"); err != nil {
		t.Errorf("route-train on the labels: %v", err)
	}
	out, _, err := opRun(t, "advise", "--profile", "../../examples/profiles/startup.yaml", "--measured", "--config", fx.cfgPath, "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var adv struct {
		Quality []struct {
			Suite, Model string
			Accuracy     float64
		} `json:"quality"`
	}
	if err := json.Unmarshal([]byte(out), &adv); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, q := range adv.Quality {
		if q.Suite == shadow.EvalSuite && q.Model == "llama-3.1-8b" && q.Accuracy == 0.75 {
			found = true
		}
	}
	if !found {
		t.Errorf("advise --measured did not take the shadow evidence: %+v", adv.Quality)
	}
}
