package meter

import (
	"math"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/llm"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time       { return c.t }
func (c *fakeClock) add(d time.Duration)  { c.t = c.t.Add(d) }
func newClock() *fakeClock                { return &fakeClock{t: time.Date(2026, 7, 24, 12, 0, 0, 0, time.UTC)} }
func h100() config.SelfHostedCost         { return config.SelfHostedCost{GPUHourlyUSD: 2.69, GPUs: 1} }
func opts(c *fakeClock) SelfHostedOptions { return SelfHostedOptions{Now: c.now} }
func abs(n Nanos) Nanos                   { return max(n, -n) }

func TestSelfHostedSteadyStateMatchesFormula(t *testing.T) {
	// An 8B model on one H100 at $2.69/h serving 3,400 tok/s flat out:
	// $2.69 / (3400 × 3600) per token = $0.2198/M (the docs' "$0.22/M").
	c := newClock()
	s := NewSelfHosted(h100(), nil, opts(c))
	for range 900 { // warm the 15-minute window
		c.add(time.Second)
		s.Charge(llm.Usage{OutputTokens: 3400})
	}
	// The window is 60 buckets sampled once a second, so the measured rate
	// is within a second's worth (0.2%) of 3,400/s.
	want := PicosFromPerMillion(PerMillionAt(2.69, 1, 3400, 1))
	if got := s.OutputPrice(); want != 219_771 || math.Abs(float64(got-want)) > 0.002*float64(want) {
		t.Errorf("OutputPrice = %d picos/token, want %d (±0.2%%)", got, want)
	}
	// Over the next 15 minutes the recorded cost adds up to the rent paid:
	// $2.69 / 4 = $0.6725, within the sampling error above.
	var total Nanos
	for range 900 {
		c.add(time.Second)
		cost, _ := s.Charge(llm.Usage{InputTokens: 5000, OutputTokens: 3400})
		total += cost
	}
	if rent := Nanos(672_500_000); abs(total-rent) > rent/500 {
		t.Errorf("15 min of cost = %s, want the rent %s", total, rent)
	}
}

func TestSelfHostedIdleUsesFloor(t *testing.T) {
	c := newClock()
	s := NewSelfHosted(h100(), nil, opts(c))
	c.add(time.Hour)
	// 100 tokens in 15 minutes is 0.11 tok/s, under the 1 tok/s floor:
	// price = $2.69/3600 per token = 747,222,222 picos; × 100 = 74,722,222.2 nanos.
	cost, ref := s.Charge(llm.Usage{InputTokens: 10, OutputTokens: 100})
	if cost != 74_722_222 || ref != 0 {
		t.Errorf("Charge = %d, %d; want 74722222, 0", cost, ref)
	}
	if got := s.TokensPerSecond(); math.Abs(got-100.0/900) > 0.002 { // the window is 885-900 s
		t.Errorf("TokensPerSecond = %g", got)
	}
}

func TestSelfHostedStartUsesMinWindow(t *testing.T) {
	c := newClock()
	s := NewSelfHosted(config.SelfHostedCost{GPUHourlyUSD: 3.6, GPUs: 2}, nil, opts(c))
	c.add(time.Second)
	// 6,000 tokens one second after start are averaged over the 1-minute
	// minimum: 100 tok/s. Rent $7.20/h = $0.002/s -> $0.00002 per token.
	cost, _ := s.Charge(llm.Usage{OutputTokens: 6000})
	if cost != 120_000_000 {
		t.Errorf("cost = %d, want 120000000 ($0.12)", cost)
	}
	// Tokens older than the window no longer count.
	c.add(16 * time.Minute)
	if got := s.TokensPerSecond(); got != 0 {
		t.Errorf("TokensPerSecond after the window = %g, want 0", got)
	}
}

func TestSelfHostedFixedAndReference(t *testing.T) {
	c := newClock()
	ref, _ := catalogue(t).Lookup("openai", "gpt-4o")
	s := NewSelfHosted(config.SelfHostedCost{GPUHourlyUSD: 2.69, PerMillionUSD: 0.5}, &ref, opts(c))
	// 1000 output tokens at $0.50/M = $0.0005; on gpt-4o 2000 in + 1000 out
	// = 2000 × $2.50/M + 1000 × $10/M = $0.015.
	cost, refCost := s.Charge(llm.Usage{InputTokens: 2000, OutputTokens: 1000})
	if cost != 500_000 || refCost != 15_000_000 {
		t.Errorf("Charge = %d, %d; want 500000, 15000000", cost, refCost)
	}
	if s.OutputPrice() != 500_000 {
		t.Errorf("OutputPrice = %d", s.OutputPrice())
	}
}

func TestPerMillionAt(t *testing.T) {
	if got := PerMillionAt(2.69, 1, 3400, 1); math.Abs(got-0.21977) > 1e-5 {
		t.Errorf("PerMillionAt = %g, want ≈ 0.2198", got)
	}
	if got := PerMillionAt(2.69, 1, 3400, 0.25); math.Abs(got-0.87908) > 1e-5 {
		t.Errorf("PerMillionAt at 25%% = %g", got)
	}
}
