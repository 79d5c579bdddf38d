package eval

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Report is the outcome of a run: one summary per model and, per case,
// every model's result. It round-trips through JSON (WriteJSON, ReadJSON).
type Report struct {
	Suite       string    `json:"suite"`
	Description string    `json:"description,omitempty"`
	StartedAt   time.Time `json:"started_at"`
	// DurationMs is the wall time of the run.
	DurationMs float64 `json:"duration_ms"`
	// Models are in the suite's order.
	Models []ModelSummary `json:"models"`
	Cases  []CaseResult   `json:"cases"`
	// JudgeModel and JudgeCostUSD describe the judge calls, if any.
	JudgeModel   string  `json:"judge_model,omitempty"`
	JudgeCostUSD float64 `json:"judge_cost_usd,omitempty"`
	// Calls counts upstream calls made; CacheHits the answers read from
	// the cache instead.
	Calls     int `json:"calls"`
	CacheHits int `json:"cache_hits"`
}

// ModelSummary aggregates one model's results.
type ModelSummary struct {
	Model  string `json:"model"`
	Cases  int    `json:"cases"`
	Passed int    `json:"passed"`
	// Errors counts cases that could not be scored (they count as
	// failed): the call failed, or the judge could not grade the answer
	// (JudgeErrors of them). FirstError is the first failure's message.
	Errors     int    `json:"errors"`
	FirstError string `json:"first_error,omitempty"`
	// JudgeErrors counts the cases among Errors whose answer came back but
	// whose judge call failed or gave no score: not a wrong answer, an
	// unmeasured one.
	JudgeErrors int `json:"judge_errors,omitempty"`
	// Accuracy is Passed / Cases.
	Accuracy     float64 `json:"accuracy"`
	InputTokens  int64   `json:"input_tokens"`
	OutputTokens int64   `json:"output_tokens"`
	// CostUSD is the cost of all cases; CostKnown is false when no price
	// or self-hosted cost model covers the model.
	CostUSD   float64 `json:"cost_usd"`
	CostKnown bool    `json:"cost_known"`
	// CostSource is "catalogue" (API price) or "self_hosted" (GPU-hour
	// estimate); CostNote says which figures it rests on.
	CostSource string `json:"cost_source,omitempty"`
	CostNote   string `json:"cost_note,omitempty"`
	// CostPer1000 is the cost of 1,000 cases at this suite's average.
	CostPer1000  float64 `json:"cost_per_1000_cases"`
	LatencyP50Ms float64 `json:"latency_p50_ms"`
	LatencyP95Ms float64 `json:"latency_p95_ms"`
	// Pareto is true when no other model is both at least as accurate and
	// at most as costly (and better in one).
	Pareto bool `json:"pareto"`
}

// CaseResult holds one case's results, in the order of Report.Models.
type CaseResult struct {
	ID string `json:"id"`
	// Input is the last user message sent.
	Input   string   `json:"input"`
	Results []Result `json:"results"`
}

// Result is one model's answer to one case.
type Result struct {
	Model  string `json:"model"`
	Answer string `json:"answer"`
	// Error is the failure when the call did not succeed.
	Error string `json:"error,omitempty"`
	// JudgeError is why the judge could not grade the answer (its call
	// failed or it gave no score): the case is not scored.
	JudgeError string `json:"judge_error,omitempty"`
	// Pass is true when every assertion passed.
	Pass       bool              `json:"pass"`
	Assertions []AssertionResult `json:"assertions"`
	LatencyMs  float64           `json:"latency_ms"`
	// InputTokens and OutputTokens are the usage; TokensEstimated is true
	// when the upstream reported none and they were counted locally.
	InputTokens     int64   `json:"input_tokens"`
	OutputTokens    int64   `json:"output_tokens"`
	TokensEstimated bool    `json:"tokens_estimated,omitempty"`
	CostUSD         float64 `json:"cost_usd"`
	CostKnown       bool    `json:"cost_known"`
	// Cached is true when the answer came from the cache.
	Cached bool `json:"cached,omitempty"`
}

// Summary returns the named model's summary, or nil.
func (r *Report) Summary(model string) *ModelSummary {
	for i := range r.Models {
		if r.Models[i].Model == model {
			return &r.Models[i]
		}
	}
	return nil
}

// summarise fills Models from Cases.
func (r *Report) summarise(costs map[string]costInfo) {
	for mi := range r.Models {
		s := &r.Models[mi]
		var lat []float64
		s.CostKnown = false
		answered := 0
		for _, c := range r.Cases {
			res := &c.Results[mi]
			s.Cases++
			if res.Pass {
				s.Passed++
			}
			if res.Error != "" {
				s.Errors++
				if s.FirstError == "" {
					s.FirstError = res.Error
				}
				continue
			}
			if res.JudgeError != "" {
				// Answered (its tokens and cost count) but not scored.
				s.Errors++
				s.JudgeErrors++
				if s.FirstError == "" {
					s.FirstError = res.JudgeError
				}
			}
			if answered == 0 {
				s.CostKnown = true
			}
			answered++
			lat = append(lat, res.LatencyMs)
			s.InputTokens += res.InputTokens
			s.OutputTokens += res.OutputTokens
			s.CostUSD += res.CostUSD
			s.CostKnown = s.CostKnown && res.CostKnown
		}
		if s.Cases > 0 {
			s.Accuracy = float64(s.Passed) / float64(s.Cases)
		}
		if ok := s.Cases - s.Errors; ok > 0 && s.CostKnown {
			s.CostPer1000 = s.CostUSD / float64(ok) * 1000
		}
		if s.CostKnown {
			s.CostSource, s.CostNote = "catalogue", "catalogue price"
			if ci, ok := costs[s.Model]; ok {
				s.CostSource, s.CostNote = ci.source, ci.note
			}
		}
		s.LatencyP50Ms = percentile(lat, 50)
		s.LatencyP95Ms = percentile(lat, 95)
	}
	markPareto(r.Models)
}

// percentile is the nearest-rank percentile of xs (0 when empty).
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	k := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(k, len(s)-1))]
}

// markPareto marks the models with known cost that no other model
// dominates (at least as accurate and at most as costly, better in one).
// A model with no answered case (every call failed) is never on the front
// and dominates nothing: its cost and accuracy measure nothing.
func markPareto(ms []ModelSummary) {
	measured := func(m *ModelSummary) bool { return m.CostKnown && m.Cases > m.Errors }
	for i := range ms {
		ms[i].Pareto = false
		if !measured(&ms[i]) {
			continue
		}
		dominated := false
		for j := range ms {
			if i == j || !measured(&ms[j]) {
				continue
			}
			a, b := &ms[j], &ms[i]
			if a.Accuracy >= b.Accuracy && a.CostPer1000 <= b.CostPer1000 &&
				(a.Accuracy > b.Accuracy || a.CostPer1000 < b.CostPer1000) {
				dominated = true
				break
			}
		}
		ms[i].Pareto = !dominated
	}
}

// ErrorSummary is one line with every model's failed calls, e.g.
// "eval quick: 10 calls, 5 failed: gpt-4 0 of 5, mixtral-8x7b 5 of 5 (first: 404 model ...)".
func (r *Report) ErrorSummary() string {
	var calls, failed int
	var b strings.Builder
	for i, m := range r.Models {
		calls += m.Cases
		failed += m.Errors
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d of %d failed", m.Model, m.Errors, m.Cases)
		if m.FirstError != "" {
			fmt.Fprintf(&b, " (first: %s)", m.FirstError)
		}
	}
	return fmt.Sprintf("eval %s: %d calls, %d failed: %s", r.Suite, calls, failed, b.String())
}

// ErrorRateExceeded returns the models whose share of failed calls is above
// maxRate (0: any failure counts).
func (r *Report) ErrorRateExceeded(maxRate float64) []string {
	var out []string
	for _, m := range r.Models {
		if m.Errors > 0 && (m.Cases == 0 || float64(m.Errors)/float64(m.Cases) > maxRate) {
			out = append(out, m.Model)
		}
	}
	return out
}

// WriteJSON writes the report as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("eval: write json: %w", err)
	}
	return nil
}

// ReadJSON reads a report written by WriteJSON (e.g. for fulcrum advise).
// A report that holds no result is refused, never read as "no evidence":
// an empty file, JSON of another shape (no models), a model without a
// name or cases, an accuracy outside 0–1, more errors than cases.
func ReadJSON(rd io.Reader) (*Report, error) {
	var r Report
	if err := json.NewDecoder(rd).Decode(&r); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("eval: read report: the file is empty, not a results.json from fulcrum eval")
		}
		return nil, fmt.Errorf("eval: read report: %w", err)
	}
	if len(r.Models) == 0 {
		return nil, errors.New(`eval: read report: no model results ("models" is missing or empty): not a results.json from fulcrum eval, or a run that evaluated nothing`)
	}
	for i, m := range r.Models {
		switch {
		case strings.TrimSpace(m.Model) == "":
			return nil, fmt.Errorf("eval: read report: models[%d]: no model name", i)
		case m.Cases <= 0:
			return nil, fmt.Errorf("eval: read report: models[%d] (%s): cases must be positive, got %d", i, m.Model, m.Cases)
		case math.IsNaN(m.Accuracy) || m.Accuracy < 0 || m.Accuracy > 1:
			return nil, fmt.Errorf("eval: read report: models[%d] (%s): accuracy must be between 0 and 1, got %v", i, m.Model, m.Accuracy)
		case m.Errors < 0 || m.Errors > m.Cases:
			return nil, fmt.Errorf("eval: read report: models[%d] (%s): errors must be between 0 and cases (%d), got %d", i, m.Model, m.Cases, m.Errors)
		}
	}
	return &r, nil
}

// ReadJSONFile reads a results.json file; errors name the file.
func ReadJSONFile(path string) (*Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	defer f.Close()
	r, err := ReadJSON(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// Report file names WriteFiles creates in its directory.
const (
	ResultsJSON = "results.json"
	SummaryMD   = "summary.md"
	ReportHTML  = "report.html"
)

// OutputDir is where WriteFiles should write: dir itself when it holds no
// results yet (or force is set), else a new sub-directory named after the
// run's start time (UTC, e.g. 20260102-150405), so earlier results are
// never overwritten silently. moved is true in the second case.
//
// The place is claimed, not only looked at: results.json is created
// empty in dir (only if absent), a sub-directory made with os.Mkdir (only
// if absent), so two runs finishing at once never pick the same one (they
// did: both saw no results.json, or the same free sub-directory, and the
// second overwrote the first). An error here is left for WriteFiles to
// report.
func OutputDir(dir string, r *Report, force bool) (out string, moved bool) {
	if force {
		return dir, false
	}
	_ = os.MkdirAll(dir, 0o755)
	f, err := os.OpenFile(filepath.Join(dir, ResultsJSON), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err == nil {
		f.Close()
		return dir, false
	}
	if !errors.Is(err, fs.ErrExist) {
		return dir, false
	}
	base := filepath.Join(dir, r.StartedAt.UTC().Format("20060102-150405"))
	out = base
	for i := 2; ; i++ {
		if err := os.Mkdir(out, 0o755); err == nil || !errors.Is(err, fs.ErrExist) {
			return out, true
		}
		out = fmt.Sprintf("%s-%d", base, i)
	}
}

// WriteFiles writes results.json, summary.md and report.html into dir
// (created if needed, files replaced: see OutputDir) and returns their paths.
func WriteFiles(dir string, r *Report) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	writers := []struct {
		name  string
		write func(io.Writer, *Report) error
	}{{ResultsJSON, WriteJSON}, {SummaryMD, WriteMarkdown}, {ReportHTML, WriteHTML}}
	var paths []string
	for _, wr := range writers {
		p := filepath.Join(dir, wr.name)
		f, err := os.Create(p)
		if err != nil {
			return paths, fmt.Errorf("eval: %w", err)
		}
		err = wr.write(f, r)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return paths, fmt.Errorf("eval: %s: %w", p, err)
		}
		paths = append(paths, p)
	}
	return paths, nil
}
