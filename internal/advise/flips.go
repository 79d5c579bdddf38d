package advise

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
)

// VolumeFlip is a monthly volume at which the recommendation changes.
type VolumeFlip struct {
	// Direction is "below" or "above": the recommendation is To just
	// beyond TokensPerMonth in that direction.
	Direction      string  `json:"direction"`
	TokensPerMonth float64 `json:"tokens_per_month"`
	To             string  `json:"to"`
	// ForGoodTokensPerMonth, when set, is where the choice stops returning
	// to today's: GPUs come in whole replicas, so near a crossover the
	// self-hosted cost steps past the API's and back; beyond it the choice
	// is Then.
	ForGoodTokensPerMonth float64 `json:"for_good_tokens_per_month,omitempty"`
	// Then is the choice at the end of the range searched (100 times or
	// 1/100 of today's volume) when it differs from To: another candidate
	// takes over further on, from ThenTokensPerMonth (or, with
	// ForGoodTokensPerMonth, from there).
	Then               string  `json:"then,omitempty"`
	ThenTokensPerMonth float64 `json:"then_tokens_per_month,omitempty"`
	// UntilTokensPerMonth, when set, ends a window: beyond it (further in
	// Direction) today's choice is the recommendation again.
	UntilTokensPerMonth float64 `json:"until_tokens_per_month,omitempty"`
	// Ranges, with UntilTokensPerMonth, is in how many separate volume
	// ranges between TokensPerMonth and it the choice differs (replica
	// steps: self-hosting is cheapest just below each).
	Ranges int `json:"ranges,omitempty"`
}

// The volume search: where, from 1/100 to 100 times today's month-1
// volume (mix, peak and base rates as the profile gives them, growth
// included), the recommendation changes.
//
// At k times today's volume every candidate's horizon total is piecewise
// linear in k and never falls as k grows:
//
//   - API tokens cost k × a constant;
//   - a self-hosted share needs, each month, max(min_replicas, the peak's
//     replicas, ⌈average rate ÷ a replica's capacity⌉): its GPUs step up at
//     every k at which a month's average rate reaches a whole replica, and
//     are flat in between;
//   - a fleet sized for the base load has the same replicas at every k (the
//     base and peak rates are held); its overflow is min(the peak's excess,
//     the share allowed to overflow) of the tokens: linear up to the k at
//     which the excess reaches that share, flat beyond;
//   - everything else (staff, set-up, training) is fixed.
//
// Between two such breakpoints every total is a line. The monthly budget
// rules a candidate out from the k at which its dearest month first exceeds
// the limit (a month never gets cheaper with more traffic), and rules out
// none once no candidate left stays within it.
//
// So the choice over [a, b] follows from the decisions at a and b when the
// same candidate X wins at both ends and either
//
//  1. every other candidate that may be eligible somewhere in [a, b] costs
//     more at a than X at b (and X is eligible throughout), or
//  2. no breakpoint lies strictly between a and b and the same candidates
//     are over budget at both ends: eligibility is then the same
//     throughout, every total a line, and the least of lines that is X's
//     at both ends is X's in between.
//
// Otherwise the interval is split: either side of the breakpoint nearest
// its middle; where the two winners' lines cross when there is none (two
// decisions confirm a crossing of lines); else in the middle. Every change
// of choice is found, to a part in 10⁸, however narrow its window and
// however far from today's, with decisions only where the choice is in
// doubt (a scan at fixed steps misses windows narrower than its step).

// maxFlipWork bounds the work of the flip search in each direction, in
// units of one candidate-month costed: each decision costs every candidate
// over the horizon, plus flipDecisionWork for building and deciding them
// (measured: a decision of 5 candidates over 12 months takes about 30 µs,
// mostly that). The bound is under a second for most profiles: those
// with few candidates get 16,000 decisions, enough for every replica step
// of a fleet of thousands, and one with 1,000 splits over 36 months about
// 55. A profile whose choice changes at a few volumes takes a few dozen
// decisions; one whose fleet steps past the API's cost at each of a
// million replicas would take two a step, for minutes. The search goes
// outwards from today's volume, so when the bound stops it, every change
// between today's volume and where it stopped has been found, and the
// report says how far it searched (VolumeCut). At least minFlipDecisions
// are allowed however many candidates there are. Variables so that a test
// can lower them.
var (
	maxFlipWork      = 2_000_000
	minFlipDecisions = 50
)

// flipDecisionWork is a decision's work besides its candidate-months.
const flipDecisionWork = 100

// VolumeCut says that the volume search in one direction stopped at its
// bound (maxFlipWork) before the end of its range (100 times or 1/100
// of today's volume): every change between today's volume and
// SearchedToTokensPerMonth was found, and nothing beyond is claimed.
type VolumeCut struct {
	Direction                string  `json:"direction"`
	SearchedToTokensPerMonth float64 `json:"searched_to_tokens_per_month"`
	Decisions                int     `json:"decisions"`
}

// volumeFlips returns, in each direction from today's volume, the nearest
// volume at which the choice changes, with what follows it further on,
// and, for each direction the bound cut short, how far it searched.
// GPUs come in whole replicas, so the self-hosted cost can step past the
// API's and back many times: the flip then says where the changes end for
// good (ForGoodTokensPerMonth) or, when today's choice is back at the end
// of the range, where the last window ends (UntilTokensPerMonth) and in how
// many separate ranges the choice differs (Ranges). Where the search was
// cut, only the nearest change is stated. ctx ends the search with its
// error.
func (r *Report) volumeFlips(ctx context.Context, p *Profile, choice string) ([]VolumeFlip, []VolumeCut, error) {
	if r.in+r.out == 0 {
		return nil, nil, nil // no multiple of nothing is a different volume
	}
	s := &volumeSearch{r: r, p: p, breaks: r.costBreaks(p)}
	for i, c := range r.Candidates {
		g := ""
		switch {
		case c.Overflow != nil:
			g = fmt.Sprintf("overflow %d", i) // its overflow bends: alone
		case len(c.OpenModels) > 0:
			g = fmt.Sprintf("%s %v", c.OpenModels[0], c.SelfHostedShare)
			for _, f := range c.cm.extra {
				g += fmt.Sprintf(" %s %v", f.open.Model, f.share)
			}
		case c.OpenModel != "":
			g = fmt.Sprintf("%s %v", c.OpenModel, c.SelfHostedShare)
		}
		s.gpus = append(s.gpus, g)
	}
	today := s.decide(ctx, 1)
	if today == nil {
		return nil, nil, s.stopErr()
	}
	var flips []VolumeFlip
	var cuts []VolumeCut
	for _, dir := range []string{"below", "above"} {
		s.changes, s.down, s.cut, s.reach, s.decisions, s.work = s.changes[:0], dir == "below", false, 1, 0, 0
		var away []choiceChange
		if s.down {
			if end := s.decide(ctx, 0.01); end != nil {
				s.solve(ctx, 0.01, end, 1, today)
			}
			slices.SortFunc(s.changes, func(x, y change) int { return cmp.Compare(x.k, y.k) })
			for i := len(s.changes) - 1; i >= 0; i-- {
				away = append(away, choiceChange{k: s.changes[i].k, beyond: s.changes[i].below})
			}
		} else {
			if end := s.decide(ctx, 100); end != nil {
				s.solve(ctx, 1, today, 100, end)
			}
			for _, c := range s.changes {
				away = append(away, choiceChange{k: c.k, beyond: c.above})
			}
		}
		if s.err != nil {
			return nil, nil, s.stopErr()
		}
		if s.cut {
			// What lies beyond the reach is unknown: the nearest change
			// alone is stated.
			away = away[:min(len(away), 1)]
			cuts = append(cuts, VolumeCut{Direction: dir, SearchedToTokensPerMonth: s.reach * (r.in + r.out), Decisions: s.decisions})
		}
		if f, ok := flipFrom(dir, choice, away, r.in+r.out); ok {
			flips = append(flips, f)
		}
	}
	return flips, cuts, nil
}

// change is a volume multiple at which the choice changes, with the
// choice below and above it.
type change struct {
	k            float64
	below, above string
}

// choiceChange is a volume multiple at which the choice changes; beyond
// is the choice past it, going away from today's volume.
type choiceChange struct {
	k      float64
	beyond string
}

// flipFrom states the changes met going away from today's volume, nearest
// first; total is today's volume. ok is false when there is none.
func flipFrom(dir, choice string, cs []choiceChange, total float64) (VolumeFlip, bool) {
	if len(cs) == 0 {
		return VolumeFlip{}, false
	}
	f := VolumeFlip{Direction: dir, TokensPerMonth: cs[0].k * total, To: cs[0].beyond}
	last := len(cs) - 1
	back := slices.IndexFunc(cs, func(c choiceChange) bool { return c.beyond == choice })
	switch {
	case back < 0:
		// No return: a third candidate may take over further on.
		if cs[last].beyond != f.To {
			f.Then, f.ThenTokensPerMonth = cs[last].beyond, cs[last].k*total
		}
	case back == last:
		// One window: today's choice is back for good.
		f.UntilTokensPerMonth, f.Ranges = cs[back].k*total, 1
	default:
		f.Ranges = 1
		for i := back + 1; i < len(cs); i++ {
			if cs[i].beyond != choice && cs[i-1].beyond == choice {
				f.Ranges++
			}
		}
		if cs[last].beyond == choice {
			// The last window ends where today's choice is back.
			f.UntilTokensPerMonth = cs[last].k * total
			break
		}
		// Today's choice returns in places, then never again.
		lastBack := last
		for cs[lastBack].beyond != choice {
			lastBack--
		}
		f.ForGoodTokensPerMonth, f.Then, f.Ranges = cs[lastBack+1].k*total, cs[last].beyond, 0
		if last > lastBack+1 {
			// Others come and go before the last one settles.
			f.ThenTokensPerMonth = cs[last].k * total
		}
	}
	return f, true
}

// point is the decision at one volume multiple, with what the search needs
// of every candidate (in the order they are enumerated, the same at every
// volume).
type point struct {
	k      float64
	choice int // -1: none eligible
	name   string
	total  []float64
	// open: ruled out by no criterion but the budget (the others do not
	// depend on the volume); over: over the monthly limit in some month.
	open, over []bool
	// within: some open candidate stays within the limit, so the ones over
	// it are ruled out.
	within bool
}

// volumeSearch finds every change of choice over a range of volumes,
// outwards from today's, up to maxFlipWork.
type volumeSearch struct {
	r      *Report
	p      *Profile
	breaks costBreaks
	// gpus tells apart the candidates' GPU costs: the same string, the
	// same GPUs at every volume.
	gpus    []string
	changes []change // ascending, or descending when down
	// down: the search goes from today's volume downwards, so each
	// interval's upper part is solved first.
	down bool
	// decisions counts the volumes decided in this direction, work the
	// candidate-months they costed.
	decisions, work int
	// cut: the bound stopped the search; every change between today's
	// volume (1) and reach is found.
	cut   bool
	reach float64
	// err is the context's error when it ended the search.
	err error
}

// stopped reports whether the search must end: cut by the bound or by
// the context.
func (s *volumeSearch) stopped() bool { return s.cut || s.err != nil }

func (s *volumeSearch) stopErr() error {
	return fmt.Errorf("advise: stopped while searching the volumes that change the recommendation (%d decided), no report made: %w", s.r.flipDecisions, s.err)
}

// done records that every change between a and b is found: the search
// has reached one of them, going outwards.
func (s *volumeSearch) done(a, b float64) {
	if s.down {
		s.reach = math.Min(s.reach, a)
	} else {
		s.reach = math.Max(s.reach, b)
	}
}

// gap is how far either side of a breakpoint the search decides: a
// replica is added once the demand exceeds a whole one by a part in 10⁹.
const gap = 4e-9

// decide is the decision at k, or nil when the search must stop (the
// bound is reached, or ctx is done).
func (s *volumeSearch) decide(ctx context.Context, k float64) *point {
	if s.stopped() {
		return nil
	}
	if err := ctx.Err(); err != nil {
		s.err = err
		return nil
	}
	if s.work >= maxFlipWork && s.decisions >= minFlipDecisions {
		s.cut = true
		return nil
	}
	cs, choice := s.r.whatIfAll(s.p, k, nil)
	s.decisions++
	s.work += flipDecisionWork + len(cs)*max(s.p.HorizonMonths, 1)
	s.r.flipDecisions++
	pt := &point{k: k, choice: -1, total: make([]float64, len(cs)), open: make([]bool, len(cs)), over: make([]bool, len(cs))}
	for i, c := range cs {
		pt.total[i] = c.TotalUSD
		pt.open[i] = !slices.ContainsFunc(c.Exclusions, func(e Exclusion) bool { return e.Criterion != CritBudget })
		pt.over[i] = c.OverBudgetMonths > 0
		pt.within = pt.within || pt.open[i] && !pt.over[i]
		if c == choice {
			pt.choice, pt.name = i, c.Name
		}
	}
	return pt
}

// settled reports whether the choice at a and b, the same, holds between.
func (s *volumeSearch) settled(a, b *point) bool {
	if a.choice != b.choice {
		return false
	}
	if slices.Equal(a.over, b.over) && !s.breaks.between(a.k, b.k) {
		return true // 2: lines, eligibility unchanged
	}
	x := a.choice
	if x < 0 || (b.over[x] && a.within) {
		return false // none, or the choice may be over the limit in between
	}
	// 1: every other candidate eligible anywhere between costs more (with
	// a margin for rounding) at a than the choice at b, or has the same
	// GPUs as the choice at every volume (the same open model for the same
	// share, or none), so that the difference of the two is a line, and
	// costs no less at both ends (more when listed first, which wins a
	// tie). Without the second, two hybrids whose APIs cost the same tie
	// everywhere and every breakpoint would be decided.
	bound := b.total[x] * (1 + 1e-9)
	for i := range a.total {
		if i == x || !a.open[i] || (a.over[i] && b.within) || a.total[i] > bound {
			continue
		}
		if s.gpus[i] != s.gpus[x] {
			return false
		}
		da, db := a.total[i]-a.total[x], b.total[i]-b.total[x]
		if da < 0 || db < 0 || (i < x && (da == 0 || db == 0)) {
			return false
		}
	}
	return true
}

// solve records every change of choice between a and b, the part nearer
// today's volume first, until the search is stopped.
func (s *volumeSearch) solve(ctx context.Context, a float64, pa *point, b float64, pb *point) {
	if s.stopped() {
		return
	}
	if s.settled(pa, pb) {
		s.done(a, b)
		return
	}
	if b <= a*(1+2*gap) {
		if pa.choice != pb.choice {
			s.changes = append(s.changes, change{k: math.Sqrt(a * b), below: pa.name, above: pb.name})
		}
		s.done(a, b)
		return
	}
	at, ok := s.breaks.nearMiddle(a, b)
	if !ok && pa.choice != pb.choice && pa.choice >= 0 && pb.choice >= 0 && slices.Equal(pa.over, pb.over) {
		// Lines: where the two winners' cross.
		x, y := pa.choice, pb.choice
		da, db := pa.total[x]-pa.total[y], pb.total[x]-pb.total[y]
		if db > da {
			if c := a + (b-a)*(-da)/(db-da); c > a*(1+2*gap) && c < b*(1-2*gap) {
				at, ok = c, true
			}
		}
	}
	if !ok {
		m := math.Sqrt(a * b)
		pm := s.decide(ctx, m)
		if pm == nil {
			return
		}
		if s.down {
			s.solve(ctx, m, pm, b, pb)
			s.solve(ctx, a, pa, m, pm)
		} else {
			s.solve(ctx, a, pa, m, pm)
			s.solve(ctx, m, pm, b, pb)
		}
		return
	}
	// Either side of the breakpoint (or crossing): [a, lo], [lo, hi]
	// (where the change is, if any), [hi, b].
	lo, hi := math.Max(at*(1-gap), a), math.Min(at*(1+gap), b)
	side := func(x float64, px *point, ok bool) *point {
		if !ok {
			return px
		}
		return s.decide(ctx, x)
	}
	var plo, phi *point
	if s.down {
		if phi = side(hi, pb, hi < b); phi == nil {
			return
		}
		if hi < b {
			s.solve(ctx, hi, phi, b, pb)
		}
		if plo = side(lo, pa, lo > a); plo == nil || s.stopped() {
			return
		}
	} else {
		if plo = side(lo, pa, lo > a); plo == nil {
			return
		}
		if lo > a {
			s.solve(ctx, a, pa, lo, plo)
		}
		if phi = side(hi, pb, hi < b); phi == nil || s.stopped() {
			return
		}
	}
	if plo.choice != phi.choice {
		s.changes = append(s.changes, change{k: at, below: plo.name, above: phi.name})
	}
	s.done(lo, hi)
	if s.down && lo > a {
		s.solve(ctx, a, pa, lo, plo)
	} else if !s.down && hi < b {
		s.solve(ctx, hi, phi, b, pb)
	}
}

// costBreaks are the volume multiples at which some candidate's total
// bends or steps: every multiple of each of steps, and points.
type costBreaks struct {
	steps  []float64
	points []float64 // sorted
}

// between reports whether a breakpoint lies strictly between a and b.
func (cb *costBreaks) between(a, b float64) bool {
	_, ok := cb.nearMiddle(a, b)
	return ok
}

// nearMiddle is the breakpoint strictly between a and b nearest their
// geometric middle.
func (cb *costBreaks) nearMiddle(a, b float64) (float64, bool) {
	mid := math.Sqrt(a * b)
	best, ok := 0.0, false
	try := func(x float64) {
		if x > a && x < b && (!ok || math.Abs(math.Log(x/mid)) < math.Abs(math.Log(best/mid))) {
			best, ok = x, true
		}
	}
	for _, st := range cb.steps {
		// The multiples either side of the middle: if any multiple lies
		// between a and b, one of these does.
		n := math.Floor(mid / st)
		for _, m := range []float64{n, n + 1} {
			if m >= 1 {
				try(m * st)
			}
		}
	}
	i, _ := slices.BinarySearch(cb.points, mid)
	for _, j := range []int{i - 1, i} {
		if j >= 0 && j < len(cb.points) {
			try(cb.points[j])
		}
	}
	return best, ok
}

// costBreaks are where the candidates' totals step or bend (see the
// search's comment), for each month t (month 1's volume times (1 +
// growth)^(t-1)):
//
//   - a self-hosted share s (not an overflow fleet): every k at which
//     s × output tokens/s × k is a whole number of replicas × tokens/s ×
//     utilisation;
//   - an overflow fleet: the same for its sensitive share (the fleet
//     carries its average); and for each fleet size it can have in the
//     range, the k at which what it cannot carry on average passes the
//     peak's excess, and the k at which the peak's excess reaches the
//     share allowed to overflow;
//
// and the k at which the month-1 output volume is one token (below it the
// rates are per token, see ratiosAt).
func (r *Report) costBreaks(p *Profile) costBreaks {
	var cb costBreaks
	if r.out <= 0 {
		return cb
	}
	cb.points = append(cb.points, 1/r.out)
	seen := map[float64]bool{}
	step1 := func(share, tps float64, m *costModel, out float64) {
		if share <= 0 {
			return
		}
		st := tps * m.util * SecondsPerMonth / (share * out)
		if !seen[st] {
			seen[st] = true
			cb.steps = append(cb.steps, st)
		}
	}
	step := func(share float64, m *costModel, out float64) {
		// With several fleets, each steps at its own replicas.
		for _, f := range m.extra {
			step1(f.share, f.open.OutputTokensPerSecond, m, out)
		}
		step1(m.ownShare(share), m.open.OutputTokensPerSecond, m, out)
	}
	for _, c := range r.Candidates {
		m := c.cm
		if m == nil || !m.hasOpen || m.open.OutputTokensPerSecond <= 0 || m.util <= 0 {
			continue
		}
		for t := range max(p.HorizonMonths, 1) {
			out := r.out * math.Pow(1+p.Workload.GrowthPerMonth, float64(t))
			switch {
			case m.overflow:
				if m.sensShare > 0 {
					step(m.sensShare, m, out)
				}
				// The base and peak rates are held at every k; the
				// average is k times today's.
				peak, base := out*m.peakRatio, out*m.baseRatio
				lo, hi := m.baseFleet(base, peak, 0.01*out/SecondsPerMonth), m.baseFleet(base, peak, 100*out/SecondsPerMonth)
				for n := lo; n <= min(hi, lo+2000); n++ {
					excess := m.overflowOf(n, peak, 0) // the peak's alone
					capacity := float64(n) * m.open.OutputTokensPerSecond * m.util * SecondsPerMonth
					cb.points = append(cb.points, (excess+capacity)/out)
					if m.sensShare < 1 && excess > 0 {
						cb.points = append(cb.points, excess/((1-m.sensShare)*out))
					}
				}
			case c.SelfHostedShare > 0:
				step(c.SelfHostedShare, m, out)
			}
		}
	}
	slices.Sort(cb.points)
	cb.points = slices.Compact(cb.points)
	return cb
}

// volumeFlipText states the flips, and how far the search went in a
// direction it was cut short in.
func (r *Report) volumeFlipText(flips []VolumeFlip, cuts []VolumeCut, runnerUp string) string {
	held := "at today's input:output mix"
	switch {
	case r.baseAbs > 0:
		held += ", peak and base rates" // the base load's fleet is sized for it
	case r.peakAbs > 0:
		held += " and peak rate"
	}
	if r.in+r.out == 0 {
		return "no traffic today: set the expected volume to compare at it"
	}
	if len(flips) == 0 && len(cuts) == 0 {
		return fmt.Sprintf("no volume from 1/100 to 100 times today's (%s) changes the recommendation", held)
	}
	name := func(c string) string {
		switch c {
		case runnerUp:
			return "it"
		case "":
			return "no candidate"
		}
		return c
	}
	// Four significant digits, or as many as it takes to tell every figure
	// more than a part in 10⁸ away from today's volume from it: near a fleet of millions of replicas a change
	// lies a part in 10⁷ from it, and "below 53.87 T … above 53.87 T (now
	// 53.9 T)" said nothing.
	today := r.in + r.out
	var figures []float64
	for _, f := range flips {
		figures = append(figures, f.TokensPerMonth, f.UntilTokensPerMonth, f.ForGoodTokensPerMonth, f.ThenTokensPerMonth)
	}
	for _, c := range cuts {
		figures = append(figures, c.SearchedToTokensPerMonth)
	}
	prec := 4
	for ; prec < 15; prec++ {
		if !slices.ContainsFunc(figures, func(v float64) bool {
			// A change at today's volume (a tie) is placed to a few parts
			// in 10⁹: more digits would show only that.
			return v > 0 && math.Abs(v/today-1) > 1e-8 && preciseTokensN(v, prec) == preciseTokensN(today, prec)
		}) {
			break
		}
	}
	pt := func(v float64) string { return preciseTokensN(v, prec) }
	now := tokens(today)
	if prec > 4 {
		now = pt(today)
	}
	var parts []string
	cutIn := func(dir string) *VolumeCut {
		if i := slices.IndexFunc(cuts, func(c VolumeCut) bool { return c.Direction == dir }); i >= 0 {
			return &cuts[i]
		}
		return nil
	}
	for _, c := range cuts {
		if !slices.ContainsFunc(flips, func(f VolumeFlip) bool { return f.Direction == c.Direction }) {
			way, end := "up", "100 times"
			if c.Direction == "below" {
				way, end = "down", "1/100 of"
			}
			parts = append(parts, fmt.Sprintf("no flip found within the search: no volume from today's %s to %s tokens a month changes the recommendation; the search stopped there after %d decisions (its bound), so %s it, to %s today's, was not searched",
				way, pt(c.SearchedToTokensPerMonth), c.Decisions, c.Direction, end))
		}
	}
	for _, f := range flips {
		t := fmt.Sprintf("%s becomes the recommendation %s %s tokens a month", name(f.To), f.Direction, pt(f.TokensPerMonth))
		switch {
		case f.UntilTokensPerMonth > 0 && f.Ranges > 1:
			lo, hi := f.UntilTokensPerMonth, f.TokensPerMonth
			if f.Direction == "above" {
				lo, hi = hi, lo
			}
			t = fmt.Sprintf("%s is the recommendation in %d separate ranges between %s and %s tokens a month, the nearest to today's at %s (GPUs come in whole replicas, so the costs cross back and forth), today's choice everywhere else and %s",
				name(f.To), f.Ranges, pt(lo), pt(hi), pt(f.TokensPerMonth), f.Direction)
		case f.UntilTokensPerMonth > 0:
			lo, hi := f.UntilTokensPerMonth, f.TokensPerMonth
			if f.Direction == "above" {
				lo, hi = hi, lo
			}
			t = fmt.Sprintf("%s becomes the recommendation between %s and %s tokens a month, today's choice again %s", name(f.To), pt(lo), pt(hi), f.Direction)
		case f.ForGoodTokensPerMonth > 0 && f.ThenTokensPerMonth > 0:
			t = fmt.Sprintf("the recommendation first changes %s %s tokens a month (to %s), but GPUs come in whole replicas, so today's choice returns in places up to %s tokens, %s which it never does, and %s is the recommendation %s %s tokens",
				f.Direction, pt(f.TokensPerMonth), f.To, pt(f.ForGoodTokensPerMonth), f.Direction, name(f.Then), f.Direction, pt(f.ThenTokensPerMonth))
		case f.ForGoodTokensPerMonth > 0:
			t = fmt.Sprintf("the recommendation first changes %s %s tokens a month (to %s), but GPUs come in whole replicas, so today's choice returns in places up to %s tokens, %s which %s is the recommendation",
				f.Direction, pt(f.TokensPerMonth), f.To, pt(f.ForGoodTokensPerMonth), f.Direction, name(f.Then))
		case f.Then != "":
			t += fmt.Sprintf(" (%s takes over %s %s tokens a month)", name(f.Then), f.Direction, pt(f.ThenTokensPerMonth))
		}
		if c := cutIn(f.Direction); c != nil {
			t += fmt.Sprintf(" (the search stopped at %s tokens a month, after %d decisions (its bound): what follows %s that was not searched)", pt(c.SearchedToTokensPerMonth), c.Decisions, f.Direction)
		}
		parts = append(parts, t)
	}
	return strings.Join(parts, "; ") + fmt.Sprintf(" (now %s, %s)", now, held)
}
