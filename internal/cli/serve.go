package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fulcrumhq/fulcrum/internal/app"
	"github.com/fulcrumhq/fulcrum/internal/config"
)

// loadConfig reads path, or builds the embedded defaults from the
// environment when path is empty.
func loadConfig(e *env, path string) (*config.Config, error) {
	if path == "" {
		c := config.Defaults(e.lookup)
		if errs := c.Validate(); len(errs) > 0 {
			return nil, &config.ValidationError{Errs: errs}
		}
		return c, nil
	}
	return config.Load(path)
}

func serveCmd(e *env) *cobra.Command {
	var cfgPath, listen string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the gateway",
		Long: `Run the gateway. With no --config it runs on embedded defaults: it listens on
127.0.0.1:8080, keeps its data in ./fulcrum-data (or $FULCRUM_DATA_DIR), and
configures providers from OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY and
OLLAMA_HOST.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := loadConfig(e, cfgPath)
			if err != nil {
				return err
			}
			if listen != "" {
				c.Server.Listen = listen
				if errs := c.Validate(); len(errs) > 0 {
					return &config.ValidationError{Errs: errs}
				}
			}
			return app.Serve(cmd.Context(), c, e.stderr, nil)
		},
	}
	cmd.Flags().StringVarP(&cfgPath, "config", "c", "", "config file (YAML); default: embedded defaults from the environment")
	cmd.Flags().StringVar(&listen, "listen", "", "listen address, overriding the config (default 127.0.0.1:8080)")
	return cmd
}

func configCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Work with config files"}
	cmd.AddCommand(&cobra.Command{
		Use:   "check FILE",
		Short: "Validate a config file; every error names its field path",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := config.Load(args[0])
			if err != nil {
				var ve *config.ValidationError
				if errors.As(err, &ve) {
					for _, fe := range ve.Errs {
						fmt.Fprintf(e.stdout, "%s: %s\n", args[0], fe)
					}
					return fmt.Errorf("%s: %d error(s)", args[0], len(ve.Errs))
				}
				return err
			}
			fmt.Fprintf(e.stdout, "%s: ok (%d providers, %d models, %d routes)\n", args[0], len(c.Providers), len(c.Models), len(c.Routes))
			return nil
		},
	})
	return cmd
}
