package difficulty

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"testing"
)

// gateFixture is a gate over two made-up domains, word problems and
// capital-city questions, whose experts score by how many numbers (maths)
// or words (cities) a prompt has.
func gateFixture(t testing.TB) (*Model, []GateData) {
	t.Helper()
	var maths, cities []Example
	names := []string{"Ann", "Bob", "Cid", "Dee", "Eve", "Fay", "Gus", "Hal"}
	things := []string{"apples", "pens", "eggs", "books", "cups", "coins"}
	for i := range 40 {
		p := fmt.Sprintf("%s buys %d %s for %d dollars each and sells %d of them. How many %s are left?",
			names[i%len(names)], 3+i, things[i%len(things)], 2+i%5, 1+i%3, things[(i+1)%len(things)])
		maths = append(maths, Example{Prompt: p, Weak: float64(i % 2), Strong: 1})
	}
	countries := []string{"France", "Peru", "Japan", "Kenya", "Chile", "Spain", "Egypt", "Nepal"}
	for i := range 40 {
		p := fmt.Sprintf("Which city is the capital of %s?%s", countries[i%len(countries)], strings.Repeat(" Name the river it stands on.", i%3))
		cities = append(cities, Example{Prompt: p, Weak: float64(i % 2), Strong: 1})
	}
	expert := func(feature string, ex []Example) *Model {
		m, err := Parse([]byte(`{"features":[{"name":"` + feature + `","mean":0,"std":1,"weight":1}]}`))
		if err != nil {
			t.Fatal(err)
		}
		m.Quantiles = quantiles(m, ex)
		return m
	}
	data := []GateData{
		{Name: "maths", Examples: maths, Expert: expert("numbers", maths)},
		{Name: "cities", Examples: cities, Expert: expert("log_words", cities)},
	}
	m, err := TrainGated(data, 0, "test")
	if err != nil {
		t.Fatal(err)
	}
	return m, data
}

func TestGateRoutesKnownDomainsAndNovelty(t *testing.T) {
	m, data := gateFixture(t)
	for k, d := range data {
		pass := 0
		for _, e := range d.Examples {
			if m.Gate.Route(e.Prompt) == k {
				pass++
			}
		}
		// The threshold is the 10% quantile of leave-one-out similarities;
		// a training prompt is nearer its own centroid, so at least 90% pass.
		if share := float64(pass) / float64(len(d.Examples)); share < 0.9 {
			t.Errorf("%s: gate keeps %.2f of its own training prompts, want >= 0.9", d.Name, share)
		}
	}
	for _, tt := range []struct {
		prompt string
		want   int
	}{
		{"Gus buys 12 pens for 3 dollars each and sells 2 of them. How many cups are left?", 0},
		{"Which city is the capital of Nepal? Name the river it stands on.", 1},
		{"Compose a sonnet about autumn leaves in the style of a pirate.", -1},
		{"Rewrite your previous response in exactly three sentences.", -1},
		{"", -1},
	} {
		if got := m.Gate.Route(tt.prompt); got != tt.want {
			t.Errorf("Route(%q) = %d, want %d", tt.prompt, got, tt.want)
		}
	}
}

// TestGateScoreKeepsEachOrder: among prompts the gate gives to one expert,
// the gated score orders them as the expert does; among prompts it gives to
// nobody, as the length rule does; and every score is in (0, 1).
func TestGateScoreKeepsEachOrder(t *testing.T) {
	m, data := gateFixture(t)
	prompts := []string{"Write a haiku.", "Tell me a joke about a cat.", "Explain, in a long and patient way, why the sky looks blue at noon and red at dusk."}
	for _, d := range data {
		for _, e := range d.Examples {
			prompts = append(prompts, e.Prompt)
		}
	}
	byRoute := map[int][]string{}
	for _, p := range prompts {
		byRoute[m.Gate.Route(p)] = append(byRoute[m.Gate.Route(p)], p)
	}
	if len(byRoute[-1]) < 3 || len(byRoute[0]) < 30 || len(byRoute[1]) < 30 {
		t.Fatalf("routes: %d novel, %d maths, %d cities", len(byRoute[-1]), len(byRoute[0]), len(byRoute[1]))
	}
	for k, ps := range byRoute {
		ref := func(p string) float64 { return float64(len(p)) }
		if k >= 0 {
			ref = m.Gate.Domains[k].Expert.Score
		}
		for _, a := range ps {
			sa := m.Score(a)
			if !(sa > 0 && sa < 1) {
				t.Fatalf("Score(%q) = %v", a, sa)
			}
			for _, b := range ps {
				if ref(a) < ref(b) && !(sa < m.Score(b)) {
					t.Errorf("route %d: %q below %q by its own scorer, gated %v >= %v", k, a, b, sa, m.Score(b))
				}
			}
		}
	}
}

func TestRankIn(t *testing.T) {
	qs := make([]float64, 101)
	for i := range qs {
		qs[i] = float64(i / 2) // pairs of equal entries: 0, 0, 1, 1, ...
	}
	for _, tt := range []struct{ x, want float64 }{
		{-1, 0}, {0, 0.01}, {0.5, 0.015}, {1, 0.03}, {49.5, 0.995}, {50, 1}, {70, 1},
	} {
		if got := rankIn(qs, tt.x); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("rankIn(%v) = %v, want %v", tt.x, got, tt.want)
		}
	}
	// Monotone, and strictly inside the table.
	prev := -1.0
	for x := -0.5; x < 50.5; x += 0.01 {
		r := rankIn(qs, x)
		if r < prev || (x > 0 && x < 50 && r == prev) {
			t.Fatalf("rankIn(%v) = %v after %v", x, r, prev)
		}
		prev = r
	}
}

// TestGateFile: a gated router survives Marshal and Parse with the same
// scores and threshold, and Parse refuses broken gates.
func TestGateFile(t *testing.T) {
	m, _ := gateFixture(t)
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	m2, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"Which city is the capital of Peru?", "Bob buys 4 cups. How many are left?", "hello"} {
		if a, b := m.Score(p), m2.Score(p); a != b {
			t.Errorf("Score(%q): %v before the round trip, %v after", p, a, b)
		}
	}
	if a, ok := m2.ThresholdFor(0.3); !ok || !(a > 0 && a < 1) {
		t.Errorf("ThresholdFor(0.3) = %v, %v", a, ok)
	}
	good := string(b)
	for _, tt := range []struct{ name, from, to, err string }{
		{"short centroid", `"centroid": [`, `"centroid": [0.5,`, "centroid buckets"},
		{"expert without quantiles", `"quantiles": [`, `"quantilez": [`, "quantiles"},
		{"gate in an expert", `"expert": {`, `"expert": {"gate": {"idf": [1], "length": [], "domains": []},`, "gate"},
	} {
		if !strings.Contains(good, tt.from) {
			t.Fatalf("%s: %q not in the file", tt.name, tt.from)
		}
		// Change the first occurrence inside the first expert.
		i := strings.Index(good, `"expert": {`)
		_, err := Parse([]byte(good[:i] + strings.Replace(good[i:], tt.from, tt.to, 1)))
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%s: err %v, want it to say %q", tt.name, err, tt.err)
		}
	}
}

func TestGateScoreAllocs(t *testing.T) {
	m, _ := gateFixture(t)
	for _, p := range []string{"Which city is the capital of Peru?", "Write a haiku about rain, please."} {
		m.Score(p)
		if n := testing.AllocsPerRun(100, func() { m.Score(p) }); n != 0 {
			t.Errorf("Score(%q) allocates %v times, want 0", p, n)
		}
	}
}

// TestGateIDFWeighsDomainsEqually: a word every prompt of the small domain
// has is worth as much as one every prompt of the large domain has, however
// many more prompts the large one has.
func TestGateIDFWeighsDomainsEqually(t *testing.T) {
	_, data := gateFixture(t)
	big := data[0]
	big.Examples = slices.Repeat(big.Examples, 10)
	big.Expert = &Model{Quantiles: big.Expert.Quantiles}
	g, err := FitGate([]GateData{big, data[1]}, 0)
	if err != nil {
		t.Fatal(err)
	}
	idf := func(w string) float64 {
		var v float64
		wordBuckets(w, GateBuckets, false, func(b int, _ float64) { v = g.IDF[b] })
		return v
	}
	// "dollars" is in every maths prompt, "capital" in every cities one:
	// both in half the domains, idf about ln 2 (pooled, dollars would get
	// ln(440/400) = 0.10 and capital ln(440/40) = 2.4).
	for _, w := range []string{"dollars", "capital"} {
		if v := idf(w); math.Abs(v-math.Ln2) > 0.03 {
			t.Errorf("idf %s %v, want about ln 2", w, v)
		}
	}
	ths := []float64{g.Domains[0].Threshold, g.Domains[1].Threshold}
	if !sort.Float64sAreSorted([]float64{0, ths[0], 1}) || !sort.Float64sAreSorted([]float64{0, ths[1], 1}) {
		t.Errorf("thresholds %v, want in (0, 1)", ths)
	}
}

func BenchmarkScoreGated(b *testing.B) {
	m, _ := gateFixture(b)
	p := "Janet’s ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins for her friends every day with four. She sells the remainder at the farmers' market daily for $2 per fresh duck egg. How much in dollars does she make every day at the farmers' market?"
	b.ReportAllocs()
	for b.Loop() {
		m.Score(p)
	}
}
