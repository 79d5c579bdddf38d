package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/fulcrumhq/fulcrum/internal/audit"
	"github.com/fulcrumhq/fulcrum/internal/policy"
	"github.com/fulcrumhq/fulcrum/internal/store"
)

func auditCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "List, export and verify the data-sovereignty audit log",
		Long: `The audit log holds one hash-chained row per request: the data classes
detected (names and counts, never the values), the policy action, the
candidates considered, the provider chosen and the outcome. Each row's hash
covers its content and the previous row's hash, so an edited, inserted or
deleted row breaks the chain from that row on.`,
	}
	cmd.AddCommand(auditListCmd(e), auditVerifyCmd(e), auditExportCmd(e))
	return cmd
}

// auditPage is how many rows one store query reads.
const auditPage = 1000

// eachAudit calls fn for every row matching f, in seq order, reading a
// page at a time. A class matches a row whose classes hold it by name:
// rows store "email:2" (class and count), so the class is compared with
// the part before the colon.
func eachAudit(ctx context.Context, st store.Store, f store.AuditFilter, class string, fn func(*store.AuditRow) error) error {
	f.Limit = auditPage
	for {
		rows, err := st.Audit(ctx, f)
		if err != nil {
			return err
		}
		for i := range rows {
			if class != "" && !hasClass(rows[i].Classes, class) {
				continue
			}
			if err := fn(&rows[i]); err != nil {
				return err
			}
		}
		if len(rows) < auditPage {
			return nil
		}
		f.AfterSeq = rows[len(rows)-1].Seq
	}
}

func hasClass(classes []string, class string) bool {
	for _, c := range classes {
		name, _, _ := strings.Cut(c, ":")
		if name == class {
			return true
		}
	}
	return false
}

func auditListCmd(e *env) *cobra.Command {
	var (
		cfgPath, since, until, class, format string
		f                                    store.AuditFilter
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List audit rows, or export them as JSON lines",
		Long: `List audit rows in seq order. --format jsonl exports them as JSON lines, one
row per line with its prev_hash and hash, so an export can be archived and
checked elsewhere.

--since and --until take a duration back from now (24h, 7d, 2w), a UTC date
(2026-11-01) or an RFC 3339 time; --since is inclusive, --until exclusive.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkChoice("format", format, "table", "jsonl"); err != nil {
				return err
			}
			var err error
			if f.From, f.To, err = timeRange(since, until, time.Now()); err != nil {
				return err
			}
			st, _, err := recordsStore(cmd.Context(), e, cfgPath)
			if err != nil {
				return err
			}
			defer st.Close()
			if format == "jsonl" {
				enc := json.NewEncoder(e.stdout)
				return eachAudit(cmd.Context(), st, f, class, func(r *store.AuditRow) error { return enc.Encode(r) })
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "SEQ\tTIME\tREQUEST\tKEY\tACTION\tCLASSES\tCANDIDATES\tCHOSEN\tOUTCOME\t")
			n := 0
			err = eachAudit(cmd.Context(), st, f, class, func(r *store.AuditRow) error {
				n++
				chosen := orDash(r.Chosen)
				if r.ChosenHosting != "" {
					chosen += " (" + r.ChosenHosting + ")"
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Seq, r.Time.UTC().Format(time.RFC3339),
					r.RequestID, orDash(r.KeyID), r.Action, orDash(strings.Join(r.Classes, ",")),
					orDash(strings.Join(r.Candidates, ",")), chosen, orDash(r.Outcome))
				return nil
			})
			if err != nil {
				return err
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "rows: %d\n", n)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&cfgPath, "config", "c", "", "config file whose storage is read (default: embedded defaults)")
	fl.StringVar(&since, "since", "", "from this time, inclusive: 24h, 7d, 2026-11-01 or RFC 3339 (default: all)")
	fl.StringVar(&until, "until", "", "up to this time, exclusive (default: now)")
	fl.StringVar(&f.KeyID, "key", "", "only this virtual key id")
	fl.StringVar(&class, "class", "", "only rows where this data class was found (e.g. email, iban)")
	fl.StringVar(&f.Action, "action", "", "only this policy action (allow, redact, self_hosted_only, block)")
	fl.StringVar(&format, "format", "table", "table or jsonl (export, one JSON row per line)")
	return cmd
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func auditVerifyCmd(e *env) *cobra.Command {
	var (
		cfgPath  string
		archives []string
	)
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Verify the audit log's hash chain from its first row to its last",
		Long: `Read every audit row in seq order and check the hash chain: each row's hash
must match its content and the previous row's hash, and seqs must run from 1
without gaps, or, once older rows were pruned, from the checkpoint they left
(printed). Prints "ok: N records, chain intact" and the head (last seq and
hash), or names the first bad row and exits non-zero.

--archive FILE verifies an export of 'fulcrum audit export' instead, on its
own (no store is opened unless --config is given too). Give several, oldest
first, to check that each one starts where the one before ends. With
--config as well, the store is verified too, and must go on from where the
archives end: its checkpoint is their last row, or it still holds that row.

The chain must reach the store's head (the last row appended, kept apart
from the rows), so deleting the newest rows is reported too; deleting them
and rewriting the head is not: keep the printed head somewhere else (a
ticket, another system) and compare.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// "ok" that nobody could read is no verification.
			w := &stickyWriter{w: e.stdout}
			err := runVerify(cmd.Context(), e, w, cfgPath, archives)
			if err == nil && w.err != nil {
				err = fmt.Errorf("audit verify: writing the result: %w", w.err)
			}
			return err
		},
	}
	cmd.Flags().StringVarP(&cfgPath, "config", "c", "", "config file whose storage is read (default: embedded defaults; with --archive: none)")
	cmd.Flags().StringArrayVar(&archives, "archive", nil, "verify this export of 'fulcrum audit export' (repeatable, oldest first)")
	return cmd
}

// runVerify verifies the archives, then the store (with --config, or
// without archives), printing to w.
func runVerify(ctx context.Context, e *env, w io.Writer, cfgPath string, archives []string) error {
	var end *store.AuditRow
	if len(archives) > 0 {
		var err error
		if end, err = verifyArchives(w, archives); err != nil {
			return err
		}
		if cfgPath == "" {
			return nil
		}
	}
	st, _, err := recordsStore(ctx, e, cfgPath)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := verifyAudit(ctx, w, st); err != nil {
		return err
	}
	if end != nil {
		return followsArchive(ctx, w, st, end)
	}
	return nil
}

// verifyArchives verifies archive files in order, each from where the one
// before ends, and returns where the last one ends (its last row, or the
// checkpoint it follows when it has none; nil: it is empty from seq 1).
func verifyArchives(w io.Writer, paths []string) (*store.AuditRow, error) {
	var end *store.AuditRow
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("audit verify: %w", err)
		}
		res, err := audit.VerifyArchive(f, end)
		f.Close()
		if res.Bad != nil {
			fmt.Fprintf(w, "%s: BROKEN at seq %d (request %s): %v\n", p, res.Bad.Seq, res.Bad.RequestID, err)
			return nil, fmt.Errorf("audit verify: %s: first bad record seq %d (request %s): %w", p, res.Bad.Seq, res.Bad.RequestID, err)
		}
		if err != nil {
			return nil, fmt.Errorf("audit verify: %s: %w", p, err)
		}
		from := "seq 1"
		if cp := res.Checkpoint; cp != nil {
			from = fmt.Sprintf("checkpoint seq %d", cp.Seq)
			end = &store.AuditRow{Seq: cp.Seq, Hash: cp.Hash}
		}
		if res.Head != nil {
			end = res.Head
		}
		fmt.Fprintf(w, "%s: ok: %d records from %s, chain intact\n", p, res.Rows, from)
		if end != nil {
			fmt.Fprintf(w, "%s: ends at seq %d, hash %s\n", p, end.Seq, end.Hash)
		}
	}
	return end, nil
}

// followsArchive checks that st goes on from end, where the archives end:
// its checkpoint is that row, or it still holds the row.
func followsArchive(ctx context.Context, w io.Writer, st store.Store, end *store.AuditRow) error {
	var cp *store.AuditCheckpoint
	if rt, ok := st.(store.Retention); ok {
		var err error
		if cp, err = rt.AuditCheckpoint(ctx); err != nil {
			return err
		}
	}
	switch {
	case cp != nil && cp.Seq > end.Seq:
		return fmt.Errorf("audit verify: %w: the store's rows were pruned up to seq %d, the archives end at seq %d: seqs %d to %d are in neither",
			policy.ErrChainBroken, cp.Seq, end.Seq, end.Seq+1, cp.Seq)
	case cp != nil && cp.Seq == end.Seq:
		if cp.Hash != end.Hash {
			return fmt.Errorf("audit verify: %w: the store's checkpoint (seq %d) has hash %s, the archive's row %s",
				policy.ErrChainBroken, cp.Seq, cp.Hash, end.Hash)
		}
	default:
		rows, err := st.Audit(ctx, store.AuditFilter{AfterSeq: end.Seq - 1, Limit: 1})
		if err != nil {
			return err
		}
		if len(rows) == 0 || rows[0].Seq != end.Seq || rows[0].Hash != end.Hash {
			return fmt.Errorf("audit verify: %w: the archives end at seq %d with hash %s, which the store does not hold",
				policy.ErrChainBroken, end.Seq, end.Hash)
		}
	}
	fmt.Fprintf(w, "the store goes on from the archives (seq %d)\n", end.Seq)
	return nil
}

// verifyAudit runs audit.Verify, the one verifier, and prints its result.
func verifyAudit(ctx context.Context, w io.Writer, st store.Store) error {
	res, err := audit.Verify(ctx, st)
	if res.Bad != nil {
		fmt.Fprintf(w, "BROKEN at seq %d (request %s): %v\n", res.Bad.Seq, res.Bad.RequestID, err)
		return fmt.Errorf("audit verify: first bad record seq %d (request %s): %w", res.Bad.Seq, res.Bad.RequestID, err)
	}
	if err != nil {
		return fmt.Errorf("audit verify: %w", err)
	}
	if res.Rows == 0 && res.Checkpoint == nil {
		// Nothing was ever chained: no success to report.
		return errors.New("audit verify: the store holds no audit records (none written yet, or not the gateway's store): nothing to verify")
	}
	fmt.Fprintf(w, "ok: %d records, chain intact\n", res.Rows)
	if cp := res.Checkpoint; cp != nil {
		// What the kept chain was verified from: an archive of the pruned
		// rows must end with this row.
		fmt.Fprintf(w, "from checkpoint: seq %d, hash %s (rows up to %s, pruned %s)\n",
			cp.Seq, cp.Hash, cp.Time.UTC().Format(time.RFC3339Nano), cp.PrunedAt.UTC().Format(time.RFC3339))
	}
	if res.Head != nil {
		fmt.Fprintf(w, "head: seq %d, hash %s\n", res.Head.Seq, res.Head.Hash)
	}
	return nil
}

func auditExportCmd(e *env) *cobra.Command {
	var (
		cfgPath, until string
		afterSeq       int64
	)
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Export the oldest audit rows, as pruning would take them, as JSON lines",
		Long: `Write, as JSON lines, the audit rows that pruning with the given cut-off
would delete: the chain's prefix from the checkpoint on (or from seq 1) whose
rows are all older than --until. The first line is {"checkpoint": ...}, the
checkpoint the rows follow (null when nothing was pruned yet); then one row
per line with its seq, prev_hash and hash, so the archive verifies on its own
('fulcrum audit verify --archive FILE') and the rows left in the store verify
from the row it ends with. On PostgreSQL, whose audit rows are pruned a whole
day at a time, --until is rounded down to the day as pruning rounds it.

--after-seq N starts after row N instead of the checkpoint: the row the
previous archive ended with (printed on standard error, and by 'audit verify
--archive'), so that a series of archives holds every row once. The
checkpoint line is then row N's seq, hash and time.

Archive the output before the rows are pruned. The gateway prunes by itself
every metering.retention.interval, with a cut-off that moves with the clock:
export with a margin (--until 399d for audit: 400d) and chain the exports
with --after-seq, and 'audit verify --archive ... --config F' checks that
the archives and the store together hold the whole chain.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if until == "" {
				return fmt.Errorf("--until is required (e.g. 400d, 2026-01-01)")
			}
			cut, err := store.ParseWhen(until, time.Now())
			if err != nil {
				return fmt.Errorf("--until: %w", err)
			}
			st, _, err := recordsStore(ctx, e, cfgPath)
			if err != nil {
				return err
			}
			defer st.Close()
			if u, ok := st.(store.PruneUnit); ok {
				if unit := u.PruneUnit(store.KindAudit); unit > 0 {
					cut = cut.Truncate(unit)
				}
			}
			var cp *store.AuditCheckpoint
			if rt, ok := st.(store.Retention); ok {
				if cp, err = rt.AuditCheckpoint(ctx); err != nil {
					return err
				}
			}
			if cmd.Flags().Changed("after-seq") {
				if cp, err = exportStart(ctx, st, cp, afterSeq); err != nil {
					return err
				}
			}
			enc := json.NewEncoder(e.stdout)
			if err := enc.Encode(map[string]any{"checkpoint": cp}); err != nil {
				return err
			}
			n := 0
			var last *store.AuditRow
			errStop := fmt.Errorf("stop")
			f := store.AuditFilter{}
			if cp != nil {
				f.AfterSeq = cp.Seq
			}
			err = eachAudit(ctx, st, f, "", func(r *store.AuditRow) error {
				if !r.Time.Before(cut) {
					return errStop
				}
				n++
				last = r
				return enc.Encode(r)
			})
			if err != nil && err != errStop {
				return err
			}
			fmt.Fprintf(e.stderr, "rows: %d (older than %s)\n", n, cut.UTC().Format(time.RFC3339))
			if last != nil {
				fmt.Fprintf(e.stderr, "ends at seq %d, hash %s (the next export: --after-seq %d)\n", last.Seq, last.Hash, last.Seq)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&cfgPath, "config", "c", "", "config file whose storage is read (default: embedded defaults)")
	cmd.Flags().StringVar(&until, "until", "", "export rows older than this: 400d, 2026-01-01 or RFC 3339 (required)")
	cmd.Flags().Int64Var(&afterSeq, "after-seq", 0, "start after this row (where the previous archive ended) instead of the checkpoint")
	return cmd
}

// exportStart is the checkpoint an export that goes on after row seq
// follows: the store's checkpoint when seq is its row, else row seq
// itself, which the store must still hold.
func exportStart(ctx context.Context, st store.Store, cp *store.AuditCheckpoint, seq int64) (*store.AuditCheckpoint, error) {
	switch {
	case seq < 0:
		return nil, fmt.Errorf("--after-seq: %d is not a seq", seq)
	case cp != nil && seq < cp.Seq:
		return nil, fmt.Errorf("--after-seq %d: the rows up to seq %d were pruned already (the checkpoint): seqs %d to %d cannot be exported",
			seq, cp.Seq, seq+1, cp.Seq)
	case cp != nil && seq == cp.Seq:
		return cp, nil
	case seq == 0:
		return nil, nil // from seq 1
	}
	rows, err := st.Audit(ctx, store.AuditFilter{AfterSeq: seq - 1, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 || rows[0].Seq != seq {
		return nil, fmt.Errorf("--after-seq %d: the store holds no row with that seq", seq)
	}
	return &store.AuditCheckpoint{Seq: rows[0].Seq, Hash: rows[0].Hash, Time: rows[0].Time}, nil
}
