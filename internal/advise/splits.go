package advise

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
)

// maxSplits bounds the splits costed for one report: each is costed again
// at every volume the flips search, so the bound keeps a profile with many
// classes and candidates answering in seconds. Classes × targets is small
// in practice (3 classes over 3 APIs and an open model: 3³ + 4³ = 91).
// A variable so that a test can lower it.
var maxSplits = 1000

// SplitSearch says how the splits by workload class were searched: across
// several API models (with at most one open model), or across two open
// models (two fleets, with any APIs).
type SplitSearch struct {
	// Combinations is how many assignments of the classes to targets give
	// a split: two API models or more with at most one open model, or a
	// fleet of each of two open models.
	Combinations int `json:"combinations"`
	// Dominated is how many of them were left out, when there were more
	// than Bound, because each sends a class to an API that the class's
	// quality floor or fine-tuning need rules out, or that another API
	// beats for that class on every count (see placementSplits and
	// dominates): no split left out this way is the best one.
	Dominated int `json:"dominated,omitempty"`
	// Costed is how many of them are candidates: all those not dominated
	// unless Bound cut the search.
	Costed int  `json:"costed"`
	Bound  int  `json:"bound"`
	Cut    bool `json:"cut"`
}

// splits builds the candidates that give each workload class its own
// target: among several API models and at most one open model, or among
// any APIs and two open models, each carrying some class (two fleets,
// each paid as a fleet alone: see costModel.extra). The hybrids of one
// API and one open model are enumerated apart, before them. A sensitive
// class only ever goes to an open model, and an API compliance rules out
// is never a target: such splits are ruled out by a hard constraint
// whatever they cost, and the same split without the offending class
// placement is listed. A what-if that sets the constraint aside (deciding
// whether it changed the choice) enumerates them, since its classes are
// then not sensitive and its APIs not barred.
//
// When there are more splits than maxSplits, they are first narrowed to
// one per placement of the classes on the open models (see
// placementSplits) or, where that does not apply, to the classes' API
// targets no other API dominates (see classTargets): the best split is
// never among those left out. Only if more than maxSplits remain is the
// search cut, in enumeration order, and a note says so.
//
// The order is fixed (open models none, then each in profile order, then
// each pair; the classes' targets counted like digits, APIs first), and
// the narrowing depends on prices, scores and needs, never on the volume,
// so that every volume decides over the same list.
func (r *Report) splits(p *Profile, ws []workload) ([]*Candidate, SplitSearch) {
	s := SplitSearch{Bound: maxSplits}
	var apis []string
	for _, a := range r.Proprietary {
		if a.Allowed || r.ignore[CritCompliance] {
			apis = append(apis, a.Model)
		}
	}
	n := len(ws)
	if n < 2 {
		return nil, s
	}
	options := [][]string{nil} // the open models of a split
	for _, o := range r.Open {
		options = append(options, []string{o.Model})
	}
	for i := range r.Open {
		for j := i + 1; j < len(r.Open); j++ {
			options = append(options, []string{r.Open[i].Model, r.Open[j].Model})
		}
	}
	full := make([][]string, n) // each class's API targets
	for i, w := range ws {
		if !w.Sensitive {
			full[i] = apis
		}
	}
	all := 0.0
	for _, opens := range options {
		all += countSplits(full, len(opens))
	}
	s.Combinations = int(math.Min(all, 1e18))
	// targets are the classes' API targets for a split with these open
	// models: all of them, or, over the bound, those worth costing. An
	// open model's quality gap to a split's APIs is checked only when the
	// model is measured, so only then may a more accurate API not stand
	// in for a less accurate one.
	targets := func([]string) [][]string { return full }
	if all > float64(maxSplits) {
		// Over the bound, the splits costed must not depend on the order
		// the profile lists its candidates in: the open models by name.
		slices.SortStableFunc(options, func(x, y []string) int {
			if c := cmp.Compare(len(x), len(y)); c != 0 {
				return c
			}
			return slices.Compare(slices.Sorted(slices.Values(x)), slices.Sorted(slices.Values(y)))
		})
		if out, left, ok := r.placementSplits(p, ws, full, options); ok {
			s.Dominated = int(math.Min(all-float64(left), 1e18))
			s.Costed = len(out)
			s.Cut = s.Costed < s.Combinations-s.Dominated
			return out, s
		}
		plain, gap := r.classTargets(p, ws, full, false), r.classTargets(p, ws, full, true)
		for i, w := range ws {
			// Cheapest first, then by training price, then by name, so
			// that a cut costs the same splits whatever the profile's
			// order (see apiOrder).
			for _, ts := range [][]string{plain[i], gap[i]} {
				slices.SortStableFunc(ts, func(a, b string) int { return r.apiOrder(p, w, a, b) })
			}
		}
		targets = func(opens []string) [][]string {
			if !r.ignore[CritQuality] && slices.ContainsFunc(opens, func(m string) bool { return r.score(m) != nil }) {
				return gap
			}
			return plain
		}
		left := 0.0
		for _, opens := range options {
			left += countSplits(targets(opens), len(opens))
		}
		s.Dominated = int(math.Min(all-left, 1e18))
	}
	var out []*Candidate
	for _, opens := range options {
		if len(out) >= maxSplits {
			break
		}
		out = r.splitsWith(p, ws, targets(opens), opens, out)
	}
	s.Costed = len(out)
	s.Cut = s.Costed < s.Combinations-s.Dominated
	return out, s
}

// splitsWith appends to out, up to maxSplits, the splits whose open
// models are opens, each class going to one of its API targets or one of
// opens.
func (r *Report) splitsWith(p *Profile, ws []workload, apiTargets [][]string, opens []string, out []*Candidate) []*Candidate {
	n := len(ws)
	targets := make([][]string, n)
	total := 1
	for i := range ws {
		targets[i] = append(slices.Clone(apiTargets[i]), opens...)
		if len(targets[i]) == 0 {
			return out
		}
		total *= len(targets[i])
	}
	idx := make([]int, n)
	for range total {
		if len(out) >= maxSplits {
			return out
		}
		var as []Assignment
		var models []string
		onOpen := 0.0
		used := map[string]bool{}
		for i, w := range ws {
			m := targets[i][idx[i]]
			target := ScenarioProprietary
			if slices.Contains(opens, m) {
				target = ScenarioSelfHosted
				onOpen += w.Share
				used[m] = true
			} else if !slices.Contains(models, m) {
				models = append(models, m)
			}
			as = append(as, Assignment{Workload: w.Name, Share: w.Share, Model: m, Target: target})
		}
		for i := n - 1; i >= 0; i-- { // next assignment
			if idx[i]++; idx[i] < len(targets[i]) {
				break
			}
			idx[i] = 0
		}
		if len(used) < len(opens) || (len(opens) < 2 && len(models) < 2) {
			// An open model without traffic; or one API with at most one
			// open model (a hybrid or an API alone, enumerated apart).
			continue
		}
		out = append(out, r.makeSplit(p, as, models, opens, onOpen))
	}
	return out
}

// makeSplit is the candidate assigning the classes as as says, with API
// models models and open models opens (onOpen of the traffic on them).
func (r *Report) makeSplit(p *Profile, as []Assignment, models, opens []string, onOpen float64) *Candidate {
	{
		c := &Candidate{Kind: ScenarioHybrid, APIModels: models, Assignment: as}
		switch len(opens) {
		case 1:
			c.OpenModel = opens[0]
		case 2:
			c.OpenModels = opens
			if len(models) == 0 {
				c.Kind = ScenarioSelfHosted
			}
		}
		if len(opens) > 0 {
			c.SelfHostedShare = onOpen + p.Hybrid.RoutedShare*(1-onOpen)
		}
		var parts []string
		for _, a := range as {
			where := a.Model
			if a.Target == ScenarioSelfHosted {
				where = "self-hosted " + a.Model
			}
			parts = append(parts, a.Workload+" on "+where)
		}
		c.Name = "split: " + strings.Join(parts, ", ")
		return c
	}
}

// countSplits is how many assignments of the classes, each to one of its
// API targets or one of f open models, are splits: with f < 2, two APIs or
// more used and the open model (if any) carrying some class; with f = 2,
// both open models carrying some class. By inclusion and exclusion, in
// floating point (the counts can be astronomical).
func countSplits(targets [][]string, f int) float64 {
	prod := func(g func(i int) float64) float64 {
		v := 1.0
		for i := range targets {
			v *= g(i)
		}
		return v
	}
	size := func(extra float64) float64 {
		return prod(func(i int) float64 { return float64(len(targets[i])) + extra })
	}
	var apis []string
	for _, t := range targets {
		for _, a := range t {
			if !slices.Contains(apis, a) {
				apis = append(apis, a)
			}
		}
	}
	// only(a, extra) is the assignments using API a alone (or nothing) with
	// extra open models on offer.
	only := func(a string, extra float64) float64 {
		return prod(func(i int) float64 {
			if slices.Contains(targets[i], a) {
				return 1 + extra
			}
			return extra
		})
	}
	// twoAPIs(extra) is the assignments using two APIs or more.
	twoAPIs := func(extra float64) float64 {
		v := size(extra) - prod(func(int) float64 { return extra }) // some API
		for _, a := range apis {
			v -= only(a, extra) - prod(func(int) float64 { return extra })
		}
		return v
	}
	switch f {
	case 0:
		return twoAPIs(0)
	case 1:
		return twoAPIs(1) - twoAPIs(0)
	default:
		return size(2) - 2*size(1) + size(0)
	}
}

// classTargets narrows each class's API targets to those worth costing:
// an API the class's quality floor (its score below it) or fine-tuning
// need (no hosted fine-tuning; adapters rule out every API) rules out is
// dropped, since every split sending the class there is ruled out; and so
// is an API another dominates for the class (see dominates), since every
// split sending the class there costs at least as much in every month as
// the same split with the class on the other, and is eligible no more
// often. gap says whether an open model's quality gap to the split's APIs
// is checked. What a what-if ignores is not held against an API.
func (r *Report) classTargets(p *Profile, ws []workload, full [][]string, gap bool) [][]string {
	quality := !r.ignore[CritQuality]
	anyFT := slices.ContainsFunc(ws, func(w workload) bool { return w.fineTune })
	out := make([][]string, len(ws))
	for i, ok := range r.serviceable(p, ws, full) {
		w := ws[i]
		for _, a := range ok {
			if !slices.ContainsFunc(ok, func(b string) bool {
				return b != a && r.dominates(p, w, gap && quality, anyFT, b, a)
			}) {
				out[i] = append(out[i], a)
			}
		}
	}
	return out
}

// serviceable narrows each class's API targets to those its own needs
// leave: its quality floor (a score below it rules the API out) and its
// fine-tuning need (hosted fine-tuning; adapters rule out every API),
// unless a what-if ignores them.
func (r *Report) serviceable(p *Profile, ws []workload, full [][]string) [][]string {
	quality := !r.ignore[CritQuality]
	custom := !r.ignore[CritCustomisation]
	out := make([][]string, len(ws))
	for i, w := range ws {
		minAcc := w.MinAccuracy
		if minAcc == 0 {
			minAcc = p.Quality.MinAccuracy
		}
		for _, a := range full[i] {
			if sc := r.score(a); quality && sc != nil && minAcc > 0 && sc.Accuracy < minAcc {
				continue
			}
			if custom && (p.Customisation.Adapters || w.fineTune && r.apiFineTuning(p, a) == nil) {
				continue
			}
			out[i] = append(out[i], a)
		}
	}
	return out
}

// maxPlacements bounds the placements placementSplits walks.
const maxPlacements = 1 << 20

// placementSplits is, over the bound, one split for each placement of the
// classes on the open models (each class on an API, or on one of the
// split's open models, every open model used): each class left to the
// APIs goes to its cheapest API at today's mix (the one first by name at
// a tie, whatever the profile's order) among those its needs leave (see serviceable) and the placement
// allows — with a measured open model serving a class another API may
// take, the quality gap check rules out every API more than
// quality.max_gap_pp more accurate than it. Any other split with the same
// placement uses only APIs the placement allows if it is eligible, and
// costs at least as much in every month (each class's API tokens scale
// alike at every volume), so it is never the best; nor is one whose
// cheapest APIs come to a single API with at most one open model, since
// that hybrid (or API alone) is a candidate already and costs the same.
// left is how many splits the placements give. ok is false when the
// classes' API costs are not separate (a class that must be fine-tuned
// and an API with a training price, paid once by all its classes) or
// there are too many placements: the caller narrows class by class.
func (r *Report) placementSplits(p *Profile, ws []workload, full [][]string, options [][]string) (out []*Candidate, left int, ok bool) {
	cands := r.serviceable(p, ws, full)
	price := make([][]float64, len(ws))
	for i, w := range ws {
		for _, a := range cands[i] {
			ap := r.apiPrice(a)
			in, o := ap.InputPerMillion, ap.OutputPerMillion
			if ft := r.apiFineTuning(p, a); w.fineTune && ft != nil {
				if p.Customisation.TrainingTokensPerMonth*ft.TrainingPerMillion > 0 {
					return nil, 0, false
				}
				in, o = orPrice(ft.InputPerMillion, in), orPrice(ft.OutputPerMillion, o)
			}
			if r.mixIn+r.mixOut > 0 {
				price[i] = append(price[i], r.mixIn*in+r.mixOut*o)
			} else {
				price[i] = append(price[i], in+o) // no volume: every split costs nothing
			}
		}
	}
	total := 0
	for _, opens := range options {
		n := 1
		for i, w := range ws {
			k := len(opens)
			if !w.Sensitive && len(cands[i]) > 0 {
				k++
			}
			if n *= k; n > maxPlacements {
				return nil, 0, false
			}
		}
		if total += n; total > maxPlacements {
			return nil, 0, false
		}
	}
	quality := !r.ignore[CritQuality]
	// allowed says whether API a may serve in a split whose open models
	// serve the classes on[j] ("" where a class is on an API).
	allowed := func(a string, on []string) bool {
		sa := r.score(a)
		if !quality || sa == nil {
			return true
		}
		for j, o := range on {
			w := ws[j]
			so := r.score(o)
			if o == "" || w.Sensitive || so == nil || p.Customisation.Adapters || w.fineTune && r.apiFineTuning(p, a) == nil {
				continue // no gap checked on that class against a
			}
			if 100*(sa.Accuracy-so.Accuracy) > *p.Quality.MaxGapPP+1e-9 {
				return false
			}
		}
		return true
	}
	for _, opens := range options {
		slots := make([][]string, len(ws)) // "" stands for the APIs
		for i, w := range ws {
			if !w.Sensitive && len(cands[i]) > 0 {
				slots[i] = append(slots[i], "")
			}
			slots[i] = append(slots[i], opens...)
		}
		count := 1
		for _, x := range slots {
			count *= len(x)
		}
		idx := make([]int, len(ws))
		on := make([]string, len(ws))
	placements:
		for range count {
			onOpen := 0.0
			used := map[string]bool{}
			for i := range ws {
				if on[i] = slots[i][idx[i]]; on[i] != "" {
					used[on[i]] = true
					onOpen += ws[i].Share
				}
			}
			for i := len(ws) - 1; i >= 0; i-- { // next placement
				if idx[i]++; idx[i] < len(slots[i]) {
					break
				}
				idx[i] = 0
			}
			if len(used) < len(opens) {
				continue
			}
			var as []Assignment
			var models []string
			for i, w := range ws {
				m, target := on[i], ScenarioSelfHosted
				if m == "" {
					best := -1
					for j, a := range cands[i] {
						if allowed(a, on) && (best < 0 || price[i][j] < price[i][best]*(1-1e-12) ||
							price[i][j] <= price[i][best]*(1+1e-12) && a < cands[i][best]) {
							best = j
						}
					}
					if best < 0 {
						continue placements // no API this placement allows
					}
					m, target = cands[i][best], ScenarioProprietary
					if !slices.Contains(models, m) {
						models = append(models, m)
					}
				}
				as = append(as, Assignment{Workload: w.Name, Share: w.Share, Model: m, Target: target})
			}
			if len(opens) < 2 && len(models) < 2 {
				continue
			}
			left++
			if len(out) < maxSplits {
				out = append(out, r.makeSplit(p, as, models, opens, onOpen))
			}
		}
	}
	return out, left, true
}

// apiOrder orders APIs as targets for class w, whatever the order the
// profile lists them in: cheapest first at the class's prices (fine-tuned
// prices where it must be fine-tuned) and today's input:output mix, then
// the lower training price (paid once by every class an API serves), then
// by name. Over the split bound the splits are enumerated in this order,
// so a cut costs the splits sending classes to their cheapest APIs first,
// and two APIs alike on every price (a tie) are told apart by name.
func (r *Report) apiOrder(p *Profile, w workload, a, b string) int {
	key := func(model string) (usd, training float64) {
		ap := r.apiPrice(model)
		in, out := ap.InputPerMillion, ap.OutputPerMillion
		if ft := r.apiFineTuning(p, model); w.fineTune && ft != nil {
			in, out = orPrice(ft.InputPerMillion, in), orPrice(ft.OutputPerMillion, out)
			training = ft.TrainingPerMillion
		}
		if r.mixIn+r.mixOut == 0 {
			return in + out, training
		}
		return r.mixIn*in + r.mixOut*out, training
	}
	ua, ta := key(a)
	ub, tb := key(b)
	if !sameCost(ua, ub) {
		return cmp.Compare(ua, ub)
	}
	if !sameCost(ta, tb) {
		return cmp.Compare(ta, tb)
	}
	return strings.Compare(a, b)
}

// dominates reports whether API b is at least as good a target as API a
// for class w in every split, whatever the volume. It is no dearer at
// today's input:output mix (every volume the advisor decides at scales
// input and output alike, growth too, so the order of two APIs' prices
// for the class holds in every month at every volume; at fine-tuned
// prices where the class must be fine-tuned, and then b has no training
// cost, which it could add to a split where a's is paid anyway). With
// gap (an open model's quality gap to the split's APIs is checked), b is
// also no more accurate than a, and measured only if a is, so no gap
// widens, and it offers hosted fine-tuning only where a does (the gap
// counts only APIs that may serve the class). Where the two are alike in
// every respect, the one first by name dominates: the profile's order
// does not choose which is costed.
func (r *Report) dominates(p *Profile, w workload, gap, anyFT bool, b, a string) bool {
	price := func(model string) (usd, in, out, training float64) {
		ap := r.apiPrice(model)
		in, out = ap.InputPerMillion, ap.OutputPerMillion
		if ft := r.apiFineTuning(p, model); w.fineTune && ft != nil {
			in, out = orPrice(ft.InputPerMillion, in), orPrice(ft.OutputPerMillion, out)
			training = p.Customisation.TrainingTokensPerMonth * ft.TrainingPerMillion
		}
		return r.mixIn*in + r.mixOut*out, in, out, training
	}
	ca, ai, ao, _ := price(a)
	cb, bi, bo, bt := price(b)
	if bt > 0 {
		return false
	}
	var cheaper bool
	if r.mixIn+r.mixOut > 0 {
		tol := 1e-12 * math.Max(ca, cb)
		if cb > ca+tol {
			return false
		}
		cheaper = cb < ca-tol
	} else { // no volume: no mix to compare at
		if bi > ai || bo > ao {
			return false
		}
		cheaper = bi < ai || bo < ao
	}
	strict := cheaper
	if gap {
		if anyFT && r.apiFineTuning(p, b) != nil && r.apiFineTuning(p, a) == nil {
			return false
		}
		sa, sb := r.score(a), r.score(b)
		switch {
		case sb == nil:
			strict = strict || sa != nil
		case sa == nil || sb.Accuracy > sa.Accuracy:
			return false
		default:
			strict = strict || sb.Accuracy < sa.Accuracy
		}
	}
	return strict || b < a
}

// note says, when the bound cut the search of splits, what was left
// out, and when dominated splits were left out, that they were ("" when
// nothing was).
func (s SplitSearch) note() string {
	switch {
	case s.Cut && s.Dominated > 0:
		return fmt.Sprintf("Only %d of the %d splits of the workload classes were costed (the bound is %d): %d send a class to an API that its needs rule out or that another API beats for it on price, quality and fine-tuning, and of the other %d the first %d in enumeration order were costed. The recommendation is the best of those costed; merge classes or drop candidates to search them all.",
			s.Costed, s.Combinations, s.Bound, s.Dominated, s.Combinations-s.Dominated, s.Costed)
	case s.Cut:
		return fmt.Sprintf("Only %d of the %d splits of the workload classes were costed (the bound is %d): the recommendation is the best of those costed; merge classes or drop candidates to search them all.",
			s.Costed, s.Combinations, s.Bound)
	case s.Dominated > 0:
		return fmt.Sprintf("%d of the %d splits of the workload classes were not costed (more than the bound of %d): each sends a class to an API that its needs rule out or that another API beats for it on price, quality and fine-tuning, so none of them is the best split.",
			s.Dominated, s.Combinations, s.Bound)
	}
	return ""
}
