package cli

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/savings"
	"github.com/fulcrumhq/fulcrum/internal/store"
)

func TestSavingsCommand(t *testing.T) {
	fx := newOpFixture(t)
	cfg := "storage:\n  url: sqlite://" + fx.dbPath + "\nlogging: { level: warn }\n" +
		"providers:\n  - name: gpu\n    type: openai\n    base_url: http://127.0.0.1:1/v1\n    hosting: self_hosted\n" +
		"    cost: { gpu_hourly_usd: 2.5, gpus: 2, setup_usd: 100 }\n" +
		"  - name: idle\n    type: openai\n    base_url: http://127.0.0.1:2/v1\n    hosting: self_hosted\n" +
		"    cost: { gpu_hourly_usd: 1 }\n" +
		"models:\n  - name: mixtral\n    provider: gpu\n  - name: small\n    provider: idle\n"
	if err := os.WriteFile(fx.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	st := fx.store(t)
	rec := func(id string, at time.Duration, latency time.Duration, in, out, ref int64) store.UsageRecord {
		return store.UsageRecord{Time: day1.Add(at), RequestID: id, Attempt: 1, Model: "mixtral", Provider: "gpu", Hosting: "self_hosted",
			Status: 200, LatencyMS: latency.Milliseconds(), InputTokens: in, OutputTokens: out, CostNanos: 1, ReferenceCostNanos: ref}
	}
	recs := []store.UsageRecord{
		rec("g1", time.Hour, 30*time.Minute, 1000, 1000, 20e9),
		rec("g3", time.Hour+15*time.Minute, 30*time.Minute, 0, 1000, 10e9),
		rec("g2", 2*time.Hour, 30*time.Minute, 3000, 3000, 40e9),
		// Outside the period: not counted.
		rec("late", 11*time.Hour, time.Hour, 5, 5, 5e9),
	}
	if _, err := st.InsertUsage(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	st.Close()
	args := []string{"savings", "--config", fx.cfgPath, "--since", day1.Format(time.RFC3339), "--until", day1.Add(10 * time.Hour).Format(time.RFC3339)}
	out, _, err := opRun(t, append(args, "--json")...)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Providers []savings.Line `json:"providers"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	// By hand, over the 10 hours:
	//   gpu: paid $2.50 × 2 × 10 h = $50 (20 GPU hours); busy g1 ∪ g3 =
	//   1:00–1:45 plus g2 2:00–2:30 = 75 min of 600 = 12.5%; tokens
	//   2,000 + 1,000 + 6,000 = 9,000: $50 / 9,000 × 1e6 = $5,555.555555555
	//   per million; reference $20 + $10 + $40 = $70, savings $20, monthly
	//   $20 × 730 h / 10 h = $1,460; payback $100 / $1,460 = 0.0685 months,
	//   (100 − 20) / 1,460 = 0.0548 left.
	//   idle: $1 × 10 h = $10 paid, nothing served: savings −$10, never
	//   pays back (and has no set-up cost to pay back).
	if len(rep.Providers) != 2 {
		t.Fatalf("providers = %+v", rep.Providers)
	}
	g := rep.Providers[0]
	if g.Provider != "gpu" || g.GPUHours != 20 || g.PaidNanos != 50e9 || g.Utilisation != 0.125 || g.Tokens != 9000 ||
		g.PerMillionNanos != 5_555_555_555_555 || g.ReferenceNanos != 70e9 || g.SavingsNanos != 20e9 ||
		g.MonthlySavingsNanos != 1460e9 || math.Abs(*g.PaybackMonths-100.0/1460) > 1e-12 || math.Abs(*g.PaybackRemainingMonths-80.0/1460) > 1e-12 {
		t.Errorf("gpu line = %+v", g)
	}
	if i := rep.Providers[1]; i.Provider != "idle" || i.PaidNanos != 10e9 || i.SavingsNanos != -10e9 || i.PaysBack || i.PaybackMonths != nil {
		t.Errorf("idle line = %+v", i)
	}

	tbl, _, err := opRun(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + tbl)
	for _, want := range []string{"PROVIDER", "gpu", "20.0", "50.00", "12.5%", "5555.56", "70.00", "20.00", "1460.00", "0.1 mo (0.1 left)", "idle", "-10.00"} {
		if !strings.Contains(tbl, want) {
			t.Errorf("table lacks %q", want)
		}
	}

	if _, _, err := opRun(t, append(args, "--provider", "nope")...); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown provider: err = %v", err)
	}
}
