package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/fulcrumhq/fulcrum/internal/audit"
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
			st, _, err := operatorStore(cmd.Context(), e, cfgPath)
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
	var cfgPath string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Verify the audit log's hash chain from its first row to its last",
		Long: `Read every audit row in seq order and check the hash chain: each row's hash
must match its content and the previous row's hash, and seqs must run from 1
without gaps. Prints "ok: N records, chain intact" and the head (last seq and
hash), or names the first bad row and exits non-zero.

Deleting the newest rows leaves a shorter chain that still verifies: keep the
printed head somewhere else (a ticket, another system) and compare.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			st, _, err := operatorStore(ctx, e, cfgPath)
			if err != nil {
				return err
			}
			defer st.Close()
			return verifyAudit(ctx, e.stdout, st)
		},
	}
	cmd.Flags().StringVarP(&cfgPath, "config", "c", "", "config file whose storage is read (default: embedded defaults)")
	return cmd
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
	fmt.Fprintf(w, "ok: %d records, chain intact\n", res.Rows)
	if res.Head != nil {
		fmt.Fprintf(w, "head: seq %d, hash %s\n", res.Head.Seq, res.Head.Hash)
	}
	return nil
}

func auditExportCmd(e *env) *cobra.Command {
	var cfgPath, until string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Export the oldest audit rows, as pruning would take them, as JSON lines",
		Long: `Write, as JSON lines, the audit rows that pruning with the given cut-off
would delete: the chain's prefix from the checkpoint on (or from seq 1) whose
rows are all older than --until. The first line is {"checkpoint": ...}, the
checkpoint the rows follow (null when nothing was pruned yet); then one row
per line with its seq, prev_hash and hash, so the archive verifies on its own
and the rows left in the store verify from the row it ends with.

Archive the output before 'fulcrum store prune' deletes the rows.`,
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
			st, _, err := operatorStore(ctx, e, cfgPath)
			if err != nil {
				return err
			}
			defer st.Close()
			var cp *store.AuditCheckpoint
			if rt, ok := st.(store.Retention); ok {
				if cp, err = rt.AuditCheckpoint(ctx); err != nil {
					return err
				}
			}
			enc := json.NewEncoder(e.stdout)
			if err := enc.Encode(map[string]any{"checkpoint": cp}); err != nil {
				return err
			}
			n := 0
			errStop := fmt.Errorf("stop")
			err = eachAudit(ctx, st, store.AuditFilter{}, "", func(r *store.AuditRow) error {
				if !r.Time.Before(cut) {
					return errStop
				}
				n++
				return enc.Encode(r)
			})
			if err != nil && err != errStop {
				return err
			}
			fmt.Fprintf(e.stderr, "rows: %d\n", n)
			return nil
		},
	}
	cmd.Flags().StringVarP(&cfgPath, "config", "c", "", "config file whose storage is read (default: embedded defaults)")
	cmd.Flags().StringVar(&until, "until", "", "export rows older than this: 400d, 2026-01-01 or RFC 3339 (required)")
	return cmd
}
