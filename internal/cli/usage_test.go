package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/fulcrumhq/fulcrum/internal/advise"
	"github.com/fulcrumhq/fulcrum/internal/savings"
	"github.com/fulcrumhq/fulcrum/internal/store"
	"github.com/fulcrumhq/fulcrum/internal/store/open"
)

// opFixture is a SQLite store in a temp dir and a config file pointing at it.
type opFixture struct {
	dbPath, cfgPath string
}

func newOpFixture(t *testing.T) *opFixture {
	t.Helper()
	dir := t.TempDir()
	fx := &opFixture{dbPath: filepath.Join(dir, "data", "fulcrum.db"), cfgPath: filepath.Join(dir, "fulcrum.yaml")}
	cfg := "storage:\n  url: sqlite://" + fx.dbPath + "\nlogging: { level: warn }\n"
	if err := os.WriteFile(fx.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return fx
}

// store opens (and migrates) the fixture's store; the test closes it.
func (fx *opFixture) store(t *testing.T) store.Store {
	t.Helper()
	st, err := open.Store(context.Background(), "sqlite://"+fx.dbPath, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// opRun runs the fulcrum command line and returns stdout, stderr and the error.
func opRun(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := Main(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), err
}

var day1 = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)

// seedUsage stores records whose sums are worked out by hand in the tests.
func seedUsage(t *testing.T, fx *opFixture) {
	t.Helper()
	recs := []store.UsageRecord{
		// gpt-4 at $30/$60 per M: 1000 in + 500 out = $0.03 + $0.03.
		{Time: day1, RequestID: "r1", Attempt: 1, KeyID: "k1", Team: "a", Model: "gpt-4", Provider: "openai", UpstreamModel: "gpt-4",
			Hosting: "proprietary", Status: 200, InputTokens: 1000, OutputTokens: 500, CostNanos: 60_000_000},
		{Time: day1.Add(time.Hour), RequestID: "r2", Attempt: 1, KeyID: "k1", Team: "a", Model: "gpt-4", Provider: "openai", UpstreamModel: "gpt-4",
			Hosting: "proprietary", Status: 200, InputTokens: 2000, OutputTokens: 100, CachedTokens: 500, ReasoningTokens: 40,
			CostNanos: 123_456_789, Estimated: true},
		{Time: day1.Add(23 * time.Hour), RequestID: "r3", Attempt: 1, KeyID: "k2", Team: "b", Model: "llama", Provider: "ollama", UpstreamModel: "llama3",
			Hosting: "self_hosted", Status: 200, InputTokens: 2000, OutputTokens: 1000, CostNanos: 500_000, ReferenceCostNanos: 15_000_000},
		// A failed attempt and its retry.
		{Time: day1.Add(24 * time.Hour), RequestID: "r4", Attempt: 1, KeyID: "k2", Team: "b", Model: "gpt-4", Provider: "openai", UpstreamModel: "gpt-4",
			Hosting: "proprietary", Status: 429, ErrorCode: "rate_limit_exceeded"},
		{Time: day1.Add(24*time.Hour + time.Second), RequestID: "r4", Attempt: 2, KeyID: "k2", Team: "b", Model: "gpt-4", Provider: "openai", UpstreamModel: "gpt-4",
			Hosting: "proprietary", Status: 200, InputTokens: 10, OutputTokens: 10, CostNanos: 1},
		// A route served by both hosting kinds: savings count the self-hosted part only.
		{Time: day1.Add(25 * time.Hour), RequestID: "r5", Attempt: 1, KeyID: "k2", Team: "b", Model: "chat", Provider: "ollama", UpstreamModel: "llama3",
			Hosting: "self_hosted", Status: 200, InputTokens: 100, OutputTokens: 100, CostNanos: 1_000_000, ReferenceCostNanos: 3_000_000},
		{Time: day1.Add(26 * time.Hour), RequestID: "r6", Attempt: 1, KeyID: "k2", Team: "b", Model: "chat", Provider: "openai", UpstreamModel: "gpt-4o",
			Hosting: "proprietary", Status: 200, InputTokens: 100, OutputTokens: 100, CostNanos: 7_000_000},
	}
	st := fx.store(t)
	defer st.Close()
	if n, err := st.InsertUsage(context.Background(), recs); err != nil || n != len(recs) {
		t.Fatalf("InsertUsage = %d, %v", n, err)
	}
}

func parseCSV(t *testing.T, s string) [][]string {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(s)).ReadAll()
	if err != nil {
		t.Fatalf("malformed CSV: %v\n%s", err, s)
	}
	return rows
}

func TestUsageCSV(t *testing.T) {
	fx := newOpFixture(t)
	seedUsage(t, fx)
	head := func(groups ...string) []string { return append(groups, usageNumCols...) }
	tests := []struct {
		name string
		args []string
		want [][]string
	}{
		{
			name: "by model",
			args: []string{"--group-by", "model"},
			want: [][]string{
				head("model"),
				{"chat", "2", "200", "200", "0", "0", "0.008", "0.003", "0.002", "0", "0"},
				// 60,000,000 + 123,456,789 + 0 + 1 nanodollars, exactly.
				{"gpt-4", "4", "3010", "610", "500", "40", "0.18345679", "", "", "1", "1"},
				{"llama", "1", "2000", "1000", "0", "0", "0.0005", "0.015", "0.0145", "0", "0"},
			},
		},
		{
			name: "by key and day since a date",
			args: []string{"--group-by", "key,day", "--since", "2026-11-02"},
			want: [][]string{
				head("key", "day"),
				{"k2", "2026-11-02", "5", "2210", "1210", "0", "0", "0.008500001", "0.018", "0.0165", "0", "1"},
			},
		},
		{
			name: "by team until a time",
			args: []string{"--group-by", "team", "--until", "2026-11-01T11:00:00Z"},
			want: [][]string{
				head("team"),
				{"a", "1", "1000", "500", "0", "0", "0.06", "", "", "0", "0"},
			},
		},
		{
			name: "key filter, one total",
			args: []string{"--group-by", "", "--key", "k1"},
			want: [][]string{
				head(),
				{"2", "3000", "600", "500", "40", "0.183456789", "", "", "1", "0"},
			},
		},
		{
			name: "model filter by hosting and provider",
			args: []string{"--model", "chat", "--group-by", "hosting,provider"},
			want: [][]string{
				head("hosting", "provider"),
				{"proprietary", "openai", "1", "100", "100", "0", "0", "0.007", "", "", "0", "0"},
				{"self_hosted", "ollama", "1", "100", "100", "0", "0", "0.001", "0.003", "0.002", "0", "0"},
			},
		},
		{
			name: "nothing matches",
			args: []string{"--key", "nobody"},
			want: [][]string{head("model")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"usage", "--config", fx.cfgPath, "--format", "csv"}, tt.args...)
			out, stderr, err := opRun(t, args...)
			if err != nil {
				t.Fatalf("usage: %v\n%s", err, stderr)
			}
			if diff := cmp.Diff(tt.want, parseCSV(t, out)); diff != "" {
				t.Errorf("usage CSV (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUsageJSON(t *testing.T) {
	fx := newOpFixture(t)
	seedUsage(t, fx)
	out, stderr, err := opRun(t, "usage", "-c", fx.cfgPath, "--group-by", "provider", "--format", "json")
	if err != nil {
		t.Fatalf("usage: %v\n%s", err, stderr)
	}
	var got struct {
		GroupBy []string       `json:"group_by"`
		Rows    []usageJSONRow `json:"rows"`
		Total   usageJSONRow   `json:"total"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("malformed JSON: %v\n%s", err, out)
	}
	ref := int64(18_000_000)
	sav := ref - 1_500_000
	want := []usageJSONRow{
		{Group: map[string]string{"provider": "ollama"}, Requests: 2, InputTokens: 2100, OutputTokens: 1100,
			CostNanos: 1_500_000, Cost: "0.0015", ReferenceCostNanos: &ref, SavingsNanos: &sav, Savings: "0.0165"},
		{Group: map[string]string{"provider": "openai"}, Requests: 5, InputTokens: 3110, OutputTokens: 710, CachedTokens: 500,
			ReasoningTokens: 40, CostNanos: 190_456_790, Cost: "0.19045679", Estimated: 1, Errors: 1},
	}
	if diff := cmp.Diff(want, got.Rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if got.Total.CostNanos != 191_956_790 || got.Total.Cost != "0.19195679" || got.Total.Requests != 7 {
		t.Errorf("total = %+v, want 7 requests, 191956790 nanodollars", got.Total)
	}
	if diff := cmp.Diff([]string{"provider"}, got.GroupBy); diff != "" {
		t.Errorf("group_by (-want +got):\n%s", diff)
	}
}

func TestUsageTable(t *testing.T) {
	fx := newOpFixture(t)
	seedUsage(t, fx)
	out, stderr, err := opRun(t, "usage", "--config", fx.cfgPath, "--group-by", "team")
	if err != nil {
		t.Fatalf("usage: %v\n%s", err, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var got [][]string
	for _, l := range lines {
		got = append(got, strings.Fields(l))
	}
	want := [][]string{
		{"TEAM", "REQUESTS", "INPUT", "OUTPUT", "CACHED", "REASONING", "COST", "$", "REFERENCE", "$", "SAVINGS", "$", "ESTIMATED", "ERRORS"},
		{"a", "2", "3000", "600", "500", "40", "0.183456789", "-", "-", "1", "0"},
		{"b", "5", "2210", "1210", "0", "0", "0.008500001", "0.018", "0.0165", "0", "1"},
		{"TOTAL", "7", "5210", "1810", "500", "40", "0.19195679", "0.018", "0.0165", "1", "1"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("table (-want +got):\n%s\n%s", diff, out)
	}
}

func TestUsageErrors(t *testing.T) {
	fx := newOpFixture(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown group", []string{"--group-by", "colour"}, `unknown dimension "colour"`},
		{"bad format", []string{"--format", "xml"}, "--format must be table, csv, json"},
		{"bad since", []string{"--since", "yesterday"}, "--since"},
		{"since after until", []string{"--since", "2026-11-02", "--until", "2026-11-01"}, "is not before"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := opRun(t, append([]string{"usage", "--config", fx.cfgPath}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestParseWhen(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 30, 0, 0, time.UTC)
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{in: "", want: time.Time{}},
		{in: "24h", want: now.Add(-24 * time.Hour)},
		{in: "90m", want: now.Add(-90 * time.Minute)},
		{in: "7d", want: now.AddDate(0, 0, -7)},
		{in: "2w", want: now.AddDate(0, 0, -14)},
		{in: "2026-11-01", want: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
		{in: "2026-11-01T10:00:00+01:00", want: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)},
		{in: "-3d", wantErr: true},
		{in: "-1h", wantErr: true},
		{in: "d", wantErr: true},
		{in: "last week", wantErr: true},
		{in: "2026-13-01", wantErr: true},
	}
	for _, tt := range tests {
		got, err := store.ParseWhen(tt.in, now)
		if (err != nil) != tt.wantErr {
			t.Errorf("parseWhen(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if !got.Equal(tt.want) {
			t.Errorf("parseWhen(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestUsageRelativeSince(t *testing.T) {
	fx := newOpFixture(t)
	now := time.Now().UTC()
	st := fx.store(t)
	_, err := st.InsertUsage(context.Background(), []store.UsageRecord{
		{Time: now.Add(-time.Hour), RequestID: "recent", Attempt: 1, Model: "m", Hosting: "proprietary", Status: 200, CostNanos: 7},
		{Time: now.Add(-49 * time.Hour), RequestID: "old", Attempt: 1, Model: "m", Hosting: "proprietary", Status: 200, CostNanos: 1000},
	})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ since, wantCost string }{
		{"24h", "0.000000007"},
		{"2d", "0.000000007"},
		{"3d", "0.000001007"},
		{"", "0.000001007"},
	}
	for _, tt := range tests {
		out, _, err := opRun(t, "usage", "-c", fx.cfgPath, "--since", tt.since, "--group-by", "", "--format", "csv")
		if err != nil {
			t.Fatal(err)
		}
		if rows := parseCSV(t, out); len(rows) != 2 || rows[1][5] != tt.wantCost {
			t.Errorf("--since %q: got %q, want cost %s", tt.since, rows, tt.wantCost)
		}
	}
}

// GPU rent is amortised over the report's period and shared by output
// tokens; the SELF-HOSTED table shows the hand computation's figures.
func TestUsageAmortisesGPURent(t *testing.T) {
	fx := newOpFixture(t)
	cfg := "storage:\n  url: sqlite://" + fx.dbPath + "\nlogging: { level: warn }\n" +
		"providers:\n  - name: gpu\n    type: openai\n    base_url: http://127.0.0.1:1/v1\n    hosting: self_hosted\n" +
		"    cost: { gpu_hourly_usd: 2.5, gpus: 2 }\n" +
		"models:\n  - name: mixtral\n    provider: gpu\n    upstream: mixtral\n"
	if err := os.WriteFile(fx.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	st := fx.store(t)
	// Recorded by the throughput model: $3.60 in all, not what the GPUs cost.
	recs := []store.UsageRecord{
		{Time: day1.Add(time.Hour), RequestID: "g1", Attempt: 1, KeyID: "k1", Model: "mixtral", Provider: "gpu", Hosting: "self_hosted",
			Status: 200, LatencyMS: 1800_000, OutputTokens: 1000, CostNanos: 900_000_000, ReferenceCostNanos: 10_000_000},
		{Time: day1.Add(2 * time.Hour), RequestID: "g2", Attempt: 1, KeyID: "k2", Model: "mixtral", Provider: "gpu", Hosting: "self_hosted",
			Status: 200, LatencyMS: 1800_000, OutputTokens: 3000, CostNanos: 2_700_000_000, ReferenceCostNanos: 30_000_000},
		{Time: day1.Add(3 * time.Hour), RequestID: "o1", Attempt: 1, KeyID: "k1", Model: "gpt-4", Provider: "openai", Hosting: "proprietary",
			Status: 200, OutputTokens: 10, CostNanos: 7},
	}
	if _, err := st.InsertUsage(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	st.Close()
	// 10 hours × 2 GPUs × $2.50 = $50 of rent; k1 served 1,000 of the
	// 4,000 output tokens: $12.50; k2 $37.50. k1's row adds its $0.000000007
	// of OpenAI. Busy: 3,600 s of attempts in 36,000 s = 10%.
	out, _, err := opRun(t, "usage", "--config", fx.cfgPath, "--since", day1.Format(time.RFC3339),
		"--until", day1.Add(10*time.Hour).Format(time.RFC3339), "--group-by", "key", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Rows []struct {
			Group     map[string]string
			CostNanos int64 `json:"cost_nanos"`
		}
		SelfHosted []rentLine `json:"self_hosted"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 2 || rep.Rows[0].CostNanos != 12_500_000_007 || rep.Rows[1].CostNanos != 37_500_000_000 {
		t.Fatalf("rows = %+v, want k1 $12.500000007, k2 $37.50", rep.Rows)
	}
	if len(rep.SelfHosted) != 1 {
		t.Fatalf("self_hosted = %+v", rep.SelfHosted)
	}
	l := rep.SelfHosted[0]
	// $50 per 4,000 tokens = $12,500 per million; a 730-hour month of rent
	// ($3,650) at the reference's $0.00001 per output token = 365 M tokens.
	if l.RentNanos != 50_000_000_000 || l.OutputTokens != 4000 || l.Busy != 0.1 || l.PerMillionNanos != 12_500_000_000_000 ||
		l.RecordedNanos != 3_600_000_000 || l.BreakEvenTokens != 365_000_000 {
		t.Errorf("self-hosted line = %+v", l)
	}
	out, _, err = opRun(t, "usage", "--config", fx.cfgPath, "--since", day1.Format(time.RFC3339),
		"--until", day1.Add(10*time.Hour).Format(time.RFC3339), "--group-by", "key", "--self-hosted-cost", "recorded", "--format", "json")
	if tbl, _, _ := opRun(t, "usage", "--config", fx.cfgPath, "--since", day1.Format(time.RFC3339), "--until", day1.Add(10*time.Hour).Format(time.RFC3339)); !strings.Contains(tbl, "SELF-HOSTED") || !strings.Contains(tbl, "50.00") {
		t.Errorf("table has no SELF-HOSTED section with the rent:\n%s", tbl)
	} else {
		t.Log(tbl)
	}
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `"cost_nanos": 900000007`) && !strings.Contains(out, `"cost_nanos":900000007`) {
		t.Errorf("recorded costs not kept with --self-hosted-cost recorded:\n%s", out)
	}
}

// TestUsageTagAndUserFilters: --tag (repeatable, AND) and --user keep the
// records the matching row of --group-by tag:NAME / user counts; bad
// values are errors that name the flag.
func TestUsageTagAndUserFilters(t *testing.T) {
	fx := newOpFixture(t)
	rec := func(id string, cost int64, user string, tags map[string]string) store.UsageRecord {
		return store.UsageRecord{Time: day1, RequestID: id, Attempt: 1, KeyID: "k1", Model: "gpt-4", Provider: "openai",
			Hosting: "proprietary", Status: 200, InputTokens: 10, OutputTokens: 5, CostNanos: cost, EndUser: user, Tags: tags}
	}
	st := fx.store(t)
	if _, err := st.InsertUsage(context.Background(), []store.UsageRecord{
		rec("a", 1_000_000, "alice", map[string]string{"team": "search", "feature": "chat"}),
		rec("b", 20_000, "bob", map[string]string{"team": "search"}),
		rec("c", 300, "alice", map[string]string{"team": "ads", "feature": "chat"}),
		rec("d", 4, "", nil),
	}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	total := func(args ...string) [][]string {
		t.Helper()
		out, stderr, err := opRun(t, append([]string{"usage", "-c", fx.cfgPath, "--format", "csv", "--group-by", "model"}, args...)...)
		if err != nil {
			t.Fatalf("usage %q: %v\n%s", args, err, stderr)
		}
		return parseCSV(t, out)[1:]
	}
	row := func(n, cost string) [][]string {
		return [][]string{{"gpt-4", n, "", "", "0", "0", cost, "", "", "0", "0"}}
	}
	tests := []struct {
		args []string
		want [][]string
	}{
		{[]string{"--tag", "team=search"}, row("2", "0.00102")},
		{[]string{"--tag", "feature=chat"}, row("2", "0.0010003")},
		{[]string{"--tag", "team=search", "--tag", "feature=chat"}, row("1", "0.001")},
		{[]string{"--tag", "team=ads", "--tag", "feature=none"}, nil},
		{[]string{"--tag", "feature="}, row("2", "0.000020004")},
		{[]string{"--user", "alice"}, row("2", "0.0010003")},
		{[]string{"--user", "alice", "--tag", "team=ads"}, row("1", "0.0000003")},
	}
	for _, tt := range tests {
		got := total(tt.args...)
		for _, r := range got {
			r[2], r[3] = "", "" // tokens: not what is checked
		}
		if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tt.args, diff)
		}
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--tag", "team"}, "--tag: "},
		{[]string{"--tag", "bad'key=x"}, "invalid tag name"},
		{[]string{"--tag", "team=a", "--tag", "team=b"}, "given twice"},
		{[]string{"--user", ""}, "--user: empty"},
	} {
		_, _, err := opRun(t, append([]string{"usage", "-c", fx.cfgPath}, tt.args...)...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("usage %q: %v, want an error with %q", tt.args, err, tt.want)
		}
	}
}

// TestUsageUserCap: with metering.retention.rollup_end_users set, fulcrum
// usage names end users as the gateway's rollups do (a day's users beyond
// the cap under "(other)"), by --group-by user and by --user, and reads
// them from the rollups once the raw rows are pruned.
func TestUsageUserCap(t *testing.T) {
	fx := newOpFixture(t)
	cfg, err := os.ReadFile(fx.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg = append(cfg, "metering:\n  retention:\n    rollup_end_users: 2\n"...)
	if err := os.WriteFile(fx.cfgPath, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	st := fx.store(t)
	st.(interface{ SetEndUsersPerDay(int) }).SetEndUsersPerDay(2) // as the gateway that wrote them
	var recs []store.UsageRecord
	for i, u := range []string{"ann", "bob", "cid", "ann"} {
		recs = append(recs, store.UsageRecord{Time: day1.Add(time.Duration(i) * time.Minute), RequestID: u + strconv.Itoa(i),
			Attempt: 1, KeyID: "k1", Model: "gpt-4", Provider: "openai", Hosting: "proprietary", Status: 200,
			CostNanos: int64(1000 * (i + 1)), EndUser: u})
	}
	if _, err := st.InsertUsage(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	rows := func() [][]string {
		t.Helper()
		var got [][]string
		for _, args := range [][]string{{"--group-by", "user"}, {"--group-by", "", "--user", "ann"},
			{"--group-by", "", "--user", "cid"}, {"--group-by", "", "--user", "(other)"}} {
			out, stderr, err := opRun(t, append([]string{"usage", "-c", fx.cfgPath, "--format", "csv", "--since", "2026-11-01",
				"--until", "2026-11-02"}, args...)...)
			if err != nil {
				t.Fatalf("usage %q: %v\n%s", args, err, stderr)
			}
			for _, r := range parseCSV(t, out)[1:] {
				got = append(got, append([]string{args[len(args)-1]}, r[:len(r)-9]...)) // the keys and requests
			}
		}
		return got
	}
	want := [][]string{{"user", "(other)", "1"}, {"user", "ann", "2"}, {"user", "bob", "1"}, {"ann", "2"}, {"(other)", "1"}}
	if diff := cmp.Diff(want, rows()); diff != "" {
		t.Errorf("before pruning (-want +got):\n%s", diff)
	}
	// The raw rows pruned: the rollups answer, alike.
	if _, err := st.(store.Retention).Prune(context.Background(), store.KindUsage, day1.Add(24*time.Hour), 1000, false); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if diff := cmp.Diff(want, rows()); diff != "" {
		t.Errorf("after pruning the raw rows (-want +got):\n%s", diff)
	}
}

// A provider idle all period still paid its rent: the report's total
// includes it, in a row of its own, unless the report is narrowed to a
// key (idle GPUs are nobody's). 4 hours × 2 GPUs × $2.50 = $20; the only
// record in the period is OpenAI's $0.000000007. Before, the total read
// $0.00 beside a SELF-HOSTED line of $20.
func TestUsageIdleRentIsInTheTotal(t *testing.T) {
	fx := newOpFixture(t)
	cfg := "storage:\n  url: sqlite://" + fx.dbPath + "\nlogging: { level: warn }\n" +
		"providers:\n  - name: gpu\n    type: openai\n    base_url: http://127.0.0.1:1/v1\n    hosting: self_hosted\n" +
		"    cost: { gpu_hourly_usd: 2.5, gpus: 2 }\n" +
		"models:\n  - name: mixtral\n    provider: gpu\n    upstream: mixtral\n"
	if err := os.WriteFile(fx.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	st := fx.store(t)
	recs := []store.UsageRecord{{Time: day1.Add(time.Hour), RequestID: "o1", Attempt: 1, KeyID: "k1", Model: "gpt-4", Provider: "openai",
		Hosting: "proprietary", Status: 200, OutputTokens: 10, CostNanos: 7}}
	if _, err := st.InsertUsage(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	st.Close()
	period := []string{"usage", "--config", fx.cfgPath, "--since", day1.Format(time.RFC3339), "--until", day1.Add(4 * time.Hour).Format(time.RFC3339), "--format", "json"}
	var rep struct {
		Rows []struct {
			Group     map[string]string
			CostNanos int64 `json:"cost_nanos"`
		}
		Total struct {
			CostNanos int64 `json:"cost_nanos"`
		}
	}
	out, _, err := opRun(t, append(period, "--group-by", "model")...)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Total.CostNanos != 20_000_000_007 || len(rep.Rows) != 2 || rep.Rows[1].CostNanos != 20_000_000_000 || rep.Rows[1].Group["model"] != "(idle) gpu" {
		t.Errorf("total %d, rows %+v; want $20.000000007 with an (idle) gpu row of $20", rep.Total.CostNanos, rep.Rows)
	}
	out, _, err = opRun(t, append(period, "--key", "k1")...)
	if err != nil {
		t.Fatal(err)
	}
	rep.Rows = nil
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Total.CostNanos != 7 {
		t.Errorf("--key k1: total %d, want 7 (idle rent is no key's)", rep.Total.CostNanos)
	}
}

// TestOneMonthEverywhere: the advisor prices GPU rent over a 730-hour
// month; the savings ledger and the usage break-even project over the
// same month, so one GPU at $2.69/h is $1,963.70 a month in every report
// (a 30-day month would make it $1,936.80 in two of them).
func TestOneMonthEverywhere(t *testing.T) {
	if savings.Month != advise.HoursPerMonth*time.Hour {
		t.Errorf("savings.Month = %v, advise month = %d h", savings.Month, advise.HoursPerMonth)
	}
	if got := advise.GPUMonthlyUSD(2.69, 1); got < 1963.699 || got > 1963.701 {
		t.Errorf("advise: one H100 month = %v, want 1963.70", got)
	}
	// A month of rent in the ledger: 730 h at $2.69, $0 reference.
	l := savings.Compute(savings.Provider{GPUHourlyUSD: 2.69, GPUs: 1}, time.Unix(0, 0), time.Unix(0, 0).Add(savings.Month), savings.Served{})
	if l.PaidNanos != 1_963_700_000_000 || l.MonthlySavingsNanos != -1_963_700_000_000 {
		t.Errorf("savings: paid %d, monthly %d; want $1,963.70 both", l.PaidNanos, l.MonthlySavingsNanos)
	}
}
