package savings

import (
	"context"
	"log/slog"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fulcrumhq/fulcrum/internal/store"
	"github.com/fulcrumhq/fulcrum/internal/store/sqlite"
)

// The simulated month every test below shares, computed by hand.
//
// Provider gpu-box rents 2 GPUs at $2.50 an hour and cost $3,000 to set up.
// From 2026-11-01 00:00 UTC to 2026-12-01 00:00 UTC (30 days, 720 h), it
// serves, every day:
//
//	A 09:00–09:30  10,000,000 in  2,500,000 out  reference $50
//	B 09:15–10:00  10,000,000 in  2,500,000 out  reference $50  (overlaps A)
//	F 09:40–09:40:10  a failed attempt: no tokens, inside B
//	C 14:00–14:30  10,000,000 in  2,500,000 out  reference $50
//
// (the reference is gpt-4o at $2.50/M input and $10/M output:
// 10 M × 2.50 + 2.5 M × 10 = $50).
//
//	GPU hours     2 × 720                                  = 1,440
//	paid          $2.50 × 2 × 720                          = $3,600.00
//	busy per day  09:00–10:00 (A ∪ B ∪ F) + 14:00–14:30     = 1.5 h
//	busy          1.5 h × 30                               = 45 h
//	utilisation   45 / 720                                 = 0.0625
//	requests      4 × 30                                   = 120
//	tokens        3 × 12.5 M × 30                          = 1,125 M (900 M in, 225 M out)
//	$/M tokens    3,600 / 1,125                            = $3.20
//	$/M output    3,600 / 225                              = $16.00
//	reference     3 × $50 × 30                             = $4,500.00
//	savings       4,500 − 3,600                            = $900.00
//	monthly       900 × 730 h / 720 h (a month is 730 h)   = $912.50
//	payback       3,000 / 912.5                            = 3.2877 months
//	remaining     (3,000 − 900) / 912.5                    = 2.3014 months
var (
	month0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	month1 = month0.AddDate(0, 0, 30)
	gpuBox = Provider{Name: "gpu-box", GPUHourlyUSD: 2.50, GPUs: 2, SetupUSD: 3000, ReferenceModel: "gpt-4o"}
)

// day returns the attempts of day d, in the order they are reported (as
// they end; B is reported before A here on purpose, as a gateway with a
// slow first request would).
func day(d int) []Attempt {
	at := func(h, m, s int) time.Time {
		return month0.AddDate(0, 0, d).Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second)
	}
	served := func(start time.Time, d time.Duration) Attempt {
		return Attempt{Provider: "gpu-box", Start: start, Latency: d, Input: 10_000_000, Output: 2_500_000,
			CostNanos: 1_000_000_000, ReferenceNanos: 50_000_000_000}
	}
	return []Attempt{
		served(at(9, 15, 0), 45*time.Minute),                                  // B
		{Provider: "gpu-box", Start: at(9, 40, 0), Latency: 10 * time.Second}, // F
		served(at(9, 0, 0), 30*time.Minute),                                   // A
		served(at(14, 0, 0), 30*time.Minute),                                  // C
		// Another provider's attempt: not in the ledger.
		{Provider: "openai", Start: at(11, 0, 0), Latency: time.Hour, Input: 1, Output: 1, ReferenceNanos: 1},
	}
}

func f64(v float64) *float64 { return &v }

// wantMonth is the hand computation above as a Line.
func wantMonth() Line {
	return Line{
		Provider: "gpu-box", From: month0, To: month1, Billing: BillingGPUHours, GPUs: 2, GPUHours: 1440,
		PaidNanos: 3_600_000_000_000, Paid: "3600.00", Utilisation: 0.0625, BusySeconds: 45 * 3600,
		Requests: 120, InputTokens: 900_000_000, OutputTokens: 225_000_000, Tokens: 1_125_000_000,
		PerMillionNanos: 3_200_000_000, PerMillion: "3.20", PerMillionOutputNanos: 16_000_000_000,
		ReferenceModel: "gpt-4o", ReferenceNanos: 4_500_000_000_000, Reference: "4500.00", ReferenceKnown: true,
		SavingsNanos: 900_000_000_000, Savings: "900.00", MonthlySavingsNanos: 912_500_000_000,
		SetupNanos: 3_000_000_000_000, PaybackMonths: f64(3000.0 / 912.5), PaybackRemainingMonths: f64(2100.0 / 912.5), PaysBack: true,
	}
}

var approx = cmp.Comparer(func(a, b float64) bool { return math.Abs(a-b) < 1e-9 })

func TestLedgerSimulatedMonth(t *testing.T) {
	now := month0
	l := NewLedger([]Provider{gpuBox}, LedgerOptions{Now: func() time.Time { return now }})
	for d := range 30 {
		for _, a := range day(d) {
			now = a.Start.Add(a.Latency) // the clock moves as attempts end
			l.Observe(a)
		}
	}
	now = month1
	got := l.Lines()
	if diff := cmp.Diff([]Line{wantMonth()}, got, approx); diff != "" {
		t.Errorf("ledger after a month (-want +got):\n%s", diff)
	}

	// Half-way through, the same ledger projects the same monthly rate:
	// after 15 days (360 h): paid $1,800, reference $2,250, savings $450,
	// monthly 450 × 730/360 = $912.50, remaining (3,000 − 450) / 912.5 =
	// 2.7945.
	now = month0
	half := NewLedger([]Provider{gpuBox}, LedgerOptions{Now: func() time.Time { return now }})
	for d := range 15 {
		for _, a := range day(d) {
			half.Observe(a)
		}
	}
	now = month0.AddDate(0, 0, 15)
	h := half.Lines()[0]
	if h.PaidNanos != 1_800_000_000_000 || h.SavingsNanos != 450_000_000_000 || h.MonthlySavingsNanos != 912_500_000_000 ||
		h.PaybackRemainingMonths == nil || math.Abs(*h.PaybackRemainingMonths-2550.0/912.5) > 1e-9 {
		t.Errorf("half month: paid %d savings %d monthly %d remaining %v", h.PaidNanos, h.SavingsNanos, h.MonthlySavingsNanos, h.PaybackRemainingMonths)
	}
}

// TestLedgerSeededFromStore splits the month at the gateway's start: the
// first 10 days are in the store (written by an earlier process), the
// other 20 arrive live. The ledger must add up to the same month.
func TestLedgerSeededFromStore(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "f.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	split := month0.AddDate(0, 0, 10)
	var recs []store.UsageRecord
	for d := range 10 {
		for i, a := range day(d) {
			recs = append(recs, store.UsageRecord{Time: a.Start, RequestID: strings.Repeat("r", 3) + a.Start.Format(time.RFC3339), Attempt: i + 1,
				Model: "m", Provider: a.Provider, Hosting: "self_hosted", Status: 200, LatencyMS: a.Latency.Milliseconds(),
				InputTokens: a.Input, OutputTokens: a.Output, CostNanos: a.CostNanos, ReferenceCostNanos: a.ReferenceNanos})
		}
	}
	if _, err := st.InsertUsage(ctx, recs); err != nil {
		t.Fatal(err)
	}

	// Read the busy time three records at a time, to cross page edges.
	defer func(n int) { pageSize = n }(pageSize)
	pageSize = 3
	now := split
	l := NewLedger([]Provider{gpuBox}, LedgerOptions{Now: func() time.Time { return now }})
	s, from, ok, err := Load(ctx, st, "gpu-box", time.Time{}, l.Start())
	if err != nil || !ok {
		t.Fatalf("Load: ok %v err %v", ok, err)
	}
	// The provider's first record is day 0's A at 09:00, so the history
	// starts there, not at midnight: 9 h of rent less than the month.
	if want := month0.Add(9 * time.Hour); !from.Equal(want) {
		t.Fatalf("history starts %s, want %s", from, want)
	}
	// 10 days × (1.5 h busy, 4 requests, 37.5 M tokens, $150 reference).
	if want := (Served{Requests: 40, InputTokens: 300_000_000, OutputTokens: 75_000_000, Busy: 15 * time.Hour,
		BusyFrom: from, RecordedNanos: 30_000_000_000, ReferenceNanos: 1_500_000_000_000}); !cmp.Equal(s, want) {
		t.Fatalf("Load (-want +got):\n%s", cmp.Diff(want, s))
	}
	l.Seed("gpu-box", from, s)
	for d := 10; d < 30; d++ {
		for _, a := range day(d) {
			l.Observe(a)
		}
	}
	now = month1
	// Paid covers 720 − 9 = 711 h: $2.50 × 2 × 711 = $3,555; savings
	// 4,500 − 3,555 = $945 over 711 h, monthly 945 × 730/711 = 689,850/711
	// = $970.2531645…
	// (floored to the nanodollar: 970,253,164,556), busy 45 h over 711 h.
	want := wantMonth()
	want.From = from
	want.GPUHours = 1422
	want.PaidNanos, want.Paid = 3_555_000_000_000, "3555.00"
	want.Utilisation = 45.0 / 711
	want.PerMillionNanos, want.PerMillion = 3_160_000_000, "3.16" // 3,555 / 1,125
	want.PerMillionOutputNanos = 15_800_000_000                   // 3,555 / 225
	want.SavingsNanos, want.Savings = 945_000_000_000, "945.00"
	want.MonthlySavingsNanos = 970_253_164_556
	want.PaybackMonths = f64(3_000_000_000_000 / 970_253_164_556.0)
	want.PaybackRemainingMonths = f64(2_055_000_000_000 / 970_253_164_556.0)
	if diff := cmp.Diff([]Line{want}, l.Lines(), approx); diff != "" {
		t.Errorf("seeded ledger (-want +got):\n%s", diff)
	}
}

func TestLedgerMetrics(t *testing.T) {
	now := month0
	l := NewLedger([]Provider{gpuBox, {Name: "idle-box", GPUHourlyUSD: 1}}, LedgerOptions{Now: func() time.Time { return now }})
	for d := range 30 {
		for _, a := range day(d) {
			l.Observe(a)
		}
	}
	now = month1
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(l.Collector())
	// idle-box: $1 × 720 h paid, nothing served, no set-up cost (no
	// payback series); gpu-box: the month computed by hand above.
	want := map[string]float64{
		`fulcrum_savings_gpu_hours{provider="gpu-box"}`:                1440,
		`fulcrum_savings_gpu_hours{provider="idle-box"}`:               720,
		`fulcrum_savings_paid_usd{provider="gpu-box"}`:                 3600,
		`fulcrum_savings_paid_usd{provider="idle-box"}`:                720,
		`fulcrum_savings_usd{provider="gpu-box"}`:                      900,
		`fulcrum_savings_usd{provider="idle-box"}`:                     -720,
		`fulcrum_savings_reference_usd{provider="gpu-box"}`:            4500,
		`fulcrum_savings_reference_usd{provider="idle-box"}`:           0,
		`fulcrum_savings_gpu_utilisation_ratio{provider="gpu-box"}`:    0.0625,
		`fulcrum_savings_gpu_utilisation_ratio{provider="idle-box"}`:   0,
		`fulcrum_savings_payback_remaining_months{provider="gpu-box"}`: 2100.0 / 912.5,
		`fulcrum_savings_tokens{provider="gpu-box",type="input"}`:      9e8,
		`fulcrum_savings_tokens{provider="gpu-box",type="output"}`:     2.25e8,
		`fulcrum_savings_tokens{provider="idle-box",type="input"}`:     0,
		`fulcrum_savings_tokens{provider="idle-box",type="output"}`:    0,
		`fulcrum_savings_usd_per_million_tokens{provider="gpu-box"}`:   3.2,
		`fulcrum_savings_usd_per_million_tokens{provider="idle-box"}`:  0,
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, lp := range m.GetLabel() {
				ls = append(ls, lp.GetName()+`="`+lp.GetValue()+`"`)
			}
			got[mf.GetName()+"{"+strings.Join(ls, ",")+"}"] = m.GetGauge().GetValue()
		}
	}
	if diff := cmp.Diff(want, got, approx); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
}

func TestCompute(t *testing.T) {
	day := 24 * time.Hour
	for _, tc := range []struct {
		name string
		p    Provider
		d    time.Duration
		s    Served
		// want: paid, savings, monthly, payback (nil: none), pays back
		paid, savings, monthly int64
		payback                *float64
		paysBack               bool
		billing                string
	}{
		{
			// $2 × 1 GPU × 24 h = $48; reference $30: savings −$18,
			// × 730/24 = −$547.50 a month: never pays back its $1,000.
			name: "losing money", p: Provider{GPUHourlyUSD: 2, SetupUSD: 1000}, d: day,
			s:    Served{OutputTokens: 1000, ReferenceNanos: 30e9},
			paid: 48e9, savings: -18e9, monthly: -547_500_000_000, billing: BillingGPUHours,
		},
		{
			// Per-token billing pays what the records say: $4 against a
			// $10 reference over 10 days, $6 saved, × 730/240 = $18.25
			// a month; no
			// set-up cost, so no payback figure, but it pays.
			name: "per token", p: Provider{PerMillionUSD: 0.5}, d: 10 * day,
			s:    Served{OutputTokens: 8_000_000, RecordedNanos: 4e9, ReferenceNanos: 10e9},
			paid: 4e9, savings: 6e9, monthly: 18_250_000_000, paysBack: true, billing: BillingPerToken,
		},
		{
			// Already paid back: $100 set-up, $300 saved in a 730-hour
			// month of a $0.10/h GPU ($73 rent, $373 reference): payback
			// 1/3 month from the start, nothing remaining.
			name: "paid back", p: Provider{GPUHourlyUSD: 0.1, SetupUSD: 100}, d: 730 * time.Hour,
			s:    Served{OutputTokens: 1, ReferenceNanos: 373e9},
			paid: 73e9, savings: 300e9, monthly: 300e9, payback: f64(1.0 / 3), paysBack: true, billing: BillingGPUHours,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := Compute(tc.p, month0, month0.Add(tc.d), tc.s)
			if l.PaidNanos != tc.paid || l.SavingsNanos != tc.savings || l.MonthlySavingsNanos != tc.monthly ||
				l.PaysBack != tc.paysBack || l.Billing != tc.billing {
				t.Errorf("paid %d savings %d monthly %d pays back %v billing %s", l.PaidNanos, l.SavingsNanos, l.MonthlySavingsNanos, l.PaysBack, l.Billing)
			}
			if !cmp.Equal(tc.payback, l.PaybackMonths, approx) {
				t.Errorf("payback %v, want %v", l.PaybackMonths, tc.payback)
			}
			if tc.name == "paid back" && (l.PaybackRemainingMonths == nil || *l.PaybackRemainingMonths != 0) {
				t.Errorf("remaining %v, want 0", l.PaybackRemainingMonths)
			}
		})
	}
}

func TestBusy(t *testing.T) {
	m := func(n int) time.Time { return month0.Add(time.Duration(n) * time.Minute) }
	type iv struct{ s, e int }
	for _, tc := range []struct {
		name    string
		horizon time.Duration
		in      []iv
		want    time.Duration
	}{
		{"disjoint", 0, []iv{{0, 10}, {20, 30}}, 20 * time.Minute},
		{"nested", 0, []iv{{0, 60}, {10, 20}}, time.Hour},
		{"out of order, bridging", 0, []iv{{40, 50}, {0, 10}, {5, 45}}, 50 * time.Minute},
		{"touching", 0, []iv{{0, 10}, {10, 20}}, 20 * time.Minute},
		{"duplicate", 0, []iv{{0, 10}, {0, 10}}, 10 * time.Minute},
		{"empty", 0, []iv{{5, 5}}, 0},
		// With a 30-minute horizon, [0,10) is settled once an interval
		// ends at 100; a late [5,20) is clipped to the frontier (10) and
		// adds 10 minutes, never the 5 already counted.
		{"settled then late", 30 * time.Minute, []iv{{0, 10}, {90, 100}, {5, 20}}, 30 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := Busy{Horizon: tc.horizon}
			for _, v := range tc.in {
				b.Add(m(v.s), m(v.e))
			}
			if got := b.Total(); got != tc.want {
				t.Errorf("busy %s, want %s", got, tc.want)
			}
		})
	}
}

func TestUSD(t *testing.T) {
	for n, want := range map[int64]string{0: "0.00", 1_234_560_000_000: "1234.56", -500_000_000: "-0.50", 4_200_000: "0.0042", 38_934_599: "0.0389", 999_990_000: "1.00", 123: "0.000000123", 1_005_000_000: "1.01", -3_600_000_000_000: "-3600.00"} {
		if got := USD(n); got != want {
			t.Errorf("USD(%d) = %q, want %q", n, got, want)
		}
	}
}
