package admin

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/savings"
)

func TestSavings(t *testing.T) {
	now := t0
	l := savings.NewLedger([]savings.Provider{{Name: "gpu", GPUHourlyUSD: 2, GPUs: 1, SetupUSD: 10, ReferenceModel: "gpt-4o"}},
		savings.LedgerOptions{Now: func() time.Time { return now }})
	// One hour-long request with a $5 reference price, then 2 hours pass:
	// paid $2 × 2 h = $4, savings $1, busy 1 h of 2 = 50%, monthly $1 ×
	// 730 h / 2 h = $365, payback $10 / $365 = 0.0274 months.
	l.Observe(savings.Attempt{Provider: "gpu", Start: t0, Latency: time.Hour, Input: 100, Output: 100, ReferenceNanos: 5e9})
	now = t0.Add(2 * time.Hour)
	srv := httptest.NewServer(New(Options{Savings: l, Now: func() time.Time { return now }}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/admin/savings")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v SavingsView
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" || v.Object != "savings" || !v.AsOf.Equal(now) || len(v.Providers) != 1 {
		t.Fatalf("status %d, view %+v", resp.StatusCode, v)
	}
	p := v.Providers[0]
	if p.Provider != "gpu" || p.PaidNanos != 4e9 || p.SavingsNanos != 1e9 || p.Utilisation != 0.5 || p.MonthlySavingsNanos != 365e9 ||
		p.PaybackMonths == nil || *p.PaybackMonths != 10.0/365 || p.Tokens != 200 {
		t.Errorf("line = %+v", p)
	}

	// Without a ledger: 404 with an error object.
	off := httptest.NewServer(New(Options{}))
	defer off.Close()
	resp2, err := http.Get(off.URL + "/admin/savings")
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	var e errorBody
	if err := json.NewDecoder(resp2.Body).Decode(&e); err != nil || resp2.StatusCode != 404 || e.Error.Code != "savings_disabled" {
		t.Errorf("disabled: status %d body %+v err %v", resp2.StatusCode, e, err)
	}
}
