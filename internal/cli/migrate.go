package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fulcrumhq/fulcrum/internal/app"
	"github.com/fulcrumhq/fulcrum/internal/store/open"
)

func migrateCmd(e *env) *cobra.Command {
	var cfgPath string
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending storage migrations and print the schema version",
		Long: `Apply the storage migrations compiled into this binary that the configured
store (storage.url) does not have yet, and print the schema version before and
after. serve migrates on start too; this is for operators who apply schema
changes by hand, before rolling out a new version. Safe to run while replicas
run and from several hosts at once: each migration is applied once, under a lock.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg, err := loadConfig(e, cfgPath)
			if err != nil {
				return err
			}
			st, err := open.NoMigrate(ctx, cfg.Storage.URL, app.NewLogger(cfg.Logging, e.stderr))
			if err != nil {
				return fmt.Errorf("storage: %w", err)
			}
			defer st.Close()
			// A store never migrated has no version table yet: version 0.
			// Any other failure resurfaces in Migrate.
			before, err := st.SchemaVersion(ctx)
			if err != nil {
				before = 0
			}
			if err := st.Migrate(ctx); err != nil {
				return err
			}
			after, err := st.SchemaVersion(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "schema version before: %d\nschema version after: %d\n", before, after)
			switch {
			case after == before:
				fmt.Fprintln(e.stdout, "up to date: nothing to apply")
			case after == before+1:
				fmt.Fprintf(e.stdout, "applied migration %d\n", after)
			default:
				fmt.Fprintf(e.stdout, "applied migrations %d to %d\n", before+1, after)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&cfgPath, "config", "c", "", "config file whose storage is migrated (default: embedded defaults)")
	return cmd
}
