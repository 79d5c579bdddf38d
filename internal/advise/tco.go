package advise

import "math"

// HoursPerMonth is the average month, 8,760 hours / 12.
const HoursPerMonth = 730

// SecondsPerMonth is HoursPerMonth in seconds.
const SecondsPerMonth = HoursPerMonth * 3600

// SelfHostedPerMillion is the self-hosted price of a million output tokens:
// (GPU $/h × GPUs) / (output tokens/s × 3600 × utilisation) × 1e6.
func SelfHostedPerMillion(gpuHourlyUSD float64, gpus int, outputTokensPerSecond, utilisation float64) float64 {
	if outputTokensPerSecond <= 0 || utilisation <= 0 {
		return math.Inf(1)
	}
	return gpuHourlyUSD * float64(gpus) / (outputTokensPerSecond * 3600 * utilisation) * 1e6
}

// GPUMonthlyUSD is the rent of gpus GPUs for a month of 730 hours.
func GPUMonthlyUSD(gpuHourlyUSD float64, gpus int) float64 {
	return gpuHourlyUSD * float64(gpus) * HoursPerMonth
}

// Blended is an API's price per million tokens for a 3:1 input:output mix:
// (3 × input + output) / 4.
func Blended(inputPerMillion, outputPerMillion float64) float64 {
	return (3*inputPerMillion + outputPerMillion) / 4
}

// BreakEvenTokens is the monthly token volume at which a fixed self-hosted
// cost equals the API bill: fixed monthly USD / blended $ per million × 1e6.
func BreakEvenTokens(fixedMonthlyUSD, blendedPerMillion float64) float64 {
	if blendedPerMillion <= 0 {
		return math.Inf(1)
	}
	return fixedMonthlyUSD / blendedPerMillion * 1e6
}

// costModel prices one month of traffic for a given self-hosted share.
type costModel struct {
	pin, pout float64 // API $ per million input / output tokens
	hasAPI    bool
	open      OpenModel
	hasOpen   bool
	gpuHourly float64 // may differ from open.GPUHourlyUSD in sensitivity runs
	staff     float64 // $ per month for self-hosting staff
	other     float64 // other fixed $ per month
	setup     float64
	// apiTraining and selfTraining are monthly fine-tuning costs, charged
	// when some traffic is on the API or on the open model.
	apiTraining, selfTraining float64
	util                      float64 // target utilisation at peak
	minRep                    int
	// peakRatio is peak output tokens/s per output token per month: the
	// peak grows with the volume.
	peakRatio float64
	// overflow sizes the GPUs for the base load (baseRatio, like
	// peakRatio) and sends what exceeds them during the peak hours
	// (peakFrac of the time) to the API; sensShare of the traffic may not
	// overflow, so the fleet also carries its peak.
	overflow                       bool
	baseRatio, peakFrac, sensShare float64
	// extra are further fleets of other open models, each with a fixed
	// share of all the traffic (a candidate sending some classes to one
	// open model and others to another). The share month is given
	// includes theirs; the first fleet (open) carries the rest. Each fleet
	// is paid as one alone: its own replicas (at least min_replicas), and
	// its own staff, other fixed costs and set-up.
	extra []fleet
}

// fleet is a self-hosted fleet beyond a candidate's first.
type fleet struct {
	open      OpenModel
	gpuHourly float64
	share     float64 // of all the traffic
	training  float64 // in-house fine-tuning a month
}

// fleets is how many self-hosted fleets the model pays for when some
// traffic is self-hosted.
func (m *costModel) fleets() int { return 1 + len(m.extra) }

// ownShare is the first fleet's part of a self-hosted share.
func (m *costModel) ownShare(share float64) float64 {
	for _, f := range m.extra {
		share -= f.share
	}
	return math.Max(share, 0)
}

// Month is one month of one scenario.
type Month struct {
	Month        int     `json:"month"`
	InputTokens  float64 `json:"input_tokens"`
	OutputTokens float64 `json:"output_tokens"`
	APIUSD       float64 `json:"api_usd"`
	GPUUSD       float64 `json:"gpu_usd"`
	StaffUSD     float64 `json:"staff_usd"`
	OtherUSD     float64 `json:"other_usd"`
	SetupUSD     float64 `json:"setup_usd"`
	// FineTuningUSD is the month's fine-tuning (hosted training on the API,
	// or GPU time in-house).
	FineTuningUSD float64 `json:"fine_tuning_usd,omitempty"`
	TotalUSD      float64 `json:"total_usd"`
	CumulativeUSD float64 `json:"cumulative_usd"`
	Replicas      int     `json:"replicas"`
	GPUs          int     `json:"gpus"`
	// Utilisation is the average busy share of the GPUs paid for.
	Utilisation float64 `json:"utilisation"`
	// OverflowShare is, for a fleet sized for base load, the share of the
	// tokens that spill to the API at peak.
	OverflowShare float64 `json:"overflow_share,omitempty"`
}

// month prices in and out tokens with share of them on self-hosted GPUs.
func (m *costModel) month(in, out, share float64) Month {
	if m.overflow {
		return m.monthOverflow(in, out)
	}
	r := Month{InputTokens: in, OutputTokens: out}
	r.APIUSD = (1 - share) * (in*m.pin + out*m.pout) / 1e6
	if share < 1 {
		r.FineTuningUSD += m.apiTraining
	}
	if share > 0 && len(m.extra) > 0 {
		m.monthFleets(&r, out, share)
	} else if share > 0 {
		r.FineTuningUSD += m.selfTraining
		avg := share * out / SecondsPerMonth
		demand := math.Max(share*out*m.peakRatio, avg)
		r.Replicas = max(m.minRep, int(math.Ceil(demand/(m.open.OutputTokensPerSecond*m.util)-1e-9)))
		r.GPUs = r.Replicas * m.open.GPUsPerReplica
		r.GPUUSD = GPUMonthlyUSD(m.gpuHourly, r.GPUs)
		r.Utilisation = avg / (float64(r.Replicas) * m.open.OutputTokensPerSecond)
		r.StaffUSD = m.staff
		r.OtherUSD = m.other
	}
	r.TotalUSD = r.APIUSD + r.GPUUSD + r.StaffUSD + r.OtherUSD + r.FineTuningUSD
	return r
}

// monthFleets adds to r the cost of several fleets, each sized for its
// share's peak (and average) as a fleet alone is, and each paying the
// staff and other fixed costs of one: a second fleet is a second
// deployment to run. Utilisation is the busy share of all the GPUs.
func (m *costModel) monthFleets(r *Month, out, share float64) {
	busy := 0.0 // busy GPUs on average
	add := func(o OpenModel, gpuHourly, s, training float64) {
		if s <= 1e-12 {
			return
		}
		avg := s * out / SecondsPerMonth
		demand := math.Max(s*out*m.peakRatio, avg)
		rep := max(m.minRep, int(math.Ceil(demand/(o.OutputTokensPerSecond*m.util)-1e-9)))
		r.Replicas += rep
		r.GPUs += rep * o.GPUsPerReplica
		r.GPUUSD += GPUMonthlyUSD(gpuHourly, rep*o.GPUsPerReplica)
		busy += avg / o.OutputTokensPerSecond * float64(o.GPUsPerReplica)
		r.StaffUSD += m.staff
		r.OtherUSD += m.other
		r.FineTuningUSD += training
	}
	add(m.open, m.gpuHourly, m.ownShare(share), m.selfTraining)
	for _, f := range m.extra {
		add(f.open, f.gpuHourly, f.share, f.training)
	}
	if r.GPUs > 0 {
		r.Utilisation = busy / float64(r.GPUs)
	}
}

// fleetMonth is one fleet's part of month (GPUs, staff, other fixed
// costs, in-house training) when it carries share of out output tokens:
// what the classes on that fleet pay.
func (m *costModel) fleetMonth(o OpenModel, gpuHourly, share, training, out float64) Month {
	one := *m
	one.extra, one.open, one.gpuHourly, one.selfTraining, one.hasAPI = nil, o, gpuHourly, training, false
	one.pin, one.pout, one.apiTraining = 0, 0, 0
	return one.month(0, out*share, 1)
}

// fleetMonths are month-1 figures of each fleet of a candidate with
// several (the first fleet first), at out output tokens.
func (m *costModel) fleetMonths(share, out float64) []Month {
	ms := []Month{m.fleetMonth(m.open, m.gpuHourly, m.ownShare(share), m.selfTraining, out)}
	for _, f := range m.extra {
		ms = append(ms, m.fleetMonth(f.open, f.gpuHourly, f.share, f.training, out))
	}
	return ms
}

// monthOverflow prices a month on a fleet sized for the base load, with
// the peak's overflow on the API (spillover):
//
//	replicas  = max(min_replicas, ⌈max(base, sensitive share × max(peak, average)) ÷ (tokens/s × utilisation)⌉)
//	capacity  = replicas × tokens/s × utilisation
//	overflow  = max(max(peak − capacity, 0) × peak hours/24 × seconds per month,
//	                output tokens − capacity × seconds per month)            (output tokens)
//	API share = min(overflow ÷ output tokens, 1 − sensitive share)
//	API $     = API share × (input × $in + output × $out) / 1e6
//
// Sensitive traffic never overflows (spillover keeps it on its permitted
// targets), so the fleet is sized to carry its peak (and its average) too.
// When the month's volume is more than the base and peak rates account for
// (a measured volume with the profile's rates, or a what-if volume, which
// holds the rates), the fleet still carries no more than its capacity: what
// it cannot carry on average overflows too.
func (m *costModel) monthOverflow(in, out float64) Month {
	r := Month{InputTokens: in, OutputTokens: out}
	var over float64
	r.Replicas, over = m.overflowFleet(out)
	r.GPUs = r.Replicas * m.open.GPUsPerReplica
	if out > 0 {
		r.OverflowShare = math.Min(over/out, 1-m.sensShare)
	}
	r.APIUSD = r.OverflowShare * (in*m.pin + out*m.pout) / 1e6
	if r.OverflowShare > 0 {
		r.FineTuningUSD += m.apiTraining
	}
	r.FineTuningUSD += m.selfTraining
	r.GPUUSD = GPUMonthlyUSD(m.gpuHourly, r.GPUs)
	r.Utilisation = (1 - r.OverflowShare) * out / SecondsPerMonth / (float64(r.Replicas) * m.open.OutputTokensPerSecond)
	r.StaffUSD, r.OtherUSD = m.staff, m.other
	r.TotalUSD = r.APIUSD + r.GPUUSD + r.StaffUSD + r.OtherUSD + r.FineTuningUSD
	return r
}

// overflowFleet is, for a month of out output tokens, the replicas of a
// fleet sized for the base load (and the sensitive share's peak) and the
// output tokens of the peak beyond them, before the cap on what may
// overflow.
func (m *costModel) overflowFleet(out float64) (replicas int, over float64) {
	peak, base := out*m.peakRatio, out*m.baseRatio
	replicas = m.baseFleet(base, peak, out/SecondsPerMonth)
	return replicas, m.overflowOf(replicas, peak, out)
}

// baseFleet is the replicas of a fleet sized for the base load, for the
// base, peak and average output tokens/s.
func (m *costModel) baseFleet(base, peak, avg float64) int {
	need := math.Max(base, m.sensShare*math.Max(peak, avg))
	return max(m.minRep, int(math.Ceil(need/(m.open.OutputTokensPerSecond*m.util)-1e-9)))
}

// overflowOf is the output tokens a month of out that replicas cannot
// carry: the peak's excess in the peak hours, or what exceeds their
// capacity on average if that is more.
func (m *costModel) overflowOf(replicas int, peak, out float64) float64 {
	capacity := float64(replicas) * m.open.OutputTokensPerSecond * m.util
	return math.Max(math.Max(peak-capacity, 0)*m.peakFrac*SecondsPerMonth, out-capacity*SecondsPerMonth)
}

// project runs a scenario over the horizon from the starting volume.
func (m *costModel) project(in, out, growth, share float64, months int) []Month {
	return m.projectInto(make([]Month, 0, months), in, out, growth, share, months)
}

// projectInto is project appending to out2 (a what-if reuses one buffer).
func (m *costModel) projectInto(out2 []Month, in, out, growth, share float64, months int) []Month {
	cum := 0.0
	for i := 1; i <= months; i++ {
		f := math.Pow(1+growth, float64(i-1))
		mo := m.month(in*f, out*f, share)
		mo.Month = i
		if i == 1 && share > 0 {
			mo.SetupUSD = m.setup * float64(m.fleets())
			mo.TotalUSD += mo.SetupUSD
		}
		cum += mo.TotalUSD
		mo.CumulativeUSD = cum
		out2 = append(out2, mo)
	}
	return out2
}

// breakEven finds the monthly token volumes (at the workload's input:output
// mix) at which self-hosting everything costs no more per month than the
// API, set-up excluded. peak is the peak output tokens/s, held as the
// profile gives it whatever the volume (0: none given, the GPUs are sized
// for the average rate), so that the figures are what `fulcrum advise`
// finds when only the profile's volumes are changed.
//
// GPUs come in whole replicas, so the volumes where self-hosting is no
// dearer are intervals, one per fleet size: k replicas carry the volumes
// (lo_k, hi_k] = ((k−1)R, kR] (from 0 for the smallest fleet k0, which the
// peak or min_replicas sets), and are no dearer from v_k = (fixed + k ×
// replica) ÷ blended, where the API bill reaches the fleet's cost. With
// d = R × blended − replica, what the tokens one replica carries cost on
// the API beyond the replica:
//
//   - step k (> k0) has a range iff v_k < kR, i.e. k × d > fixed;
//   - it covers the whole step iff v_k ≤ (k−1)R, i.e. k × d ≥ fixed + R ×
//     blended.
//
// When d > 0 the ranges widen with k until they cover whole steps and join
// for good; when d ≤ 0 they narrow and end. first is where the first range
// starts, however narrow (below it the API is cheaper at every volume);
// forGood where the chain of joined ranges holding the last one starts;
// last the end of the last range, 0 when they join for good. ok is false
// when there is none, or a kind of model is missing. Every figure is
// where the cheaper of the two changes, so a reader who decides again
// just either side of it sees the change.
func (m *costModel) breakEven(inShare, peak float64) (first, forGood, last float64, ok bool) {
	if !m.hasAPI || !m.hasOpen {
		return 0, 0, 0, false
	}
	blended := inShare*m.pin + (1-inShare)*m.pout // $ per million tokens
	if blended <= 0 {
		return 0, 0, 0, false
	}
	avg := (1 - inShare) / SecondsPerMonth // output tokens/s per token a month
	capacity := m.open.OutputTokensPerSecond * m.util
	R := capacity / avg // monthly tokens one replica carries
	replica := GPUMonthlyUSD(m.gpuHourly, m.open.GPUsPerReplica)
	fixed := m.staff + m.other + m.selfTraining - m.apiTraining
	b := blended / 1e6 // $ per token
	d := b*R - replica
	if avg <= 0 {
		// No output tokens: GPUs are sized by output throughput, so the
		// peak's fleet carries any volume and the break-even is where its
		// cost meets the API's. (R was +Inf, and the search for the step
		// where ranges join, at k × d ≥ fixed + b × R, looped on NaN: the
		// command never returned.)
		k := float64(max(m.minRep, int(math.Ceil(peak/capacity-1e-9))))
		first = math.Max(0, (fixed+k*replica)/b)
		return first, first, 0, true
	}
	// The fleet that the peak alone needs serves every volume whose average
	// stays below the peak; beyond that, replicas are added for the average.
	k0 := float64(max(m.minRep, int(math.Ceil(peak/capacity-1e-9))))
	lo := func(k float64) float64 {
		if k == k0 {
			return 0
		}
		return (k - 1) * R
	}
	v := func(k float64) float64 { return (fixed + k*replica) / b }
	// A range must have some width: where the costs merely touch at the
	// step (v_k = kR), the next replica is added as soon as the volume
	// grows, and no reader could find self-hosting cheaper there.
	has := func(k float64) bool { return k >= k0 && v(k) < k*R*(1-1e-8) }
	whole := func(k float64) bool { return v(k) <= lo(k) }
	start := func(k float64) float64 { return math.Max(v(k), lo(k)) }
	// firstK is the least k > k0 with k × d ≥ x (d > 0), the rounding of
	// the division corrected by deciding either side.
	firstK := func(x float64, ok func(float64) bool) float64 {
		k := math.Max(k0+1, math.Ceil(x/d))
		for k > k0+1 && ok(k-1) {
			k--
		}
		for !ok(k) {
			k++
		}
		return k
	}
	if d > 0 {
		kA := firstK(fixed, has)
		kB := firstK(fixed+b*R, whole)
		first = start(kA)
		if has(k0) {
			first = start(k0)
		}
		// The chain from kB on starts in the step before it when that
		// step has a range (it ends where kB's starts).
		forGood = start(kB)
		if k := kB - 1; has(k) {
			forGood = start(k)
			if whole(k) { // the smallest fleet from 0: joined from the first
				forGood = first
			}
		}
		return first, forGood, 0, true
	}
	// d ≤ 0: the ranges above k0 narrow with k; kMax is the last one.
	kMax := k0
	if has(k0 + 1) {
		if d < 0 {
			kMax = math.Max(k0+1, math.Floor(fixed/d))
		} else {
			kMax = k0 + 1e6 // d = 0 and fixed ≤ 0: every step alike; searched this far
		}
		for !has(kMax) {
			kMax--
		}
		for kMax < k0+1e6 && has(kMax+1) {
			kMax++
		}
	}
	if !has(kMax) {
		return 0, 0, 0, false
	}
	first = start(k0 + 1)
	if has(k0) {
		first = start(k0)
	}
	// The last range joins the ones before it only when it covers its
	// whole step, and then every range from the first does (whole steps
	// come first as the ranges narrow).
	forGood = first
	if !whole(kMax) || kMax == k0 {
		forGood = start(kMax)
	}
	return first, forGood, kMax * R, true
}
