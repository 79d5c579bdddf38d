package meter

import (
	"math"
	"sync"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// SelfHostedOptions tune the throughput measurement. Zero fields take the
// defaults.
type SelfHostedOptions struct {
	// Window is how far back throughput is measured. Default 15m.
	Window time.Duration
	// MinWindow is the shortest time throughput is averaged over, so the
	// first request after start is not divided by a few milliseconds.
	// Default 1m.
	MinWindow time.Duration
	// MinTokensPerSecond floors the measured throughput, so an idle period
	// gives a high but finite price. Default 1.
	MinTokensPerSecond float64
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// SelfHosted prices a self-hosted provider's tokens from what its GPUs
// cost. All of the rent is charged to output tokens (decoding is where the
// GPU time goes), so over any window in which the provider served at least
// the floor, the cost recorded adds up to the rent paid:
//
//	price per output token = (gpu_hourly_usd × gpus / 3600) / tokens per second
//	tokens per second      = max(output tokens served in the window / window seconds, floor)
//
// where the window is the last Window (or the time since start, if shorter,
// but at least MinWindow). With per_million_usd set, that fixed price per
// million output tokens is used instead. Input tokens cost nothing extra.
//
// The price is a measurement (a float64 ratio) rounded to whole
// picodollars per token; cost itself is then exact integer arithmetic.
// Safe for concurrent use.
type SelfHosted struct {
	rentPerSecond float64 // picodollars per second for all GPUs
	fixed         Picos
	ref           *Price
	opt           SelfHostedOptions
	bucketWidth   time.Duration
	start         time.Time

	mu      sync.Mutex // guards the following fields
	tokens  [60]int64  // output tokens per bucket, a ring
	buckets [60]int64  // which bucket (time / bucketWidth) each slot holds
}

// NewSelfHosted returns the cost model of one provider. reference, when not
// nil, is the price of the proprietary model the same tokens are compared
// with (cost.reference_model, resolved in the catalogue by the caller).
func NewSelfHosted(cost config.SelfHostedCost, reference *Price, opt SelfHostedOptions) *SelfHosted {
	if opt.Window <= 0 {
		opt.Window = 15 * time.Minute
	}
	if opt.MinWindow <= 0 {
		opt.MinWindow = time.Minute
	}
	opt.MinWindow = min(opt.MinWindow, opt.Window)
	if opt.MinTokensPerSecond <= 0 {
		opt.MinTokensPerSecond = 1
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	gpus := cost.GPUs
	if gpus <= 0 {
		gpus = 1
	}
	s := &SelfHosted{
		rentPerSecond: cost.GPUHourlyUSD * float64(gpus) * 1e12 / 3600,
		ref:           reference,
		opt:           opt,
		bucketWidth:   max(opt.Window/60, time.Millisecond),
		start:         opt.Now(),
	}
	if cost.PerMillionUSD > 0 {
		s.fixed = PicosFromPerMillion(cost.PerMillionUSD)
	}
	for i := range s.buckets {
		s.buckets[i] = -1
	}
	return s
}

// Charge records that the provider served u now and returns its cost and,
// when a reference price is set, what the reference model would have
// charged for the same usage (0 otherwise).
func (s *SelfHosted) Charge(u llm.Usage) (cost, reference Nanos) {
	now := s.opt.Now()
	var price Picos
	if s.fixed > 0 {
		price = s.fixed
		s.observe(now, u.OutputTokens) // keep the throughput figure for reports
	} else {
		s.observe(now, u.OutputTokens)
		price = s.priceAt(now)
	}
	cost = Cost(u, Price{Output: price, Reasoning: price})
	if s.ref != nil {
		reference = Cost(u, *s.ref)
	}
	return cost, reference
}

// OutputPrice returns the current price per output token.
func (s *SelfHosted) OutputPrice() Picos {
	if s.fixed > 0 {
		return s.fixed
	}
	return s.priceAt(s.opt.Now())
}

// TokensPerSecond returns the measured output throughput (before the floor).
func (s *SelfHosted) TokensPerSecond() float64 {
	now := s.opt.Now()
	return float64(s.windowTokens(now)) / s.elapsed(now).Seconds()
}

func (s *SelfHosted) observe(t time.Time, tokens int64) {
	if tokens <= 0 {
		return
	}
	b := int64(t.Sub(s.start) / s.bucketWidth)
	i := b % int64(len(s.buckets))
	s.mu.Lock()
	if s.buckets[i] != b {
		s.buckets[i], s.tokens[i] = b, 0
	}
	s.tokens[i] += tokens
	s.mu.Unlock()
}

func (s *SelfHosted) windowTokens(now time.Time) int64 {
	cur := int64(now.Sub(s.start) / s.bucketWidth)
	var n int64
	s.mu.Lock()
	for i, b := range s.buckets {
		if b >= 0 && b > cur-int64(len(s.buckets)) && b <= cur {
			n += s.tokens[i]
		}
	}
	s.mu.Unlock()
	return n
}

// elapsed is the time the counted buckets cover: from the start of the
// oldest bucket still in the window (or from start) to now, at least
// MinWindow.
func (s *SelfHosted) elapsed(now time.Time) time.Duration {
	since := now.Sub(s.start)
	cur := since / s.bucketWidth
	oldest := max(cur-time.Duration(len(s.buckets))+1, 0) * s.bucketWidth
	return max(since-oldest, s.opt.MinWindow)
}

func (s *SelfHosted) priceAt(now time.Time) Picos {
	tps := max(float64(s.windowTokens(now))/s.elapsed(now).Seconds(), s.opt.MinTokensPerSecond)
	p := math.Round(s.rentPerSecond / tps)
	if p > math.MaxInt64/2 {
		return math.MaxInt64 / 2
	}
	return Picos(p)
}

// PerMillionAt is the reference formula of docs/metering.md: dollars per
// million output tokens for a GPU rent, a sustained throughput and a
// utilisation in (0, 1].
func PerMillionAt(gpuHourlyUSD float64, gpus int, tokensPerSecond, utilisation float64) float64 {
	return gpuHourlyUSD * float64(gpus) / (tokensPerSecond * 3600 * utilisation) * 1e6
}
