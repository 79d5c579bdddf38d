package advise

import (
	"slices"
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/eval"
)

// TestSameModel: the names eval results carry (Hugging Face ids, Ollama
// tags, dated API snapshots, Bedrock ids) are the candidate's model when
// only case, an organisation, tuning, date, version or quantisation tags
// differ, and never when the model differs: size, version, variant.
func TestSameModel(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
		dist int
	}{
		{"Llama-3.1-70B-Instruct", "llama-3.1-70b", true, 1},
		{"meta-llama/Llama-3.1-70B-Instruct", "llama-3.1-70b", true, 1},
		{"meta-llama/Meta-Llama-3.1-70B-Instruct", "llama-3.1-70b", true, 1},
		{"llama3.1:70b", "llama-3.1-70b", true, 0},
		{"llama3.1:70b-instruct-q4_K_M", "llama-3.1-70b", true, 2},
		{"hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4", "llama-3.1-70b-awq", true, 1},
		{"meta.llama3-1-70b-instruct-v1:0", "llama-3.1-70b", true, 2},
		{"gpt-4o-2024-08-06", "gpt-4o", true, 1},
		{"openai/gpt-4o-2024-08-06", "GPT-4o", true, 1},
		{"claude-3-5-sonnet-20241022", "claude-3.5-sonnet", true, 1},
		{"anthropic.claude-3-5-sonnet-20240620-v1:0", "claude-3-5-sonnet", true, 2},
		{"claude-3-5-sonnet@20240620", "claude-3-5-sonnet-20240620", true, 0},
		{"mistral-large-2407", "mistral-large-latest", true, 1},
		{"Qwen/Qwen2.5-72B-Instruct", "qwen-2.5-72b", true, 1},
		{"google/gemma-2-9b-it", "gemma2:9b", true, 1},
		{"TheBloke/Mixtral-8x7B-Instruct-v0.1-GGUF", "mixtral-8x7b", true, 3},
		{"gpt-4-0613", "gpt-4", true, 1},
		{"gemini-1.5-pro-002", "gemini-1.5-pro", true, 1},
		{"deepseek-chat", "deepseek-chat", true, 0},
		{"command-r-08-2024", "command-r", true, 1},

		{"Llama-3.1-70B-Instruct", "llama-3.1-8b", false, 0},
		{"llama-3.3-70b", "llama-3.1-70b", false, 0},
		{"llama-3-70b", "llama-3.1-70b", false, 0},
		{"gpt-4o-mini", "gpt-4o", false, 0},
		{"gpt-4o-mini-2024-07-18", "gpt-4o", false, 0},
		{"gpt-4-turbo", "gpt-4", false, 0},
		{"gpt-4o", "gpt-4", false, 0},
		{"gpt-3.5-turbo-instruct", "gpt-3.5-turbo", false, 0},
		{"gpt-4o-2024-05-13", "gpt-4o-2024-08-06", false, 0},
		{"mistral-7b-instruct-v0.2", "mistral-7b-v0.3", false, 0},
		{"mixtral-8x22b", "mixtral-8x7b", false, 0},
		{"llama-3.1-70b-awq", "llama-3.1-70b-gptq", false, 0},
		{"deepseek-reasoner", "deepseek-chat", false, 0},
		{"claude-3-5-haiku", "claude-3-5-sonnet", false, 0},
		{"qwen2.5-7b", "qwen2.5-72b", false, 0},
	} {
		same, d := sameModel(parseIdentity(tc.a), parseIdentity(tc.b))
		if same != tc.same || (same && d != tc.dist) {
			t.Errorf("sameModel(%q, %q) = %v, %d; want %v, %d (%+v / %+v)", tc.a, tc.b, same, d, tc.same, tc.dist, parseIdentity(tc.a), parseIdentity(tc.b))
		}
		if s2, d2 := sameModel(parseIdentity(tc.b), parseIdentity(tc.a)); s2 != same || d2 != d {
			t.Errorf("sameModel is not symmetric on %q, %q", tc.a, tc.b)
		}
	}
}

// Eval results as `fulcrum eval` names them reach the candidates; models
// that are not the candidates are named in the warning, every one of
// them. Open-only profile (llama-3.1-8b, llama-3.1-70b) plus an AWQ build
// of the 70B and gpt-4o: the Hugging Face id scores the 70B, the AWQ eval
// the AWQ build only (closest name), the Ollama tag the 8B, the dated
// snapshot gpt-4o; Llama 3.3, gpt-4o-mini and the 405B are other models.
func TestEvalMatchByIdentity(t *testing.T) {
	p := loadExample(t, "open-only")
	awq := p.Candidates.Open[1]
	awq.Model = "llama-3.1-70b-awq"
	p.Candidates.Open = append(p.Candidates.Open, awq)
	p.Candidates.Proprietary = []ProprietaryModel{{Model: "gpt-4o", InputPerMillion: 2.5, OutputPerMillion: 10}}
	ev := &eval.Report{Suite: "own", Models: []eval.ModelSummary{
		{Model: "meta-llama/Llama-3.1-70B-Instruct", Accuracy: 0.81, Cases: 100},
		{Model: "hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4", Accuracy: 0.79, Cases: 100},
		{Model: "llama3.1:8b", Accuracy: 0.71, Cases: 100},
		{Model: "gpt-4o-2024-08-06", Accuracy: 0.88, Cases: 100},
		{Model: "meta-llama/Llama-3.3-70B-Instruct", Accuracy: 0.84, Cases: 100},
		{Model: "gpt-4o-mini", Accuracy: 0.80, Cases: 100},
		{Model: "Llama-3.1-405B-Instruct", Accuracy: 0.86, Cases: 100},
	}}
	r := run(t, p, func(o *Options) { o.Evals = []*eval.Report{ev} })
	for model, want := range map[string]float64{"llama-3.1-70b": 0.81, "llama-3.1-70b-awq": 0.79, "llama-3.1-8b": 0.71, "gpt-4o": 0.88} {
		if s := r.score(model); s == nil || s.Accuracy != want || s.Cases != 100 {
			t.Errorf("%s: score %+v, want %.2f over 100 cases", model, s, want)
		}
	}
	want := []string{`"meta-llama/Llama-3.3-70B-Instruct" (suite own; nearest candidate llama-3.1-70b is another model)`,
		`"gpt-4o-mini" (suite own; nearest candidate gpt-4o is another model)`, `"Llama-3.1-405B-Instruct" (suite own; nearest candidate llama-3.1-70b is another model)`}
	if !slices.Equal(unmatchedText(r), want) {
		t.Errorf("unmatched %v, want %v", unmatchedText(r), want)
	}
	notes := strings.Join(r.Notes, "\n")
	for _, s := range []string{
		`Warning: 3 eval result(s) match no candidate and are not used: "meta-llama/Llama-3.3-70B-Instruct" (suite own; nearest candidate llama-3.1-70b is another model), "gpt-4o-mini" (suite own; nearest candidate gpt-4o is another model), "Llama-3.1-405B-Instruct" (suite own; nearest candidate llama-3.1-70b is another model).`,
		`"meta-llama/Llama-3.1-70B-Instruct" → llama-3.1-70b, "hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4" → llama-3.1-70b-awq, "llama3.1:8b" → llama-3.1-8b, "gpt-4o-2024-08-06" → gpt-4o.`,
	} {
		if !strings.Contains(notes, s) {
			t.Errorf("notes lack %s:\n%s", s, notes)
		}
	}
	// Without the AWQ candidate the AWQ eval is the 70B's too, said to be
	// a quantised build: (81 + 79) / 200 = 80%.
	p.Candidates.Open = p.Candidates.Open[:2]
	r = run(t, p, func(o *Options) { o.Evals = []*eval.Report{ev} })
	if s := r.score("llama-3.1-70b"); s == nil || !near(s.Accuracy, 0.80, 1e-12) || s.Cases != 200 {
		t.Errorf("llama-3.1-70b: %+v, want 80%% over 200 cases", s)
	}
	if notes := strings.Join(r.Notes, "\n"); !strings.Contains(notes, `"hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4" → llama-3.1-70b (a quantised build of the other: accuracy may differ)`) {
		t.Errorf("notes:\n%s", notes)
	}
}
