package advise

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// RunnerUp is the best alternative of another kind than the choice, and
// what would make it win.
type RunnerUp struct {
	Candidate string  `json:"candidate"`
	Kind      string  `json:"kind"`
	TotalUSD  float64 `json:"total_usd"`
	// LostOn is the criterion it lost on (a stage, or cost).
	LostOn string `json:"lost_on"`
	Flip   string `json:"flip"`
	// VolumeFlips are the nearest monthly volumes, below and above today's,
	// at which the recommendation changes (checked by deciding again).
	VolumeFlips []VolumeFlip `json:"volume_flips,omitempty"`
	// VolumeCuts are the directions in which the search stopped at its
	// bound before the end of its range: VolumeFlips holds the changes up
	// to where it searched, and claims nothing beyond.
	VolumeCuts []VolumeCut `json:"volume_cuts,omitempty"`
}

// decide applies the stages in order to the candidates and picks the
// cheapest one left. A stage is decisive when it changed the choice: when
// deciding again without its exclusions (everything else kept) picks
// another candidate. When no stage alone did but the choice is not the
// cheapest of all, the criteria ruling out the cheapest of all changed it
// together (each alone is covered by another): they are named, jointly.
// Cost is named only when the choice is the cheapest of all candidates.
func (r *Report) decide(p *Profile, cs []*Candidate, in, out float64) (*Candidate, []string) {
	choice := cheapest(cs, func(c *Candidate) bool { return !c.Excluded() })
	if choice == nil || r.quick {
		return choice, nil
	}
	choice.Chosen = true
	var decided []string
	r.without = map[string]string{}
	for _, st := range stages {
		if w := r.whatIf(p, 1, nil, st); w != choice.Name {
			decided = append(decided, st)
			r.without[st] = w
		}
	}
	all := cheapest(cs, func(*Candidate) bool { return true })
	if len(decided) == 0 && all != choice {
		var joint []string
		for _, st := range stages {
			if all.excludedBy(st) {
				joint = append(joint, st)
			}
		}
		if len(joint) > 1 && r.whatIf(p, 1, nil, joint...) != choice.Name {
			decided, r.jointly = joint, all.Name
		}
	}
	if len(decided) == 0 && all != choice {
		// No criterion changed the choice, alone or together, yet the
		// cheapest of all is ruled out: dropping a need drops its costs
		// too (fine-tuned gpt-4o-mini at $305 a month wins; without the
		// need the base model at $2.63 still beats mistral at $7.50). Name
		// the stages that ruled out the cheapest one left before them, in
		// order, as what they did; none is named as deciding.
		r.excludesOnly = all.Name
		done := map[string]bool{}
		for _, st := range stages {
			before := cheapest(cs, func(c *Candidate) bool {
				return !slices.ContainsFunc(c.Exclusions, func(e Exclusion) bool { return done[e.Criterion] })
			})
			done[st] = true
			if before != nil && before.excludedBy(st) {
				r.excludesBy = append(r.excludesBy, st)
			}
		}
	}
	if len(decided) == 0 && len(cs) > 1 && all == choice {
		decided = append(decided, CritCost)
		// Expertise changed the choice when, without the staff cost of
		// self-hosting, another candidate would be chosen: decided again,
		// since a self-hosted candidate without staff may also come within
		// the budget and rule out a choice over it (comparing totals alone
		// missed that).
		if *p.SelfHosting.StaffFTE*p.Expertise.StaffCostUSDMonth > 0 {
			zero := 0.0
			if w := r.whatIf(p, 1, func(q *Profile, _ map[string]*ModelScore) { q.SelfHosting.StaffFTE = &zero }); w != choice.Name {
				decided = append(decided, CritExpertise)
				r.without[CritExpertise] = w
			}
		}
	}
	return choice, decided
}

// runnerUp is the cheapest eligible candidate of another kind, else the
// cheapest excluded one (one that no hard constraint rules out first, of
// another kind first), with what would flip the choice.
// Every flip it states is checked by deciding again (whatIf): a volume is
// where the recommendation really changes, and "wins if" is said only when
// lifting the exclusion makes the runner-up the choice.
func (r *Report) runnerUp(ctx context.Context, p *Profile, cs []*Candidate, choice *Candidate, decided []string, in, out float64) (*RunnerUp, error) {
	other := func(c *Candidate) bool { return c.Kind != choice.Kind }
	soft := func(c *Candidate) bool {
		return !c.excludedBy(CritDataSensitivity) && !c.excludedBy(CritCompliance)
	}
	// When only criteria a number lifts (a quality floor or gap, a budget)
	// decided, what flips the choice is that number: the runner-up is the
	// candidate chosen without them ("gpt-4o-mini qualifies if it reaches
	// 70%, and then wins"), not a dearer eligible one whose only flip is a
	// volume. (A customisation need is lifted by declaring an offer, at
	// prices no one knows yet: no number to check.)
	if len(decided) > 0 && r.jointly == "" && !slices.ContainsFunc(decided, func(d string) bool {
		return d != CritQuality && d != CritBudget
	}) {
		without := r.whatIf(p, 1, nil, decided...)
		if i := slices.IndexFunc(cs, func(c *Candidate) bool { return c.Name == without }); i >= 0 && cs[i] != choice &&
			cs[i].Excluded() && !slices.ContainsFunc(cs[i].Exclusions, func(e Exclusion) bool { return e.lift == nil }) {
			return r.excludedRunnerUp(p, choice, cs[i]), nil
		}
	}
	ru := cheapest(cs, func(c *Candidate) bool { return other(c) && !c.Excluded() })
	if ru == nil {
		ru = cheapest(cs, func(c *Candidate) bool { return c != choice && !c.Excluded() })
	}
	if ru != nil {
		res := &RunnerUp{Candidate: ru.Name, Kind: ru.Kind, TotalUSD: ru.TotalUSD, LostOn: CritCost}
		res.Flip = fmt.Sprintf("costs $%s over %d months, %s%% more", money(ru.TotalUSD), p.HorizonMonths, percentMore(ru.TotalUSD, choice.TotalUSD))
		if sameCost(ru.TotalUSD, choice.TotalUSD) {
			// cheapest keeps the first of equals: APIs are listed before
			// self-hosting, which is then not worth its risk.
			res.Flip = fmt.Sprintf("costs the same, $%s over %d months: at a tie the candidate listed first (an API before self-hosting, self-hosting before a hybrid) is chosen", money(ru.TotalUSD), p.HorizonMonths)
		}
		var err error
		if res.VolumeFlips, res.VolumeCuts, err = r.volumeFlips(ctx, p, choice.Name); err != nil {
			return nil, err
		}
		res.Flip += "; " + r.volumeFlipText(res.VolumeFlips, res.VolumeCuts, ru.Name)
		return res, nil
	}
	// Among the excluded, one that only soft criteria rule out (quality,
	// customisation, budget: a number can lift them) says what would
	// flip the choice; one a hard constraint rules out (data sensitivity,
	// compliance) can only say that nothing does.
	for _, ok := range []func(c *Candidate) bool{
		func(c *Candidate) bool { return other(c) && soft(c) },
		func(c *Candidate) bool { return c != choice && soft(c) },
		other,
		func(c *Candidate) bool { return c != choice },
	} {
		if ru = cheapest(cs, func(c *Candidate) bool { return c.Excluded() && ok(c) }); ru != nil {
			break
		}
	}
	if ru == nil {
		return nil, nil
	}
	return r.excludedRunnerUp(p, choice, ru), nil
}

// excludedRunnerUp is ru, ruled out, as the runner-up: its first reason and
// what lifting it would do, checked by deciding again.
func (r *Report) excludedRunnerUp(p *Profile, choice, ru *Candidate) *RunnerUp {
	e := ru.Exclusions[0]
	res := &RunnerUp{Candidate: ru.Name, Kind: ru.Kind, TotalUSD: ru.TotalUSD, LostOn: e.Criterion}
	res.Flip = fmt.Sprintf("ruled out by %s: %s", e.Criterion, e.Reason)
	// With no number to lift it, every criterion ruling it out is named,
	// and what lifting them all does is decided again: a candidate ruled
	// out by compliance and data sensitivity alike was said to need "only
	// lifting the constraint" (compliance), though without it data
	// sensitivity still rules it out.
	var crits []string
	for _, x := range ru.Exclusions {
		if e.Flip == "" && !slices.Contains(crits, x.Criterion) {
			crits = append(crits, x.Criterion)
		}
	}
	lifting := e.Criterion
	if len(crits) > 1 {
		res.Flip += ", and by " + strings.Join(crits[1:], " and ")
		lifting = strings.Join(crits, " and ") + " together"
	}
	if ru.TotalUSD < choice.TotalUSD {
		res.Flip += fmt.Sprintf(" (it would cost $%s, %.1f× less)", money(ru.TotalUSD), choice.TotalUSD/ru.TotalUSD)
	}
	if e.Flip == "" {
		switch got := r.whatIf(p, 1, nil, crits...); got {
		case ru.Name:
			res.Flip += "; no price or volume changes this: only lifting " + lifting + " would, and then it wins"
		case choice.Name:
			res.Flip += "; no price or volume changes this, and even lifting " + lifting + " would leave " + choice.Name + " the choice"
		case "":
			res.Flip += "; no price or volume changes this, and even lifting " + lifting + " no candidate would be eligible"
		default:
			res.Flip += "; no price or volume changes this; lifting " + lifting + " would make " + got + " the recommendation"
		}
		return res
	}
	res.Flip += "; it " + e.Flip
	if e.lift == nil {
		return res
	}
	// Every other exclusion a number lifts is lifted with the first: a
	// model 70% against a 75% floor that also trails the API by 18 pp
	// does not qualify at 75%, and "it qualifies if it reaches 75%" was
	// said of one.
	lifts := []func(*Profile, map[string]*ModelScore){e.lift}
	for _, x := range ru.Exclusions[1:] {
		if x.lift != nil {
			res.Flip += " and " + strings.TrimPrefix(x.Flip, "qualifies ")
			lifts = append(lifts, x.lift)
		}
	}
	cs2, got := r.whatIfAll(p, 1, func(p *Profile, s map[string]*ModelScore) {
		for _, l := range lifts {
			l(p, s)
		}
	})
	var still *Exclusion
	if i := slices.IndexFunc(cs2, func(c *Candidate) bool { return c.Name == ru.Name }); i >= 0 && cs2[i].Excluded() {
		still = &cs2[i].Exclusions[0]
	}
	switch {
	case still != nil:
		// A constraint no number lifts (or one the lifts do not reach).
		res.Flip += fmt.Sprintf(", but would still be ruled out by %s (%s)", still.Criterion, still.Reason)
	case got == nil:
		res.Flip += ", but no candidate would then be eligible"
	case got.Name == ru.Name:
		res.Flip += ", and then wins"
	case got.Name == choice.Name:
		res.Flip += fmt.Sprintf(", but %s would still be chosen", choice.Name)
	default:
		res.Flip += fmt.Sprintf("; the recommendation would then be %s", got.Name)
	}
	return res
}

// percentMore is how much dearer a is than b, in percent, to two
// significant digits below 10% so that a small gap never reads "0%".
func percentMore(a, b float64) string {
	if b <= 0 {
		return "∞"
	}
	v := 100 * (a/b - 1)
	if v < 0.01 {
		return "<0.01"
	}
	if v < 10 {
		return strconv.FormatFloat(v, 'g', 2, 64)
	}
	return fmt.Sprintf("%.0f", v)
}

// explain fills Criteria and Recommendation.
func (r *Report) explain(p *Profile, cs []*Candidate, ws []workload, choice *Candidate, decided []string, in, out float64) {
	isDecisive := func(n string) bool {
		for _, d := range decided {
			if d == n {
				return true
			}
		}
		return false
	}
	count := func(crit string) (n int, first string) {
		for _, c := range cs {
			for _, e := range c.Exclusions {
				if e.Criterion == crit {
					if n == 0 {
						first = c.Name + ": " + e.Reason
					}
					n++
					break
				}
			}
		}
		return
	}
	favours := func(crit string) string {
		if choice != nil && isDecisive(crit) {
			return choice.Kind
		}
		return "neutral"
	}
	finding := func(crit, none string) string {
		n, first := count(crit)
		if n == 0 {
			return none
		}
		return fmt.Sprintf("rules out %d of %d candidates, e.g. %s", n, len(cs), first)
	}
	ds := Criterion{Name: CritDataSensitivity, Finding: finding(CritDataSensitivity, "no sensitive workload class: any model may see the traffic")}
	if r.PrivateShare > 0 {
		ds.Finding = fmt.Sprintf("%.0f%% of traffic carries %s and must stay self-hosted; ", 100*r.PrivateShare, orList(p.Data.Classes, "sensitive data")) + ds.Finding
	}
	regs := regulations(p)
	co := Criterion{Name: CritCompliance, Finding: finding(CritCompliance, "no residency requirement excludes an API")}
	if len(regs) > 0 || p.Compliance.Residency != "" {
		pre := "under " + orList(regs, "no named regulation")
		if p.Compliance.Residency != "" {
			pre += fmt.Sprintf(", data must stay in %q", p.Compliance.Residency)
		}
		co.Finding = pre + "; " + co.Finding
	}
	q := Criterion{Name: CritQuality, Finding: finding(CritQuality, "no candidate falls below a quality threshold")}

	if len(r.Quality) == 0 {
		q.Finding = "no eval results given (run fulcrum eval and pass --eval): quality thresholds not checked"
	} else if r.QualityGapPP != nil {
		q.Finding = fmt.Sprintf("gap between %s and %s: %+.1f pp (limit %g pp); ", r.QualityGapModels[0], r.QualityGapModels[1], *r.QualityGapPP, *p.Quality.MaxGapPP) + q.Finding
	}
	if u := r.unmeasuredFloor(p, ws, choice); u != "" && len(r.Quality) > 0 {
		q.Finding += "; the choice's " + u // with no results at all, said above
	}
	cu := Criterion{Name: CritCustomisation, Finding: finding(CritCustomisation, "no fine-tuning or adapters required")}
	var needs []string
	ft := false
	for _, w := range ws {
		ft = ft || w.fineTune
	}
	for _, n := range []struct {
		on   bool
		name string
	}{{ft, "fine-tuning"}, {p.Customisation.Adapters, "adapters (LoRA)"}, {p.Customisation.DomainVocabulary, "domain vocabulary"}} {
		if n.on {
			needs = append(needs, n.name)
		}
	}
	if len(needs) > 0 {
		var offers []string
		for _, c := range p.Candidates.Proprietary {
			if c.FineTuning == nil && (ft || p.Customisation.Adapters) && r.fineTuned != nil {
				if in, out, name, ok := r.fineTuned(c.Model); ok {
					offers = append(offers, fmt.Sprintf("the price catalogue lists hosted fine-tuned %s (%s) at $%.2f / $%.2f per million, training price not listed: declare candidates.proprietary[].fine_tuning to consider it", c.Model, name, in, out))
				}
			}
			if c.FineTuning != nil {
				offers = append(offers, fmt.Sprintf("%s offers hosted fine-tuning ($%.2f per million training tokens, then $%.2f / $%.2f per million)", c.Model,
					c.FineTuning.TrainingPerMillion, orPrice(c.FineTuning.InputPerMillion, r.apiPrice(c.Model).InputPerMillion), orPrice(c.FineTuning.OutputPerMillion, r.apiPrice(c.Model).OutputPerMillion)))
			}
		}
		pre := "needs " + strings.Join(needs, ", ") + "; open weights can be adapted freely"
		if len(offers) > 0 {
			pre += "; " + strings.Join(offers, "; ")
		} else if ft || p.Customisation.Adapters {
			pre += "; no API candidate declares hosted fine-tuning"
		}
		cu.Finding = pre + "; " + cu.Finding
	}
	bu := Criterion{Name: CritBudget, Finding: finding(CritBudget, "no candidate left is over budget")}
	if p.Budget.MonthlyLimitUSD == 0 {
		bu.Finding = "no monthly limit"
	} else {
		bu.Finding = fmt.Sprintf("limit $%s a month; ", money(p.Budget.MonthlyLimitUSD)) + bu.Finding
		if n, _ := count(CritBudget); n == 0 && choice != nil && choice.OverBudgetMonths > 0 {
			// No exclusion because none left stays within it.
			bu.Finding = fmt.Sprintf("limit $%s a month; every candidate left exceeds it, so none is ruled out: the choice does in %d of %d months (up to $%s)",
				money(p.Budget.MonthlyLimitUSD), choice.OverBudgetMonths, p.HorizonMonths, money(math.Ceil(choice.maxMonthUSD)))
		}
	}
	if p.SelfHosting.SetupUSD > 0 && p.Budget.MonthlyLimitUSD > 0 && len(p.Candidates.Open) > 0 {
		if p.Budget.CapexPossible {
			bu.Finding += fmt.Sprintf("; the $%s set-up of a fleet is capital spending, outside the monthly limit", money(p.SelfHosting.SetupUSD))
		} else {
			bu.Finding += fmt.Sprintf("; no capital spending, so the $%s set-up of a fleet is paid from the operating budget and counts against month 1's limit (GPUs are rented)", money(p.SelfHosting.SetupUSD))
		}
	} else if !p.Budget.CapexPossible && p.SelfHosting.SetupUSD > 0 {
		bu.Finding += fmt.Sprintf("; no capital spending, so the $%s set-up must come from operating budget (GPUs are rented)", money(p.SelfHosting.SetupUSD))
	}
	staff := p.Expertise.MLStaff + p.Expertise.InfraStaff
	staffCost := *p.SelfHosting.StaffFTE * p.Expertise.StaffCostUSDMonth
	ex := Criterion{Name: CritExpertise}
	if len(p.Candidates.Open) == 0 {
		ex.Finding = "no open candidate: no self-hosting to staff"
	} else if staff == 0 {
		ex.Finding = fmt.Sprintf("no ML or infrastructure staff: self-hosting means hiring %s FTE ($%s a month, included in its costs)", fte(*p.SelfHosting.StaffFTE), money(staffCost))
	} else {
		ex.Finding = fmt.Sprintf("%s ML and %s infrastructure staff; self-hosting takes %s FTE ($%s a month, included in its costs)", fte(p.Expertise.MLStaff), fte(p.Expertise.InfraStaff), fte(*p.SelfHosting.StaffFTE), money(staffCost))
	}
	if choice != nil && len(choice.OpenModels) > 0 && staffCost > 0 {
		// Staff is paid per fleet: say what the choice's two take.
		ex.Finding += fmt.Sprintf("; that is per fleet, and the choice runs %d: %s FTE ($%s a month)", len(choice.OpenModels),
			fte(float64(len(choice.OpenModels))**p.SelfHosting.StaffFTE), money(float64(len(choice.OpenModels))*staffCost))
	}
	cost := Criterion{Name: CritCost}
	if all := cheapest(cs, func(*Candidate) bool { return true }); all != nil {
		cost.Finding = fmt.Sprintf("cheapest of all %d candidates: %s at $%s over %d months", len(cs), all.Name, money(all.TotalUSD), p.HorizonMonths)
		if len(cs) == 1 {
			cost.Finding = fmt.Sprintf("the only candidate: %s at $%s over %d months", all.Name, money(all.TotalUSD), p.HorizonMonths)
		}
		if choice != nil && all != choice {
			cost.Finding += fmt.Sprintf("; the choice costs $%s (%.1f× as much): cost did not decide it", money(choice.TotalUSD), choice.TotalUSD/all.TotalUSD)
		}
	}
	if choice != nil && choice.Overflow != nil {
		// What sizing for the base load changed, against the same open
		// model sized for the peak.
		for _, c := range cs {
			if c.Kind == ScenarioSelfHosted && c.OpenModel == choice.OpenModel {
				cost.Finding += fmt.Sprintf("; sizing %s for the base load (%s, overflow on %s at $%s a month) instead of the peak (%s, $%s a month all self-hosted) saves $%s over %d months",
					choice.OpenModel, gpus(choice.GPUsAtStart), choice.APIModel, money(choice.Overflow.APIUSDMonth), gpus(choice.Overflow.PeakSizedGPUs),
					money(c.FirstMonthUSD), money(c.TotalUSD-choice.TotalUSD), p.HorizonMonths)
				if c.Excluded() {
					cost.Finding += fmt.Sprintf(" (self-hosting it all is ruled out anyway: %s)", c.Exclusions[0].Reason)
				}
			}
		}
	}
	if r.BreakEven.Found {
		cost.Finding += fmt.Sprintf("; %s (now %s)", breakEvenClaim(r.BreakEven), tokens(r.BreakEven.CurrentTokensPerMonth))
	}
	for _, c := range []*Criterion{&ds, &co, &q, &cu, &bu, &cost, &ex} {
		c.Decisive = isDecisive(c.Name)
		if w, ok := r.without[c.Name]; ok && c.Name != CritCost {
			// Say what it changed: a need that rules out only candidates
			// that were never in the running decides by its costs, and
			// its finding alone did not show how.
			c.ChoiceWithout = w
			if w == "" {
				w = "no candidate (none eligible)"
			}
			without := "without it"
			if c.Name == CritExpertise {
				without = "without the staff cost of self-hosting"
			}
			c.Finding += fmt.Sprintf("; decisive: %s the choice would be %s", without, w)
		}
		c.Favours = favours(c.Name)
		r.Criteria = append(r.Criteria, *c)
	}
	if decided == nil {
		decided = []string{} // present in JSON, empty
	}
	r.Recommendation = Recommendation{DecidedBy: decided, DecidedJointly: r.jointly != ""}
	if choice == nil {
		r.Recommendation.Summary = "No candidate is eligible: every one is ruled out (see the candidates' exclusions). Add an open candidate (sensitive data must stay self-hosted), an API allowed by compliance, or relax a threshold."
		return
	}
	r.Recommendation.Scenario = choice.Kind
	r.Recommendation.Candidate = choice.Name
	var sum string
	switch choice.Kind {
	case ScenarioProprietary:
		sum = fmt.Sprintf("Use the %s API for all traffic", choice.APIModel)
	case ScenarioSelfHosted:
		if len(choice.OpenModels) > 0 {
			sum = "Self-host all traffic on two fleets, by workload class: " + r.fleetsText(choice)
			break
		}
		sum = fmt.Sprintf("Self-host %s for all traffic (%d × %s to start)", choice.OpenModel, choice.GPUsAtStart, orUnknown(r.openGPU(choice.OpenModel)))
	case ScenarioHybrid:
		if o := choice.Overflow; o != nil {
			sum = fmt.Sprintf("Self-host %s sized for the base load of %g requests/s (%d × %s instead of %d for the peak of %g) and let spillover send the peak's overflow to %s (%.1f%% of tokens, $%s in month 1)",
				choice.OpenModel, o.BaseRPS, choice.GPUsAtStart, orUnknown(r.openGPU(choice.OpenModel)), o.PeakSizedGPUs, o.PeakRPS,
				choice.APIModel, 100*o.Share, money(o.APIUSDMonth))
			if r.PrivateShare > 0 {
				sum += fmt.Sprintf("; the %.0f%% sensitive traffic never overflows and the GPUs carry its peak", 100*r.PrivateShare)
			}
			break
		}
		if len(choice.APIModels) > 0 {
			sum = r.splitSummary(choice)
			break
		}
		var self, api []string
		for _, a := range choice.Assignment {
			if a.Target == ScenarioSelfHosted {
				self = append(self, fmt.Sprintf("%s %.0f%%", a.Workload, 100*a.Share))
			} else {
				api = append(api, fmt.Sprintf("%s %.0f%%", a.Workload, 100*a.Share))
			}
		}
		sum = fmt.Sprintf("Hybrid: self-host %s for %s and send %s to %s (%.0f%% of traffic self-hosted)", choice.OpenModel, strings.Join(self, ", "),
			strings.Join(api, ", "), choice.APIModel, 100*choice.SelfHostedShare)
	}
	sum += fmt.Sprintf(": $%s over %d months ($%s in month 1, $%s in month %d).", money(choice.TotalUSD), p.HorizonMonths, money(choice.FirstMonthUSD), money(choice.LastMonthUSD), p.HorizonMonths)
	if len(choice.OpenModels) > 0 {
		sum += " " + r.fleetsWhy(p, cs, choice)
	}
	if r.jointly != "" {
		sum += fmt.Sprintf(" Decided by: %s together (%s, the cheapest of all, is ruled out by each; neither alone changed the choice).", strings.Join(decided, " and "), r.jointly)
	} else if r.excludesOnly != "" {
		sum += fmt.Sprintf(" No criterion changed the choice: %s rules out %s, the cheapest of all, but without it the choice would be the same (dropping a need from the profile drops its costs too).",
			strings.Join(r.excludesBy, " and "), r.excludesOnly)
	} else if len(decided) == 0 {
		// One candidate: nothing chose between options.
		sum += " It is the only candidate costed: no criterion had a choice to make."
	} else {
		sum += " Decided by: " + strings.Join(decided, ", ") + "."
	}
	if u := r.unmeasuredFloor(p, ws, choice); u != "" {
		// Said where it is read: a floor the choice was never held to.
		sum += " Its " + u + "."
	}
	if p.Budget.MonthlyLimitUSD > 0 && choice.OverBudgetMonths > 0 {
		// Only when every candidate left is over: say it where it is read.
		sum += fmt.Sprintf(" Over the $%s monthly budget in %d of %d months (up to $%s): every candidate left exceeds it.",
			money(p.Budget.MonthlyLimitUSD), choice.OverBudgetMonths, p.HorizonMonths, money(math.Ceil(choice.maxMonthUSD)))
	}
	if r.RunnerUp != nil {
		sum += fmt.Sprintf(" Runner-up: %s, %s.", r.RunnerUp.Candidate, r.RunnerUp.Flip)
	}
	r.Recommendation.Summary = sum
}

// splitSummary says where a split sends each class: the API classes
// grouped by model, in class order, then the self-hosted ones.
func (r *Report) splitSummary(c *Candidate) string {
	var api, self []string
	for _, m := range c.APIModels {
		var classes []string
		for _, a := range c.Assignment {
			if a.Target == ScenarioProprietary && a.Model == m {
				classes = append(classes, fmt.Sprintf("%s %.0f%%", a.Workload, 100*a.Share))
			}
		}
		api = append(api, strings.Join(classes, ", ")+" to "+m)
	}
	for _, a := range c.Assignment {
		if a.Target == ScenarioSelfHosted {
			self = append(self, fmt.Sprintf("%s %.0f%%", a.Workload, 100*a.Share))
		}
	}
	sum := "Split by workload class across APIs: send " + strings.Join(api, "; ")
	if len(c.APIModels) == 1 {
		sum = "Split by workload class: send " + strings.Join(api, "; ")
	}
	if len(c.OpenModels) > 0 {
		sum += "; self-host two fleets: " + r.fleetsText(c)
	} else if len(self) > 0 {
		sum += fmt.Sprintf("; self-host %s for %s (%.0f%% of traffic self-hosted)", c.OpenModel, strings.Join(self, ", "), 100*c.SelfHostedShare)
	}
	return sum
}

// fleetsText says, for a candidate with two fleets, which classes each
// open model serves and its GPUs in month 1.
func (r *Report) fleetsText(c *Candidate) string {
	var parts []string
	for j, fm := range c.cm.fleetMonths(c.SelfHostedShare, r.out) {
		model := c.OpenModels[j]
		var classes []string
		for _, a := range c.Assignment {
			if a.Target == ScenarioSelfHosted && a.Model == model {
				classes = append(classes, fmt.Sprintf("%s %.0f%%", a.Workload, 100*a.Share))
			}
		}
		parts = append(parts, fmt.Sprintf("%s for %s (%d × %s to start)", model, strings.Join(classes, ", "), fm.GPUs, orUnknown(r.openGPU(model))))
	}
	return strings.Join(parts, " and ") + fmt.Sprintf(" (%.0f%% of traffic self-hosted)", 100*c.SelfHostedShare)
}

// fleetsWhy says what a second fleet costs and what it saves: each fleet
// pays its own staff and other fixed costs, and the cheapest candidate
// with one fleet (or none) is what it beat.
func (r *Report) fleetsWhy(p *Profile, cs []*Candidate, c *Candidate) string {
	fixed := c.cm.staff + c.cm.other
	s := fmt.Sprintf("Each fleet is a deployment of its own and pays, besides its GPUs, what one fleet alone pays: %s FTE of staff and the other fixed costs ($%s a month)", fte(*p.SelfHosting.StaffFTE), money(fixed))
	if c.cm.setup > 0 {
		s += fmt.Sprintf(" and the set-up ($%s)", money(c.cm.setup))
	}
	one := cheapest(cs, func(o *Candidate) bool { return len(o.OpenModels) == 0 && !o.Excluded() })
	if one == nil {
		return s + "; no candidate with one fleet is eligible."
	}
	return s + fmt.Sprintf("; the cheapest eligible candidate with one fleet or none, %s, costs $%s over %d months, %s%% more.",
		one.Name, money(one.TotalUSD), p.HorizonMonths, percentMore(one.TotalUSD, c.TotalUSD))
}

func (r *Report) openGPU(model string) string {
	for _, o := range r.Open {
		if o.Model == model {
			return o.GPU
		}
	}
	return ""
}

func orPrice(v, base float64) float64 {
	if v > 0 {
		return v
	}
	return base
}

func gpus(n int) string {
	if n == 1 {
		return "1 GPU"
	}
	return fmt.Sprintf("%d GPUs", n)
}

// fte formats a head count as written: 0.25 FTE, not "0.2" (%.1f rounds
// half to even), and 2, not "2.0".
func fte(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// unmeasuredFloor says, when a class the choice serves has a quality floor
// and a model serving it has no eval result, that the floor was not checked
// for it ("" otherwise): a candidate without a result is not ruled out, and
// a reader of "Decided by: cost" would take the floor as met.
func (r *Report) unmeasuredFloor(p *Profile, ws []workload, choice *Candidate) string {
	if choice == nil {
		return ""
	}
	var models []string
	floor := 0.0
	for i, as := range choice.Assignment {
		minAcc := ws[i].MinAccuracy
		if minAcc == 0 {
			minAcc = p.Quality.MinAccuracy
		}
		if minAcc > 0 && r.score(as.Model) == nil {
			floor = math.Max(floor, minAcc)
			if !slices.Contains(models, as.Model) {
				models = append(models, as.Model)
			}
		}
	}
	if len(models) == 0 {
		return ""
	}
	return fmt.Sprintf("quality floor of %s%% is not checked: no eval result for %s", pct(floor), strings.Join(models, ", "))
}
