package store

import (
	"context"
	"time"
)

// KindShadow is the kind of the shadow comparisons (retention.shadow).
const KindShadow Kind = "shadow"

// ShadowResult is one shadow comparison: a live answer and a candidate's
// answer to the same (policy-cleared) request, compared. Answers are never
// stored, only the verdict and what each call measured (and the prompt
// when a rule opts in).
type ShadowResult struct {
	Time      time.Time `json:"time"`
	RequestID string    `json:"request_id"`
	KeyID     string    `json:"key_id,omitempty"`
	Team      string    `json:"team,omitempty"`
	// Route is the model or route the client asked for (the name whose
	// shadow rule sampled the request).
	Route string `json:"route"`
	// Live is the model that answered the client, on LiveProvider.
	Live         string `json:"live"`
	LiveProvider string `json:"live_provider"`
	LiveHosting  string `json:"live_hosting"`
	// Candidate is the shadow model, on CandidateProvider.
	Candidate         string `json:"candidate"`
	CandidateProvider string `json:"candidate_provider,omitempty"`
	CandidateHosting  string `json:"candidate_hosting,omitempty"`
	// DataClasses and PolicyAction are the request's policy verdict.
	DataClasses  []string `json:"data_classes,omitempty"`
	PolicyAction string   `json:"policy_action,omitempty"`
	// Method is the comparison ("numeric", "equals", "json").
	Method string `json:"method"`
	// Verdict is "agree", "disagree" or "error" (the candidate failed;
	// ErrorCode says how).
	Verdict   string `json:"verdict"`
	Detail    string `json:"detail,omitempty"`
	ErrorCode string `json:"error_code,omitempty"`
	// Judge is the judge's preference when a judge is configured:
	// "candidate", "live", "tie", or "" (no judge, or it gave no answer).
	Judge      string `json:"judge,omitempty"`
	JudgeModel string `json:"judge_model,omitempty"`
	// Latencies, tokens and costs (USD × 1e9) of both calls; the judge's
	// cost apart.
	LiveLatencyMS      int64   `json:"live_latency_ms"`
	CandidateLatencyMS int64   `json:"candidate_latency_ms"`
	LiveInputTokens    int64   `json:"live_input_tokens"`
	LiveOutputTokens   int64   `json:"live_output_tokens"`
	CandInputTokens    int64   `json:"candidate_input_tokens"`
	CandOutputTokens   int64   `json:"candidate_output_tokens"`
	LiveCostNanos      int64   `json:"live_cost_nanos"`
	CandidateCostNanos int64   `json:"candidate_cost_nanos"`
	JudgeCostNanos     int64   `json:"judge_cost_nanos,omitempty"`
	SampleRate         float64 `json:"sample_rate"`
	// Prompt is the last user message as policy cleared it, kept only
	// when the rule says record_prompts and the request carries no data
	// class (for `fulcrum shadow export --format route-train`).
	Prompt string `json:"prompt,omitempty"`
}

// ShadowFilter selects shadow results. Zero fields do not filter.
type ShadowFilter struct {
	// From is inclusive, To exclusive.
	From, To  time.Time
	Candidate string
	Route     string
	// Limit caps the rows returned; 0 means 100000.
	Limit int
}

// Shadows is implemented by stores that keep shadow comparisons (both
// store/sqlite and store/postgres do).
type Shadows interface {
	// InsertShadow stores results in one transaction.
	InsertShadow(ctx context.Context, rows []ShadowResult) error
	// ShadowResults lists results matching f, oldest first.
	ShadowResults(ctx context.Context, f ShadowFilter) ([]ShadowResult, error)
}
