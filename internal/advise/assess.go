package advise

import (
	"fmt"
	"math"
	"strings"
)

// closeCall is how near (as a share of the cheaper total) two scenarios'
// costs must be for a soft criterion such as customisation to decide.
const closeCall = 0.10

// assess fills Criteria and Recommendation. Hard constraints (sensitive
// data, residency) make scenarios infeasible; among the feasible ones the
// cheapest over the horizon wins, unless quality, budget or customisation
// overrule it; each criterion is marked decisive when it changed the
// outcome.
func (r *Report) assess(p *Profile) {
	feasible := func(name string) bool {
		s := r.Scenario(name)
		return s.Feasible && len(s.Months) > 0
	}
	cheapest := func(ok func(*Scenario) bool, total func(*Scenario) float64) string {
		best, name := math.Inf(1), ""
		for i := range r.Scenarios {
			s := &r.Scenarios[i]
			if len(s.Months) > 0 && ok(s) && total(s) < best {
				best, name = total(s), s.Name
			}
		}
		return name
	}
	total := func(s *Scenario) float64 { return s.TotalUSD }
	isFeasible := func(s *Scenario) bool { return s.Feasible }
	all := func(*Scenario) bool { return true }

	choice := cheapest(isFeasible, total)
	unconstrained := cheapest(all, total)
	var decided []string
	add := func(c Criterion) { r.Criteria = append(r.Criteria, c) }

	// Data sensitivity and compliance: hard constraints.
	ds := Criterion{Name: "data sensitivity", Favours: "neutral", Finding: "no sensitive data classes declared: any model may see the traffic"}
	if r.PrivateShare > 0 {
		ds.Favours = ScenarioHybrid
		if r.PrivateShare >= 1 {
			ds.Favours = ScenarioSelfHosted
		}
		ds.Finding = fmt.Sprintf("%.0f%% of traffic carries %s and must stay on self-hosted models; proprietary-only is ruled out",
			100*r.PrivateShare, orList(p.Data.Classes, "sensitive data"))
	}
	co := Criterion{Name: "compliance", Favours: "neutral", Finding: "no regulatory constraint declared"}
	var regs []string
	for _, f := range []struct {
		on   bool
		name string
	}{{p.Compliance.HIPAA, "HIPAA"}, {p.Compliance.GDPR, "GDPR"}, {p.Compliance.PCIDSS, "PCI-DSS"}} {
		if f.on {
			regs = append(regs, f.name)
		}
	}
	var excluded []string
	for _, a := range r.Proprietary {
		if !a.Allowed {
			excluded = append(excluded, a.Model)
		}
	}
	if len(regs) > 0 || p.Compliance.Residency != "" {
		co.Finding = "under " + orList(regs, "no named regulation")
		if p.Compliance.Residency != "" {
			co.Finding += fmt.Sprintf("; data must stay in %q", p.Compliance.Residency)
		}
		if len(excluded) > 0 {
			co.Finding += "; excluded: " + strings.Join(excluded, ", ")
			co.Favours = ScenarioSelfHosted
		} else if len(regs) > 0 {
			co.Finding += "; regulated data is kept self-hosted by the data-sensitivity share"
			co.Favours = ds.Favours
		}
	}
	if choice != unconstrained && unconstrained == ScenarioProprietary && r.PrivateShare > 0 {
		ds.Decisive = true
		decided = append(decided, ds.Name)
		if len(regs) > 0 {
			co.Decisive = true
			decided = append(decided, co.Name)
		}
	} else if choice != unconstrained && len(excluded) > 0 {
		co.Decisive = true
		decided = append(decided, co.Name)
	}

	// Expertise: decisive when the staff cost of self-hosting flips the
	// cheapest feasible scenario.
	staff := p.Expertise.MLStaff + p.Expertise.InfraStaff
	ex := Criterion{Name: "in-house expertise", Favours: "neutral"}
	staffCost := *p.SelfHosting.StaffFTE * p.Expertise.StaffCostUSDMonth
	withoutStaff := func(s *Scenario) float64 {
		if s.SelfHostedShare > 0 {
			return s.TotalUSD - staffCost*float64(len(s.Months))
		}
		return s.TotalUSD
	}
	if staff == 0 {
		ex.Finding = fmt.Sprintf("no ML or infrastructure staff: self-hosting means hiring %.1f FTE ($%s a month, included in its costs)", *p.SelfHosting.StaffFTE, money(staffCost))
		ex.Favours = ScenarioProprietary
	} else {
		ex.Finding = fmt.Sprintf("%.1f ML and %.1f infrastructure staff; self-hosting takes %.1f FTE ($%s a month, included)", p.Expertise.MLStaff, p.Expertise.InfraStaff, *p.SelfHosting.StaffFTE, money(staffCost))
		ex.Favours = ScenarioSelfHosted
	}
	if alt := cheapest(isFeasible, withoutStaff); alt != "" && alt != choice && staffCost > 0 {
		ex.Decisive = true
		decided = append(decided, ex.Name)
	}

	// Cost.
	cost := Criterion{Name: "cost", Favours: choice}
	var parts []string
	for _, s := range r.Scenarios {
		if len(s.Months) > 0 {
			parts = append(parts, fmt.Sprintf("%s $%s", s.Name, money(s.TotalUSD)))
		}
	}
	cost.Finding = fmt.Sprintf("over %d months: %s", p.HorizonMonths, strings.Join(parts, ", "))
	if r.BreakEven.Found {
		cost.Finding += fmt.Sprintf("; self-hosting breaks even at %s tokens a month (now %s)", tokens(r.BreakEven.TokensPerMonth), tokens(r.BreakEven.CurrentTokensPerMonth))
	}
	if choice != "" {
		cost.Decisive = true
		decided = append(decided, cost.Name)
	}

	// Quality: a large gap keeps non-private traffic on the API.
	q := Criterion{Name: "quality", Favours: "neutral", Finding: "no eval results given (run fulcrum eval and pass --eval)"}
	if r.QualityGapPP != nil {
		gap := *r.QualityGapPP
		q.Finding = fmt.Sprintf("the proprietary candidate is %+.1f pp more accurate in the evals (threshold %.0f pp)", gap, p.Quality.MaxGapPP)
		if gap > p.Quality.MaxGapPP {
			q.Favours = ScenarioProprietary
			if choice == ScenarioSelfHosted && feasible(ScenarioHybrid) {
				choice = ScenarioHybrid
				q.Decisive = true
				decided = append(decided, q.Name)
			}
		} else {
			q.Favours = "neutral"
			q.Finding += ": the open model is good enough"
		}
	}

	// Budget: prefer a feasible scenario that stays within the limit.
	bu := Criterion{Name: "budget", Favours: "neutral", Finding: "no monthly limit"}
	if lim := p.Budget.MonthlyLimitUSD; lim > 0 {
		bu.Finding = fmt.Sprintf("limit $%s a month", money(lim))
		if c := r.Scenario(choice); c.OverBudgetMonths > 0 {
			within := cheapest(func(s *Scenario) bool { return s.Feasible && s.OverBudgetMonths == 0 }, total)
			if within != "" {
				bu.Finding += fmt.Sprintf("; %s exceeds it in %d of %d months, %s does not", choice, c.OverBudgetMonths, p.HorizonMonths, within)
				choice, bu.Favours, bu.Decisive = within, within, true
				decided = append(decided, bu.Name)
			} else {
				bu.Finding += fmt.Sprintf("; every feasible scenario exceeds it (%s in %d of %d months)", choice, c.OverBudgetMonths, p.HorizonMonths)
			}
		} else {
			bu.Finding += "; the recommended scenario stays within it"
		}
	}
	if !p.Budget.CapexPossible && p.SelfHosting.SetupUSD > 0 {
		bu.Finding += fmt.Sprintf("; no capital spending, so the $%s set-up must come from operating budget (GPUs are rented)", money(p.SelfHosting.SetupUSD))
	}

	// Customisation: decides a close call in favour of self-hosting.
	cu := Criterion{Name: "customisation", Favours: "neutral", Finding: "no fine-tuning, adapters or domain vocabulary needed"}
	var needs []string
	for _, n := range []struct {
		on   bool
		name string
	}{{p.Customisation.FineTuning, "fine-tuning"}, {p.Customisation.Adapters, "adapters (LoRA)"}, {p.Customisation.DomainVocabulary, "domain vocabulary"}} {
		if n.on {
			needs = append(needs, n.name)
		}
	}
	if len(needs) > 0 {
		cu.Favours = ScenarioSelfHosted
		cu.Finding = "needs " + strings.Join(needs, ", ") + ": open weights can be adapted freely, APIs only as their vendors allow"
		if choice == ScenarioProprietary {
			alt := cheapest(func(s *Scenario) bool { return s.Feasible && s.SelfHostedShare > 0 }, total)
			if alt != "" && r.Scenario(alt).TotalUSD <= r.Scenario(choice).TotalUSD*(1+closeCall) {
				cu.Finding += fmt.Sprintf("; %s costs within %.0f%% of proprietary", alt, 100*closeCall)
				choice, cu.Decisive = alt, true
				decided = append(decided, cu.Name)
			}
		}
	}
	for _, c := range []*Criterion{&ds, &cu, &ex, &bu, &co, &cost, &q} {
		add(*c)
	}
	r.Recommendation = r.recommend(p, choice, decided)
}

func (r *Report) recommend(p *Profile, choice string, decided []string) Recommendation {
	rec := Recommendation{Scenario: choice, DecidedBy: decided}
	if choice == "" {
		rec.Summary = "No scenario is feasible: add an open candidate (sensitive data must stay self-hosted) or a proprietary one allowed by compliance."
		return rec
	}
	s := r.Scenario(choice)
	apiName, openName := "", ""
	for _, a := range r.Proprietary {
		if a.Allowed {
			apiName = a.Model
			break
		}
	}
	if len(r.Open) > 0 {
		openName = r.Open[0].Model
	}
	switch choice {
	case ScenarioProprietary:
		rec.Summary = fmt.Sprintf("Use the %s API for all traffic", apiName)
	case ScenarioSelfHosted:
		rec.Summary = fmt.Sprintf("Self-host %s for all traffic (%d × %s to start)", openName, s.Months[0].GPUs, orUnknown(p.Candidates.Open[0].GPU))
	case ScenarioHybrid:
		rec.Summary = fmt.Sprintf("Hybrid: keep %.0f%% of traffic (the sensitive share%s) on self-hosted %s and send the rest to %s",
			100*s.SelfHostedShare, map[bool]string{true: " and routed easy prompts"}[p.Hybrid.RoutedShare > 0], openName, apiName)
	}
	rec.Summary += fmt.Sprintf(": $%s over %d months ($%s in month 1, $%s in month %d).",
		money(s.TotalUSD), p.HorizonMonths, money(s.FirstMonthUSD), money(s.LastMonthUSD), p.HorizonMonths)
	if len(decided) > 0 {
		rec.Summary += " Decided by: " + strings.Join(decided, ", ") + "."
	}
	return rec
}

func orList(xs []string, none string) string {
	if len(xs) == 0 {
		return none
	}
	return strings.Join(xs, ", ")
}

// money formats dollars with thousands separators and no cents above 100.
func money(v float64) string {
	if math.Abs(v) < 100 {
		return fmt.Sprintf("%.2f", v)
	}
	s := fmt.Sprintf("%.0f", math.Abs(v))
	var b strings.Builder
	if v < 0 {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// tokens formats a token count as "449 M" or "1.2 B".
func tokens(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.1f B", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.0f M", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.0f K", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}
