package shadow

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

func TestWilson(t *testing.T) {
	for _, c := range []struct {
		k, n      int
		low, high float64
	}{
		{8, 10, 0.4902, 0.9433}, // textbook values (Wilson score, z = 1.96)
		{0, 10, 0, 0.2775},
		{10, 10, 0.7225, 1},
		{50, 100, 0.4038, 0.5962},
	} {
		r := Wilson(c.k, c.n)
		if math.Abs(r.Low-c.low) > 5e-4 || math.Abs(r.High-c.high) > 5e-4 {
			t.Errorf("Wilson(%d, %d) = [%.4f, %.4f], want [%.4f, %.4f]", c.k, c.n, r.Low, r.High, c.low, c.high)
		}
	}
	if r := Wilson(0, 0); r.N != 0 || r.Rate != 0 {
		t.Errorf("Wilson(0, 0) = %+v", r)
	}
}

func TestPercentile(t *testing.T) {
	v := []int64{50, 10, 40, 20, 30, 60, 70, 80, 90, 100}
	if p := Percentile(v, 50); p != 50 {
		t.Errorf("p50 = %d", p)
	}
	if p := Percentile(v, 95); p != 100 {
		t.Errorf("p95 = %d", p)
	}
	if p := Percentile(nil, 95); p != 0 {
		t.Errorf("p95 of none = %d", p)
	}
}

func reportRows(t0 time.Time) []store.ShadowResult {
	var rows []store.ShadowResult
	for i := range 10 {
		r := store.ShadowResult{
			Time: t0.Add(time.Duration(i) * time.Hour), RequestID: "r", Route: "chat", Live: "gpt", LiveProvider: "api", LiveHosting: "proprietary",
			Candidate: "llama", CandidateProvider: "gpu", CandidateHosting: "self_hosted", Verdict: VerdictAgree,
			LiveLatencyMS: int64(100 * (i + 1)), CandidateLatencyMS: int64(10 * (i + 1)),
			LiveCostNanos: 2_000_000, CandidateCostNanos: 500_000, SampleRate: 0.5,
		}
		if i >= 8 {
			r.Verdict = VerdictDisagree
		}
		if i%2 == 0 {
			r.DataClasses = []string{"email"}
		}
		if i < 4 {
			r.Judge = []string{"candidate", "tie", "live", "tie"}[i]
		}
		rows = append(rows, r)
	}
	return rows
}

// The report over ten comparisons a day apart's worth of hours: agreement
// 8/10 with its interval, slices, percentiles, cost per 1,000 and the
// monthly projection from the measured volume.
func TestSummarise(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	to := t0.Add(24 * time.Hour)
	rows := reportRows(t0)
	rep := Summarise(rows, t0.AddDate(0, 0, -30), to, func(name string, from, _ time.Time) int64 {
		if name != "chat" || !from.Equal(t0) {
			t.Errorf("volume(%s, %v)", name, from)
		}
		return 1000 // requests in the one day measured
	})
	if len(rep.Candidates) != 1 || rep.Days != 1 {
		t.Fatalf("report %+v", rep)
	}
	c := rep.Candidates[0]
	if c.Agreement.K != 8 || c.Agreement.N != 10 || math.Abs(c.Agreement.Low-0.4902) > 5e-4 {
		t.Errorf("agreement %+v", c.Agreement)
	}
	if c.Judged != 4 || c.Wins != 1 || c.Ties != 2 || c.Losses != 1 || c.WinOrTie.K != 3 {
		t.Errorf("judge %+v %+v", c, c.WinOrTie)
	}
	if len(c.ByClass) != 2 || c.ByClass[0].Name != "email" || c.ByClass[0].Agreement.K != 4 || c.ByClass[1].Name != "none" || c.ByClass[1].Agreement.K != 4 {
		t.Errorf("by class %+v", c.ByClass)
	}
	if c.LiveLatency != (Latency{500, 1000}) || c.CandidateLatency != (Latency{50, 100}) {
		t.Errorf("latency %+v %+v", c.LiveLatency, c.CandidateLatency)
	}
	// $0.002 and $0.0005 a request.
	if math.Abs(c.LivePer1000-2) > 1e-9 || math.Abs(c.CandidatePer1000-0.5) > 1e-9 {
		t.Errorf("per 1000: %v %v", c.LivePer1000, c.CandidatePer1000)
	}
	// 1,000 requests a day over a month of 730 h (as advise and savings
	// project; not 30 days): 1,000 × 730 / 24 = 30,416.67 requests, $2 per
	// 1,000 live = $60.83, $0.50 per 1,000 promoted = $15.21.
	if c.VolumeSource != "usage" || math.Abs(c.MonthlyRequests-1000*730.0/24) > 1e-9 ||
		math.Abs(c.MonthlyIfPromUSD-0.5*730.0/24) > 1e-9 || math.Abs(c.MonthlyLiveUSD-2*730.0/24) > 1e-9 {
		t.Errorf("monthly %+v", c)
	}
	// Without usage: Σ 1/rate = 20 requests in a day, 20 × 730 / 24 =
	// 608.33 a month.
	c = Summarise(rows, t0, to, nil).Candidates[0]
	if c.VolumeSource != "sample_rate" || math.Abs(c.MonthlyRequests-20*730.0/24) > 1e-9 {
		t.Errorf("sample-rate volume %v %s", c.MonthlyRequests, c.VolumeSource)
	}
}

func TestRenderers(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	rep := Summarise(reportRows(t0), t0, t0.Add(24*time.Hour), nil)
	var b bytes.Buffer
	if err := WriteHTML(&b, rep); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if strings.Count(page, "<svg") < 5 || !strings.Contains(page, "80.0% [49.0–94.3]") {
		t.Errorf("html lacks charts or the agreement:\n%s", page)
	}
	for _, ext := range []string{"src=", "<link", "@import", "url(", "<script"} {
		if strings.Contains(page, ext) {
			t.Errorf("html loads something (%s)", ext)
		}
	}
	b.Reset()
	if err := WriteTable(&b, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "llama") || !strings.Contains(b.String(), "data class  email") {
		t.Errorf("table:\n%s", b.String())
	}
	b.Reset()
	if err := WriteJSON(&b, rep); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || back.Candidates[0].Agreement.K != 8 {
		t.Errorf("json: %v %s", err, b.String())
	}
}

func TestExports(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	rows := reportRows(t0)
	rows[9].Verdict, rows[9].ErrorCode = VerdictError, "upstream_timeout"
	rep := ToEvalReport(rows)
	if len(rep.Models) != 2 {
		t.Fatalf("models %+v", rep.Models)
	}
	gpt, llama := rep.Models[0], rep.Models[1]
	if gpt.Model != "gpt" || gpt.Accuracy != 1 || gpt.Cases != 10 {
		t.Errorf("live %+v", gpt)
	}
	if llama.Model != "llama" || llama.Cases != 10 || llama.Passed != 8 || llama.Errors != 1 || llama.Accuracy != 0.8 || math.Abs(llama.CostPer1000-0.5) > 1e-9 {
		t.Errorf("candidate %+v", llama)
	}
	rows[0].Prompt, rows[2].Prompt, rows[8].Prompt, rows[9].Prompt = "p0", "p2", "p8", "p9"
	got := RouteLabels(rows, "candidate")
	want := []RouteLabel{
		{"p0", 1, 0, "chat"}, // judge: candidate
		{"p2", 0, 1, "chat"}, // judge: live
		{"p8", 0, 1, "chat"}, // disagree
		{"p9", 0, 1, "chat"}, // error
	}
	if len(got) != len(want) {
		t.Fatalf("labels %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("label %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if l := RouteLabels(rows, "live")[0]; l.Weak != 0 || l.Strong != 1 {
		t.Errorf("weak=live swaps: %+v", l)
	}
}
