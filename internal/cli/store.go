package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/fulcrumhq/fulcrum/internal/app"
	"github.com/fulcrumhq/fulcrum/internal/store"
)

func init() { extraCommands = append(extraCommands, storeCmd) }

func storeCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "store",
		Short: "Maintain the record store: retention",
	}
	cmd.AddCommand(storePruneCmd(e))
	return cmd
}

func storePruneCmd(e *env) *cobra.Command {
	var (
		cfgPath string
		dryRun  bool
		asJSON  bool
		vacuum  bool
	)
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Delete records older than their retention (metering.retention)",
		Long: `Delete, for every kind of record with a retention set in metering.retention,
the records older than it, in transactions of retention.batch rows; then give
the space back (SQLite: incremental vacuum, then WAL checkpoint). The gateway
does this by itself every retention.interval; this command runs it now.

Usage rows go whole hours at a time, and their sums stay in the hourly and
daily rollups, so 'fulcrum usage' still answers for the pruned period. Audit
rows go as a prefix of the chain: the last pruned row's seq and hash become
the checkpoint 'fulcrum audit verify' starts from. Export them first with
'fulcrum audit export --until ...' to archive them.

--dry-run counts what would be deleted and deletes nothing.

--vacuum then rewrites a SQLite file (VACUUM), so that it shrinks at once
and, when it was created by a version before incremental vacuum, at every
later prune too (without it such a file never shrinks). It holds the write
lock while it copies the database (seconds per GB: the gateway's writes
wait, so run it while the gateway is stopped or quiet) and needs free disk
for a copy. PostgreSQL: nothing (autovacuum).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if vacuum && dryRun {
				return errors.New("store prune: --vacuum with --dry-run: a dry run changes nothing")
			}
			st, cfg, err := recordsStore(ctx, e, cfgPath)
			if err != nil {
				return err
			}
			defer st.Close()
			r := cfg.Metering.Retention
			res, err := app.Prune(ctx, app.PruneJobs(cfg, st), time.Now(), r.Batch, 0, dryRun)
			if rt, ok := st.(store.Retention); ok && err == nil && !dryRun {
				err = rt.Maintain(ctx)
			}
			if v, ok := st.(store.Vacuumer); ok && vacuum && err == nil && !dryRun {
				err = v.Vacuum(ctx)
			}
			if len(res) == 0 && err == nil {
				// Not an error (every kind kept for ever is a choice),
				// but no table of nothing either.
				fmt.Fprintln(e.stderr, "store prune: nothing to prune: every kind of record is kept for ever (metering.retention)")
			}
			// What was deleted is the command's result: a report that
			// could not be written is a failure, whatever the prune did.
			var werr error
			if asJSON {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				werr = enc.Encode(res)
			} else {
				tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
				verb := "DELETED"
				if dryRun {
					verb = "WOULD DELETE"
				}
				fmt.Fprintf(tw, "KIND\tOLDER THAN\t%s\t\n", verb)
				for _, p := range res {
					fmt.Fprintf(tw, "%s\t%s\t%d\t\n", p.Kind, p.Before.Format(time.RFC3339), p.Rows)
				}
				werr = tw.Flush()
			}
			if werr != nil {
				werr = fmt.Errorf("store prune: writing the result: %w", werr)
			}
			return errors.Join(err, werr)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&cfgPath, "config", "c", "", "config file whose storage and retention are used (default: embedded defaults)")
	fl.BoolVar(&dryRun, "dry-run", false, "count what would be deleted; delete nothing")
	fl.BoolVar(&asJSON, "json", false, "print the result as JSON")
	fl.BoolVar(&vacuum, "vacuum", false, "then rewrite a SQLite file (VACUUM): it shrinks now and, if it predates incremental vacuum, at every later prune")
	return cmd
}

// stickyWriter remembers the first error writing to w, so that a command
// whose report could not be written (a full disk, a closed pipe) does not
// exit 0 as if it had been read.
type stickyWriter struct {
	w   io.Writer
	err error
}

func (s *stickyWriter) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.w.Write(p)
	s.err = err
	return n, err
}
