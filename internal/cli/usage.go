package cli

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/fulcrumhq/fulcrum/internal/app"
	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/meter"
	"github.com/fulcrumhq/fulcrum/internal/store"
	"github.com/fulcrumhq/fulcrum/internal/store/open"
)

// operatorStore loads the config at cfgPath (embedded defaults when empty)
// and opens, and migrates, its store, creating it when there is none
// (sqlite.Open creates the data directory): for `fulcrum keys`, whose
// first key may come before the gateway's first start.
func operatorStore(ctx context.Context, e *env, cfgPath string) (store.Store, *config.Config, error) {
	return openOperatorStore(ctx, e, cfgPath, open.Store)
}

// recordsStore is operatorStore for the commands that read or maintain
// records (usage, audit, savings, shadow, store): a store that does not
// exist is an error, not an empty store reported on (open.Existing).
func recordsStore(ctx context.Context, e *env, cfgPath string) (store.Store, *config.Config, error) {
	return openOperatorStore(ctx, e, cfgPath, open.Existing)
}

func openOperatorStore(ctx context.Context, e *env, cfgPath string,
	opener func(context.Context, string, *slog.Logger) (store.Store, error)) (store.Store, *config.Config, error) {
	cfg, err := operatorConfig(e, cfgPath)
	if err != nil {
		return nil, nil, err
	}
	st, err := opener(ctx, cfg.Storage.URL, app.NewLogger(cfg.Logging, e.stderr))
	if err != nil {
		return nil, nil, fmt.Errorf("storage: %w", err)
	}
	// As the gateway does: summaries by (or filtered to) an end user read
	// the attribution rollups and name users as they do only with the
	// configured cap; without it they would read raw rows only, under
	// names the gateway's own reports do not give.
	if c, ok := st.(interface{ SetEndUsersPerDay(int) }); ok {
		c.SetEndUsersPerDay(cfg.Metering.Retention.RollupEndUsers)
	}
	return st, cfg, nil
}

// operatorConfig loads the config for commands that read and maintain the
// records (usage, audit, store, keys): they need the storage settings, not
// the providers', so a ${VAR} that is not set (a provider key on an
// auditor's machine) stops them only when storage uses it, and problems
// outside storage are not theirs to report.
func operatorConfig(e *env, path string) (*config.Config, error) {
	if path == "" {
		return loadConfig(e, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	b = unsetRef.ReplaceAllFunc(b, func(ref []byte) []byte {
		name := string(ref[2 : len(ref)-1])
		if _, ok := e.lookup(name); ok {
			return ref
		}
		return []byte(unsetMark + name + "__")
	})
	cfg, err := config.Parse(b, e.lookup)
	var verr *config.ValidationError
	if err != nil && !errors.As(err, &verr) {
		return nil, err
	}
	var errs []error
	if verr != nil {
		for _, e := range verr.Errs {
			if strings.HasPrefix(e.Error(), "storage") {
				errs = append(errs, e)
			}
		}
	}
	for _, f := range []struct{ name, v string }{{"storage.url", cfg.Storage.URL}, {"storage.data_dir", cfg.Storage.DataDir}} {
		if _, name, ok := strings.Cut(f.v, unsetMark); ok {
			name, _, _ = strings.Cut(name, "__")
			errs = append(errs, fmt.Errorf("%s: environment variable %s is not set", f.name, name))
		}
	}
	if len(errs) > 0 {
		return nil, &config.ValidationError{Errs: errs}
	}
	return cfg, nil
}

// unsetRef is a ${VAR} reference without a default; unsetMark replaces the
// ones whose variable is not set.
var unsetRef = regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*\}`)

const unsetMark = "__FULCRUM_UNSET_VARIABLE_"

// timeRange parses --since and --until against now.
func timeRange(since, until string, now time.Time) (from, to time.Time, err error) {
	if from, err = store.ParseWhen(since, now); err != nil {
		return from, to, fmt.Errorf("--since: %w", err)
	}
	if to, err = store.ParseWhen(until, now); err != nil {
		return from, to, fmt.Errorf("--until: %w", err)
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return from, to, fmt.Errorf("--since %s is not before --until %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	return from, to, nil
}

// dollars formats nanodollars exactly as a decimal number of dollars
// without the sign "$": "0.06", "-1.50", "0.000123".
func dollars(n int64) string {
	return strings.Replace(meter.Nanos(n).String(), "$", "", 1)
}

// checkChoice reports a flag whose value is not one of allowed.
func checkChoice(flag, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return fmt.Errorf("--%s must be %s, not %q", flag, strings.Join(allowed, ", "), v)
}

// usageRow is one line of the usage report. SelfCostNanos is the cost of
// the row's self-hosted records alone, so that savings (reference cost −
// self-hosted cost) are right on rows that mix hosting kinds.
type usageRow struct {
	store.UsageGroup
	SelfRequests  int64
	SelfCostNanos int64
}

func (r *usageRow) add(g *store.UsageGroup, selfHosted bool) {
	r.Requests += g.Requests
	r.InputTokens += g.InputTokens
	r.OutputTokens += g.OutputTokens
	r.CachedTokens += g.CachedTokens
	r.ReasoningTokens += g.ReasoningTokens
	r.CostNanos += g.CostNanos
	r.ReferenceCostNanos += g.ReferenceCostNanos
	r.Estimated += g.Estimated
	r.Errors += g.Errors
	if selfHosted {
		r.SelfRequests += g.Requests
		r.SelfCostNanos += g.CostNanos
	}
}

// savings is reference cost − self-hosted cost; ok is false for rows
// without self-hosted records.
func (r *usageRow) savings() (int64, bool) {
	return r.ReferenceCostNanos - r.SelfCostNanos, r.SelfRequests > 0
}

// usageWarning is a part of a report's range that it cannot answer, and
// why. From is nil for "from the first record".
type usageWarning struct {
	From    *time.Time `json:"from,omitempty"`
	To      time.Time  `json:"to"`
	Message string     `json:"message"`
}

// userGap says which part of f's range a summary by end user (or
// filtered to one) leaves out. The attribution rollups name no end user
// when metering.retention.rollup_end_users is 0 (the default), so such
// summaries read raw rows only, and the months whose raw rows were pruned
// are missing from them: silently, until now. nil when nothing is
// missing.
func userGap(ctx context.Context, st store.Store, userCap int, f store.UsageFilter, by []store.GroupBy) (*usageWarning, error) {
	flag := ""
	switch {
	case slices.Contains(by, store.ByUser):
		flag = "--group-by user"
	case f.EndUser != "":
		flag = "--user"
	}
	m, ok := st.(store.Marks)
	if flag == "" || userCap > 0 || !ok {
		return nil, nil
	}
	cut, err := m.PrunedBefore(ctx, store.KindUsage)
	if err != nil || cut.IsZero() || (!f.From.IsZero() && !f.From.Before(cut)) {
		return nil, err
	}
	w := &usageWarning{To: cut}
	if !f.To.IsZero() && f.To.Before(cut) {
		w.To = f.To
	}
	from := "the first record"
	if !f.From.IsZero() {
		w.From = &f.From
		from = f.From.UTC().Format(time.RFC3339)
	}
	w.Message = fmt.Sprintf("%s: %s to %s is not in this report: end users are read from the raw records only "+
		"(metering.retention.rollup_end_users is 0, so the rollups name none), and those before %s were pruned",
		flag, from, w.To.UTC().Format(time.RFC3339), cut.UTC().Format(time.RFC3339))
	return w, nil
}

// countedSpan is the range a report counts when it is wider than the one
// asked for. From or To is nil where that edge is as asked.
type countedSpan struct {
	From    *time.Time `json:"from,omitempty"`
	To      *time.Time `json:"to,omitempty"`
	Message string     `json:"message"`
}

// countedRange says how a summary widens f's range: an edge where the raw
// records were pruned is counted from the whole hour (or day, where the
// hourly rollups were pruned too) that holds it, so the report holds at
// least what was asked for; only the docs said so. nil when it counts f's
// range as it is.
func countedRange(ctx context.Context, st store.Store, f store.UsageFilter, by []store.GroupBy) (*countedSpan, error) {
	wd, ok := st.(store.Widener)
	if !ok {
		return nil, nil
	}
	from, to, err := wd.CountedRange(ctx, f, by)
	if err != nil {
		return nil, err
	}
	c := &countedSpan{}
	var parts []string
	if !from.Equal(f.From) {
		c.From = &from
		parts = append(parts, fmt.Sprintf("from %s (not %s)", from.UTC().Format(time.RFC3339), f.From.UTC().Format(time.RFC3339)))
	}
	if !to.Equal(f.To) {
		c.To = &to
		parts = append(parts, fmt.Sprintf("to %s (not %s)", to.UTC().Format(time.RFC3339), f.To.UTC().Format(time.RFC3339)))
	}
	if len(parts) == 0 {
		return nil, nil
	}
	c.Message = "the raw records at the range's edges were pruned, so the report counts the whole hours (or days) " +
		"the rollups keep: " + strings.Join(parts, " and ")
	return c, nil
}

// summarise runs UsageSummary grouped by by plus hosting (unless by has
// it), then folds the hosting split back in, keeping each row's
// self-hosted cost. All sums are integers.
func summarise(ctx context.Context, st store.Store, f store.UsageFilter, by []store.GroupBy) ([]usageRow, error) {
	hostingAt := -1
	for i, g := range by {
		if g == store.ByHosting {
			hostingAt = i
		}
	}
	q := by
	if hostingAt < 0 {
		hostingAt = len(by)
		q = append(append([]store.GroupBy{}, by...), store.ByHosting)
	}
	groups, err := st.UsageSummary(ctx, f, q)
	if err != nil {
		return nil, err
	}
	var rows []usageRow
	for i := range groups {
		g := &groups[i]
		keys := g.Keys[:len(by)]
		if hostingAt == len(by) {
			// Rows come ordered by every column, so the hosting split of one
			// group is adjacent.
			if n := len(rows); n == 0 || !equalKeys(rows[n-1].Keys, keys) {
				rows = append(rows, usageRow{UsageGroup: store.UsageGroup{Keys: keys}})
			}
		} else {
			rows = append(rows, usageRow{UsageGroup: store.UsageGroup{Keys: keys}})
		}
		rows[len(rows)-1].add(g, g.Keys[hostingAt] == config.SelfHosted)
	}
	return rows, nil
}

func equalKeys(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func parseGroupBy(s string) ([]store.GroupBy, error) {
	var by []store.GroupBy
	seen := map[store.GroupBy]bool{}
	for _, p := range strings.Split(s, ",") {
		g := store.GroupBy(strings.TrimSpace(p))
		if g == "" {
			continue
		}
		if !store.ValidGroupBy(g) {
			return nil, fmt.Errorf("--group-by: unknown dimension %q (want %s)", g, store.GroupByNames)
		}
		if !seen[g] {
			seen[g] = true
			by = append(by, g)
		}
	}
	return by, nil
}

func usageCmd(e *env) *cobra.Command {
	var (
		cfgPath, since, until, groupBy, format, shCost string
		tags                                           []string
		f                                              store.UsageFilter
	)
	cmd := &cobra.Command{
		Use:   "usage",
		Short: "Report requests, tokens and cost from the usage records",
		Long: `Report requests, tokens and cost from the stored usage records, grouped by any
of key, team, model, provider, hosting and day (UTC), and by end user (user)
or request tag (tag:team for the tag team=..., from x-fulcrum-tags or OpenAI
metadata). Tags are read from the attribution rollups for whole hours and
days (so they cover the rollups' retention) and from the per-second and
per-minute rollups at the edges; end users from the raw records only (usage
retention), unless
metering.retention.rollup_end_users makes the rollups name them.

--tag NAME=VALUE (repeatable: every one must match) and --user ID keep only
the matching records; each gives exactly the row that --group-by tag:NAME or
--group-by user would show for that value, read the same way. --tag NAME=
keeps the records without the tag. --user over a range whose raw records were
pruned counts only the raw records kept (as --group-by user does, and both
warn, naming the part left out), unless the rollups name end users; then a user beyond a day's cap is counted under
--user "(other)" that day. Costs are exact sums of
the records' nanodollars. For rows with self-hosted records, "reference" is what
the same tokens would have cost on the configured reference model and
"savings" is reference minus the self-hosted cost.

Self-hosted providers that bill by GPU time (cost.gpu_hourly_usd) are charged
their rent over the report's period (--since to --until, default now; without
--since from the provider's oldest record), shared among the rows by output
tokens, so idle time is paid for by the period's tokens as a whole; a
SELF-HOSTED table shows each one's rent, output tokens, rent per million
output tokens, busy share and the monthly output above which it is cheaper than
its reference model. --self-hosted-cost recorded shows the recorded costs
instead (the throughput model, see docs/metering.md).

--since and --until take a duration back from now (24h, 7d, 2w), a UTC date
(2026-11-01) or an RFC 3339 time; --since is inclusive, --until exclusive.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkChoice("format", format, "table", "csv", "json"); err != nil {
				return err
			}
			by, err := parseGroupBy(groupBy)
			if err != nil {
				return err
			}
			if err := checkChoice("self-hosted-cost", shCost, "amortised", "recorded"); err != nil {
				return err
			}
			if f.Tags, err = store.ParseTagFilter(tags); err != nil {
				return fmt.Errorf("--tag: %w", err)
			}
			if cmd.Flags().Changed("user") && f.EndUser == "" {
				return errors.New(`--user: empty; records without an end user are the "" row of --group-by user`)
			}
			now := time.Now()
			if f.From, f.To, err = timeRange(since, until, now); err != nil {
				return err
			}
			st, cfg, err := recordsStore(cmd.Context(), e, cfgPath)
			if err != nil {
				return err
			}
			defer st.Close()
			rows, err := summarise(cmd.Context(), st, f, by)
			if err != nil {
				return err
			}
			var warnings []usageWarning
			if w, err := userGap(cmd.Context(), st, cfg.Metering.Retention.RollupEndUsers, f, by); err != nil {
				return err
			} else if w != nil {
				fmt.Fprintf(e.stderr, "usage: warning: %s\n", w.Message)
				warnings = append(warnings, *w)
			}
			counted, err := countedRange(cmd.Context(), st, f, by)
			if err != nil {
				return err
			} else if counted != nil {
				fmt.Fprintf(e.stderr, "usage: note: %s\n", counted.Message)
			}
			var rent []rentLine
			if shCost == "amortised" {
				// Rent over the range the rows count, widened or not,
				// so that it is shared by the tokens of that range.
				af := f
				if counted != nil && counted.From != nil {
					af.From = *counted.From
				}
				if counted != nil && counted.To != nil {
					af.To = *counted.To
				}
				if rent, rows, err = amortise(cmd.Context(), st, cfg, af, by, rows, now); err != nil {
					return err
				}
			}
			switch format {
			case "csv":
				return writeUsageCSV(e.stdout, by, rows)
			case "json":
				return writeUsageJSON(e.stdout, f, by, rows, rent, warnings, counted)
			}
			if err := writeUsageTable(e.stdout, by, rows); err != nil {
				return err
			}
			return writeRentTable(e.stdout, rent)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&cfgPath, "config", "c", "", "config file whose storage is read (default: embedded defaults)")
	fl.StringVar(&since, "since", "", "from this time, inclusive: 24h, 7d, 2026-11-01 or RFC 3339 (default: all)")
	fl.StringVar(&until, "until", "", "up to this time, exclusive (default: now)")
	fl.StringVar(&groupBy, "group-by", "model", "comma-separated dimensions: key, team, model, provider, hosting, day, action (policy action), classes (data classes found), user (end user), tag:NAME (a request tag); \"\" for one total")
	fl.StringVar(&f.KeyID, "key", "", "only this virtual key id")
	fl.StringVar(&f.Team, "team", "", "only this team")
	fl.StringVar(&f.Model, "model", "", "only this requested model or route")
	fl.StringVar(&f.Provider, "provider", "", "only this provider name")
	fl.StringVar(&f.Hosting, "hosting", "", "only self_hosted or proprietary")
	fl.StringArrayVar(&tags, "tag", nil, "only records whose request tag NAME is VALUE: NAME=VALUE, repeatable (all must match); NAME= for records without the tag")
	fl.StringVar(&f.EndUser, "user", "", "only this end user (the row --group-by user shows for it)")
	fl.StringVar(&format, "format", "table", "table, csv or json")
	fl.StringVar(&shCost, "self-hosted-cost", "amortised", "amortised: GPU rent over the period, shared by output tokens; recorded: as recorded")
	return cmd
}

func usageTotal(rows []usageRow) usageRow {
	var t usageRow
	for i := range rows {
		r := &rows[i]
		t.add(&r.UsageGroup, false)
		t.SelfRequests += r.SelfRequests
		t.SelfCostNanos += r.SelfCostNanos
	}
	return t
}

var usageNumCols = []string{"requests", "input_tokens", "output_tokens", "cached_tokens", "reasoning_tokens",
	"cost_usd", "reference_cost_usd", "savings_usd", "estimated", "errors"}

// usageCells renders a row's numbers; dash stands for "no savings".
func usageCells(r *usageRow, dash string) []string {
	ref, sav := dash, dash
	if s, ok := r.savings(); ok {
		ref, sav = dollars(r.ReferenceCostNanos), dollars(s)
	}
	i := func(v int64) string { return strconv.FormatInt(v, 10) }
	return []string{i(r.Requests), i(r.InputTokens), i(r.OutputTokens), i(r.CachedTokens), i(r.ReasoningTokens),
		dollars(r.CostNanos), ref, sav, i(r.Estimated), i(r.Errors)}
}

func writeUsageTable(w io.Writer, by []store.GroupBy, rows []usageRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	line := func(cells []string) { fmt.Fprint(tw, strings.Join(cells, "\t")+"\t\n") }
	head := []string{""} // no grouping: the TOTAL line is the report
	if len(by) > 0 {
		head = head[:0]
		for _, g := range by {
			head = append(head, strings.ToUpper(string(g)))
		}
	}
	line(append(head, "REQUESTS", "INPUT", "OUTPUT", "CACHED", "REASONING", "COST $", "REFERENCE $", "SAVINGS $", "ESTIMATED", "ERRORS"))
	for i := range rows {
		if len(by) == 0 {
			break // one row, printed as TOTAL below
		}
		var cells []string
		for _, k := range rows[i].Keys {
			if k == "" {
				k = "-"
			}
			cells = append(cells, k)
		}
		line(append(cells, usageCells(&rows[i], "-")...))
	}
	t := usageTotal(rows)
	cells := make([]string, len(head))
	cells[0] = "TOTAL"
	line(append(cells, usageCells(&t, "-")...))
	return tw.Flush()
}

func writeUsageCSV(w io.Writer, by []store.GroupBy, rows []usageRow) error {
	cw := csv.NewWriter(w)
	var head []string
	for _, g := range by {
		head = append(head, string(g))
	}
	_ = cw.Write(append(head, usageNumCols...))
	for i := range rows {
		_ = cw.Write(append(append([]string{}, rows[i].Keys...), usageCells(&rows[i], "")...))
	}
	cw.Flush()
	return cw.Error()
}

// usageJSONRow is a row of the JSON report: money as exact integer
// nanodollars and as an exact decimal string of dollars.
type usageJSONRow struct {
	Group              map[string]string `json:"group,omitempty"`
	Requests           int64             `json:"requests"`
	InputTokens        int64             `json:"input_tokens"`
	OutputTokens       int64             `json:"output_tokens"`
	CachedTokens       int64             `json:"cached_tokens"`
	ReasoningTokens    int64             `json:"reasoning_tokens"`
	CostNanos          int64             `json:"cost_nanos"`
	Cost               string            `json:"cost_usd"`
	ReferenceCostNanos *int64            `json:"reference_cost_nanos,omitempty"`
	SavingsNanos       *int64            `json:"savings_nanos,omitempty"`
	Savings            string            `json:"savings_usd,omitempty"`
	Estimated          int64             `json:"estimated"`
	Errors             int64             `json:"errors"`
}

func toUsageJSON(by []store.GroupBy, r *usageRow) usageJSONRow {
	j := usageJSONRow{
		Requests: r.Requests, InputTokens: r.InputTokens, OutputTokens: r.OutputTokens,
		CachedTokens: r.CachedTokens, ReasoningTokens: r.ReasoningTokens,
		CostNanos: r.CostNanos, Cost: dollars(r.CostNanos), Estimated: r.Estimated, Errors: r.Errors,
	}
	if len(r.Keys) > 0 {
		j.Group = make(map[string]string, len(by))
		for i, g := range by {
			j.Group[string(g)] = r.Keys[i]
		}
	}
	if s, ok := r.savings(); ok {
		ref := r.ReferenceCostNanos
		j.ReferenceCostNanos, j.SavingsNanos, j.Savings = &ref, &s, dollars(s)
	}
	return j
}

func writeUsageJSON(w io.Writer, f store.UsageFilter, by []store.GroupBy, rows []usageRow, rent []rentLine, warnings []usageWarning, counted *countedSpan) error {
	out := struct {
		From *time.Time `json:"from,omitempty"`
		To   *time.Time `json:"to,omitempty"`
		// Counted is the range the rows count when it is wider than From
		// to To (an edge where raw records were pruned).
		Counted    *countedSpan    `json:"counted,omitempty"`
		GroupBy    []store.GroupBy `json:"group_by"`
		Rows       []usageJSONRow  `json:"rows"`
		Total      usageJSONRow    `json:"total"`
		SelfHosted []rentLine      `json:"self_hosted,omitempty"`
		// Warnings are the parts of the range the report cannot answer
		// (also printed on standard error).
		Warnings []usageWarning `json:"warnings,omitempty"`
	}{GroupBy: by, Rows: make([]usageJSONRow, 0, len(rows)), SelfHosted: rent, Warnings: warnings, Counted: counted}
	if out.GroupBy == nil {
		out.GroupBy = []store.GroupBy{}
	}
	if !f.From.IsZero() {
		out.From = &f.From
	}
	if !f.To.IsZero() {
		out.To = &f.To
	}
	for i := range rows {
		out.Rows = append(out.Rows, toUsageJSON(by, &rows[i]))
	}
	t := usageTotal(rows)
	out.Total = toUsageJSON(nil, &t)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
