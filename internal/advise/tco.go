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
	if share > 0 {
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
			mo.SetupUSD = m.setup
			mo.TotalUSD += m.setup
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
// dearer are intervals, one per fleet size: for k replicas, the volumes
// they carry, (lo_k, hi_k], from the API bill's reaching the fleet's cost,
// v_k = (fixed + k × replica) ÷ blended. first is where the first interval
// starts; forGood where the chain of joined intervals containing the last
// one starts; last the end of the last interval, 0 when they join up for
// good (a replica costs less than the tokens it carries at API prices). ok is false when there is
// none, or a kind of model is missing.
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
	perReplica := capacity / avg // monthly tokens one replica carries
	gpuPerReplica := GPUMonthlyUSD(m.gpuHourly, m.open.GPUsPerReplica)
	fixed := m.staff + m.other + m.selfTraining - m.apiTraining
	marginalCheaper := gpuPerReplica/perReplica*1e6 < blended
	// The fleet that the peak alone needs serves every volume whose average
	// stays below the peak; beyond that, replicas are added for the average.
	k0 := max(m.minRep, int(math.Ceil(peak/capacity-1e-9)))
	prevEnd := -1.0 // end of the previous non-empty interval
	// The previous interval when it was a sliver left out: an interval
	// covering its whole replica step that follows it extends it.
	sliverStart, sliverEnd := -1.0, -1.0
	for k := k0; k < k0+1e6; k++ {
		lo, hi := float64(k-1)*perReplica, float64(k)*perReplica
		if k == k0 {
			lo = 0
		}
		v := BreakEvenTokens(fixed+float64(k)*gpuPerReplica, blended)
		start := math.Max(v, lo)
		// (start, hi] counts when it extends the chain before it, covers
		// its whole replica step, or is at least 2% wide: a sliver where
		// the two costs merely touch before the next replica is added is
		// no break-even a reader can use. With many replicas a whole step
		// is itself narrower than 2% (1/k of the volume), and still no
		// touch.
		accepted := start <= hi && (start <= prevEnd || start*1.02 <= hi || v <= lo)
		if accepted {
			if start > prevEnd && v <= lo && sliverEnd > 0 && math.Abs(sliverEnd-lo) <= 1e-9*lo {
				start = sliverStart // joined to the sliver before it
			}
			if !ok {
				first, ok = start, true
			}
			if start > prevEnd {
				forGood = start // a gap before it (or the first): the chain restarts
			}
			prevEnd, last = hi, hi
			if marginalCheaper && v <= lo && k > k0 {
				// Every later interval starts at its lo: joined for good.
				return first, forGood, 0, true
			}
		} else if start <= hi {
			sliverStart, sliverEnd = start, hi
		}
		if !accepted && !marginalCheaper && ok {
			// Later intervals only move further out of reach.
			return first, forGood, last, true
		}
		if !marginalCheaper && !ok && v > hi && k > k0 {
			return 0, 0, 0, false // each extra replica costs more than the tokens it carries
		}
	}
	return first, forGood, last, ok
}
