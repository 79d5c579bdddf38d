package router

import (
	"fmt"
	"os"
	"sync"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/router/difficulty"
)

// promptRouter decides, per prompt, between a route's weak and strong
// target.
type promptRouter struct {
	scorer    Scorer
	threshold float64
}

func (p *promptRouter) decide(prompt string) Decision {
	s := p.scorer.Score(prompt)
	return Decision{Score: s, Threshold: p.threshold, Strong: s >= p.threshold}
}

// calibration holds the scores of the calibration prompts, computed once.
type calibration struct {
	once   sync.Once
	scores []float64
	err    error
}

func (r *Router) newPromptRouter(rt *config.Route) (*promptRouter, error) {
	sc := r.opts.Scorer
	if sc == nil {
		sc = difficulty.Default()
	}
	share := 0.3
	if rt.StrongShare != nil {
		share = *rt.StrongShare
	}
	if rt.RouterFile != "" {
		b, err := os.ReadFile(rt.RouterFile)
		if err != nil {
			return nil, fmt.Errorf("router_file: %w", err)
		}
		m, err := difficulty.Parse(b)
		if err != nil {
			return nil, fmt.Errorf("router_file %s: %w", rt.RouterFile, err)
		}
		pr := &promptRouter{scorer: m}
		if rt.Threshold != nil {
			pr.threshold = *rt.Threshold
			return pr, nil
		}
		if t, ok := m.ThresholdFor(share); ok {
			pr.threshold = t
			return pr, nil
		}
		sc = m
	}
	pr := &promptRouter{scorer: sc}
	if rt.Threshold != nil {
		pr.threshold = *rt.Threshold
		return pr, nil
	}
	r.calib.once.Do(func() {
		prompts := r.opts.Calibration
		if len(prompts) == 0 {
			all, err := difficulty.LoadGSM8K()
			if err != nil {
				r.calib.err = err
				return
			}
			train, _ := difficulty.Split(all)
			for _, e := range train {
				prompts = append(prompts, e.Prompt)
			}
		}
		for _, p := range prompts {
			r.calib.scores = append(r.calib.scores, sc.Score(p))
		}
	})
	if r.calib.err != nil {
		return nil, fmt.Errorf("calibrating strong_share: %w", r.calib.err)
	}
	pr.threshold = difficulty.Threshold(r.calib.scores, share)
	return pr, nil
}
