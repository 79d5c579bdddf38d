// Command gate measures a gated mixture of routers (difficulty.Gate): one
// expert per known domain, route-train's default fitted on that domain's
// training half alone, and a gate that gives a prompt to the expert of the
// domain it resembles, or to the length rule when it resembles none.
//
//	go run ./internal/router/difficulty/cmd/gate            # leave-one-domain-out, training halves
//	go run ./internal/router/difficulty/cmd/gate -heldout   # also the held-out halves, once
//
// The design, written down before any of its results was seen:
//
//   - Experts: difficulty.TrainAndBlend on one domain's training half with
//     route-train's default options (1,024 word buckets, --choose); each
//     expert's Quantiles are on that half.
//   - Gate (difficulty.FitGate): hashed words (4,096 buckets), each present
//     bucket weighted by its idf (each domain weighing the same), L2-normalised;
//     one centroid per domain; a domain's threshold is the 10% quantile of
//     its training prompts' leave-one-out cosine similarity; a prompt goes to
//     the passed domain with the highest similarity, else to the length rule.
//   - Score: the quantile of the expert's score among its domain's training
//     prompts, or the quantile of the prompt's length among all training
//     prompts (hard gate, no mixing).
//
// Protocol: (1) leave-one-domain-out: the gate and experts of two domains
// score the third domain's training half, which nothing was trained on;
// (2) the gate over all three scores each held-out half once, with the
// bootstrap s.d. (500 resamples), against the length rule and the shipped
// router (difficulty.Default).
//
// Rule for shipping it as weights.json, written before any held-out half
// was scored: (1) on every left-out domain, at least the length rule's APGR
// minus 0.005; and (2) above the shipped router's APGR on every held-out
// half. Otherwise the gate stays an experiment and weights.json is
// unchanged.
//
// Result (docs/routing.md, "Gated mixture of per-domain experts"): (2)
// holds (held-out GSM8K 0.622, MMLU 0.678, MT-Bench 0.551 against the
// shipped router's 0.605 / 0.592 / 0.540), (1) fails (left-out GSM8K 0.510,
// MMLU 0.512, MT-Bench 0.333 against the length rule's 0.601 / 0.581 /
// 0.435): the gate sends most prompts of an unseen benchmark to some
// expert. So weights.json is unchanged.
//
// -q sets the gate's threshold quantile (-q 0.5 was tried after the
// result above, and fails too); -diag prints each domain's similarities to
// each centroid; -out writes the gated router over all three domains.
package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/router/difficulty"
)

func main() {
	flag.BoolVar(&diag, "diag", false, "print the gate's similarities (10/50/90% quantiles) per domain")
	flag.Float64Var(&quantile, "q", difficulty.GateQuantile, "gate threshold: this quantile of a domain's own similarities")
	heldout := flag.Bool("heldout", false, "score the held-out halves too (once: see the rule above)")
	out := flag.String("out", "", "write the gated router over all three domains to this file")
	flag.Parse()
	if err := run(*heldout, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gate:", err)
		os.Exit(1)
	}
}

var (
	diag     bool
	quantile float64
)

// sims is, per known domain of g, its threshold and the 10/50/90%
// quantiles of ex's cosine similarity to its centroid.
func sims(g *difficulty.Gate, ex []difficulty.Example) string {
	var parts []string
	for _, d := range g.Domains {
		var s []float64
		for _, e := range ex {
			s = append(s, g.Similarity(e.Prompt, d.Centroid))
		}
		sort.Float64s(s)
		q := func(f float64) float64 { return s[int(f*float64(len(s)-1))] }
		parts = append(parts, fmt.Sprintf("%s (threshold %.3f): %.3f / %.3f / %.3f", d.Name, d.Threshold, q(0.1), q(0.5), q(0.9)))
	}
	return strings.Join(parts, "; ")
}

func run(heldout bool, out string) error {
	start := time.Now()
	train := map[string][]difficulty.Example{}
	held := map[string][]difficulty.Example{}
	data := map[string]difficulty.GateData{}
	for _, d := range difficulty.Domains {
		ex, err := difficulty.LoadDomain(d)
		if err != nil {
			return err
		}
		train[d], held[d] = difficulty.Split(ex)
		o := difficulty.RouteTrainOptions(1024, false, false, false, "")
		o.Choose = true
		res := difficulty.TrainAndBlend(train[d], o)
		res.Model.Label = fmt.Sprintf("%s on %s training half (route-train default)", res.Learner, d)
		data[d] = difficulty.GateData{Name: d, Examples: train[d], Expert: res.Model}
		b, _ := res.Model.Marshal()
		fmt.Printf("expert %s: %d training prompts, learner %s, model %g, topics %g (%d topics), %d bytes (%s)\n",
			d, len(train[d]), res.Learner, res.Alpha, res.Beta, res.Topics, len(b), time.Since(start).Round(time.Second))
	}
	gated := func(ds []string) (*difficulty.Model, error) {
		var gd []difficulty.GateData
		for _, d := range ds {
			gd = append(gd, data[d])
		}
		return difficulty.TrainGated(gd, quantile, "gated mixture of "+strings.Join(ds, ", "))
	}
	score := func(f func(string) float64, ex []difficulty.Example) []float64 {
		s := make([]float64, len(ex))
		for i := range ex {
			s[i] = f(ex[i].Prompt)
		}
		return s
	}
	length := func(p string) float64 { return float64(len(p)) }
	// coverage says where the gate sends ex: the share per domain and to
	// the length rule.
	coverage := func(m *difficulty.Model, ex []difficulty.Example) string {
		n := make([]int, len(m.Gate.Domains)+1)
		for _, e := range ex {
			n[m.Gate.Route(e.Prompt)+1]++
		}
		var parts []string
		for k, d := range m.Gate.Domains {
			parts = append(parts, fmt.Sprintf("%s %.1f%%", d.Name, 100*float64(n[k+1])/float64(len(ex))))
		}
		return strings.Join(append(parts, fmt.Sprintf("length %.1f%%", 100*float64(n[0])/float64(len(ex)))), ", ")
	}

	fmt.Println("\nLeave-one-domain-out, left-out domain's training half:")
	fmt.Println("| left out (training half) | length rule | gated | gate sends it to |")
	fmt.Println("|---|---:|---:|---|")
	for _, d := range difficulty.Domains {
		var ds []string
		for _, o := range difficulty.Domains {
			if o != d {
				ds = append(ds, o)
			}
		}
		m, err := gated(ds)
		if err != nil {
			return err
		}
		la := difficulty.Evaluate(train[d], score(length, train[d])).APGR
		ga := difficulty.Evaluate(train[d], score(m.Score, train[d])).APGR
		fmt.Printf("| %s | %.3f | %.3f | %s |\n", d, la, ga, coverage(m, train[d]))
		if diag {
			for _, dd := range difficulty.Domains {
				fmt.Printf("    %s prompts: %s\n", dd, sims(m.Gate, train[dd]))
			}
		}
		for _, o := range ds {
			fmt.Printf("|   (known: %s training half) | | | %s |\n", o, coverage(m, train[o]))
		}
	}
	m, err := gated(difficulty.Domains)
	if err != nil {
		return err
	}
	b, err := m.Marshal()
	if err != nil {
		return err
	}
	fmt.Printf("\ngated router over all three: %d bytes\n", len(b))
	for _, d := range difficulty.Domains {
		fmt.Printf("  %s training half: %s\n", d, coverage(m, train[d]))
	}
	if out != "" {
		if err := os.WriteFile(out, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	if heldout {
		fmt.Println("\nHeld-out halves (± bootstrap s.d., 500 resamples):")
		fmt.Println("| held-out half | length rule | shipped router | gated | gate sends it to |")
		fmt.Println("|---|---:|---:|---:|---|")
		for _, d := range difficulty.Domains {
			h := held[d]
			cell := func(f func(string) float64) string {
				s := score(f, h)
				return fmt.Sprintf("%.3f ± %.3f", difficulty.Evaluate(h, s).APGR, difficulty.BootstrapSD(h, s, 500))
			}
			fmt.Printf("| %s (%d) | %s | %s | %s | %s |\n", d, len(h), cell(length), cell(difficulty.Default().Score), cell(m.Score), coverage(m, h))
		}
	}
	fmt.Printf("(%s)\n", time.Since(start).Round(time.Second))
	return nil
}
