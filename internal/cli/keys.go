package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/fulcrumhq/fulcrum/internal/admin"
	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/keys"
	"github.com/fulcrumhq/fulcrum/internal/limits"
	"github.com/fulcrumhq/fulcrum/internal/store"
)

// keysCmd is `fulcrum keys`: create, list, revoke and rotate virtual keys
// in the store the config names. The admin API does the same over HTTP.
func keysCmd(e *env) *cobra.Command {
	var cfgPath string
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Create, list, revoke and rotate virtual keys",
		Long: `Manage virtual keys in the store named by --config (else the embedded
defaults' SQLite file). A key's secret is printed once, when it is created or
rotated; Fulcrum keeps only its SHA-256.`,
	}
	cmd.PersistentFlags().StringVarP(&cfgPath, "config", "c", "", "config file (YAML); default: embedded defaults from the environment")

	// withService opens the store for one command: create makes it when
	// there is none (a first key may come before the gateway's first
	// start); list, revoke and rotate refuse a store that is not there.
	withService := func(ctx context.Context, fn func(s *keys.Service) error, create bool) error {
		open := recordsStore
		if create {
			open = operatorStore
		}
		st, cfg, err := open(ctx, e, cfgPath)
		if err != nil {
			return err
		}
		defer st.Close()
		// Warnings only: the command prints what it did itself.
		ko := keys.Options{Logger: slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
		if cfg.Storage.Redis != "" {
			// As the gateway does: a revocation or rotation made here is
			// announced to every replica, which drops the key from its
			// cache at once instead of after key_cache_ttl. If Redis
			// cannot be reached the change is still made; the replicas
			// then see it within key_cache_ttl, and a warning says so.
			opt, err := redis.ParseURL(cfg.Storage.Redis)
			if err != nil {
				return fmt.Errorf("storage.redis: %w", err)
			}
			rdb := redis.NewClient(opt)
			defer rdb.Close()
			ko.Changed = keys.NewRedisBus(rdb, cfg.Metering.Limits.RedisPrefix, ko.Logger).Publish
		}
		return fn(keys.New(st, ko))
	}

	var (
		name, team, models, budget, period, expires string
		userBudget, userPeriod                      string
		rpm, tpm                                    int64
	)
	create := &cobra.Command{
		Use:   "create --name NAME",
		Short: "Create a key and print its secret (shown once)",
		Example: `  fulcrum keys create --name billing-bot --team finance --models gpt-4o,smart \
    --budget 10.00 --period monthly --rpm 60 --tpm 100000 --expires 720h \
    --user-budget 0.50 --user-period daily`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req := keys.CreateRequest{Name: name, Team: team, Period: store.Period(period), RPM: rpm, TPM: tpm}
			if models != "" {
				req.Models = strings.Split(models, ",")
			}
			if budget != "" {
				n, err := config.ParseUSD(budget)
				if err != nil {
					return fmt.Errorf("--budget: %w", err)
				}
				req.BudgetNanos = n
			}
			if userBudget != "" {
				n, err := config.ParseUSD(userBudget)
				if err != nil {
					return fmt.Errorf("--user-budget: %w", err)
				}
				req.UserBudgetNanos = n
			}
			req.UserPeriod = store.Period(userPeriod)
			if expires != "" {
				d, err := time.ParseDuration(expires)
				if err != nil || d <= 0 {
					return fmt.Errorf("--expires: want a positive duration such as 720h, not %q", expires)
				}
				req.ExpiresIn = d
			}
			return withService(cmd.Context(), func(s *keys.Service) error {
				k, secret, err := s.Create(cmd.Context(), req)
				if err != nil {
					return err
				}
				writeKeys(e.stdout, []store.Key{*k})
				writeSecret(e.stdout, secret)
				return nil
			}, true)
		},
	}
	f := create.Flags()
	f.StringVar(&name, "name", "", "unique name of the key (required)")
	f.StringVar(&team, "team", "", "team the key belongs to (team budgets apply)")
	f.StringVar(&models, "models", "", "comma-separated models and routes the key may use (default all)")
	f.StringVar(&budget, "budget", "", "budget in USD per period, e.g. 10.00 (default none)")
	f.StringVar(&period, "period", "", "budget period: daily, weekly, monthly (default) or total")
	f.StringVar(&userBudget, "user-budget", "", "budget in USD per user-period for each end user of the key (OpenAI user, Anthropic metadata.user_id), e.g. 0.50 (default: metering.limits.end_user_budget)")
	f.StringVar(&userPeriod, "user-period", "", "end-user budget period: daily (default), weekly or monthly")
	f.Int64Var(&rpm, "rpm", 0, "requests per minute (default no limit)")
	f.Int64Var(&tpm, "tpm", 0, "tokens per minute (default no limit)")
	f.StringVar(&expires, "expires", "", "lifetime from now, e.g. 720h (default never)")
	_ = create.MarkFlagRequired("name")

	list := &cobra.Command{
		Use:   "list",
		Short: "List keys, revoked and expired ones included",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withService(cmd.Context(), func(s *keys.Service) error {
				ks, err := s.List(cmd.Context())
				if err != nil {
					return err
				}
				writeKeys(e.stdout, ks)
				return nil
			}, false)
		},
	}
	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a key (with storage.redis every replica refuses it at once; without, within key_cache_ttl, 10s by default)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withService(cmd.Context(), func(s *keys.Service) error {
				k, err := s.Revoke(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				writeKeys(e.stdout, []store.Key{*k})
				return nil
			}, false)
		},
	}
	rotate := &cobra.Command{
		Use:   "rotate ID",
		Short: "Give a key a new secret (shown once); the old secret stops working",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withService(cmd.Context(), func(s *keys.Service) error {
				k, secret, err := s.Rotate(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				writeKeys(e.stdout, []store.Key{*k})
				writeSecret(e.stdout, secret)
				return nil
			}, false)
		},
	}
	cmd.AddCommand(create, list, revoke, rotate)
	return cmd
}

// writeKeys prints keys as a table.
func writeKeys(w io.Writer, ks []store.Key) {
	now := time.Now()
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tTEAM\tPREFIX\tMODELS\tBUDGET\tPER USER\tRPM\tTPM\tEXPIRES\tSTATUS")
	for i := range ks {
		k := &ks[i]
		models, budget, perUser, exp := "*", "-", "-", "-"
		if len(k.Models) > 0 {
			models = strings.Join(k.Models, ",")
		}
		if k.BudgetNanos > 0 {
			budget = "$" + limits.FormatUSD(k.BudgetNanos) + "/" + string(k.Period)
		}
		if k.UserBudgetNanos > 0 {
			perUser = "$" + limits.FormatUSD(k.UserBudgetNanos) + "/" + string(k.UserPeriod)
		}
		if k.ExpiresAt != nil {
			exp = k.ExpiresAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s…\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, keyTeam(k.Team), k.Prefix, models, budget, perUser,
			keyLimit(k.RPM), keyLimit(k.TPM), exp, admin.Status(k, now))
	}
	tw.Flush()
}

func writeSecret(w io.Writer, secret string) {
	fmt.Fprintf(w, "\nSecret (shown only now; Fulcrum stores only its hash and cannot show it again):\n%s\n", secret)
}

func keyTeam(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func keyLimit(n int64) string {
	if n == 0 {
		return "-"
	}
	return strconv.FormatInt(n, 10)
}
