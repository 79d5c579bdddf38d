package azure

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/fulcrumhq/fulcrum/internal/config"
)

// DefaultScope is the Entra ID scope of Azure OpenAI (Cognitive Services).
const DefaultScope = "https://cognitiveservices.azure.com/.default"

// authorizer sets the credential header on an upstream request.
type authorizer func(ctx context.Context, h http.Header) error

func keyAuth(key string) authorizer {
	return func(_ context.Context, h http.Header) error {
		h.Set("Api-Key", key)
		return nil
	}
}

func bearer(h http.Header, tok string) error {
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return fmt.Errorf("empty Entra ID token")
	}
	h.Set("Authorization", "Bearer "+tok)
	return nil
}

// entraAuth obtains tokens with the client-credentials flow; the token
// source caches each token until shortly before it expires.
func entraAuth(e *config.AzureEntra, hc *http.Client) authorizer {
	tokenURL := e.TokenURL
	if tokenURL == "" {
		tokenURL = "https://login.microsoftonline.com/" + e.TenantID + "/oauth2/v2.0/token"
	}
	scope := e.Scope
	if scope == "" {
		scope = DefaultScope
	}
	cc := &clientcredentials.Config{ClientID: e.ClientID, ClientSecret: e.ClientSecret, TokenURL: tokenURL,
		Scopes: []string{scope}, AuthStyle: oauth2.AuthStyleInParams}
	ts := cc.TokenSource(context.WithValue(context.Background(), oauth2.HTTPClient, hc))
	return func(_ context.Context, h http.Header) error {
		t, err := ts.Token()
		if err != nil {
			return fmt.Errorf("token from Entra ID: %w", err)
		}
		return bearer(h, t.AccessToken)
	}
}

// envAuth reads a token from an environment variable on every call.
func envAuth(name string) authorizer {
	return func(_ context.Context, h http.Header) error {
		if err := bearer(h, os.Getenv(name)); err != nil {
			return fmt.Errorf("environment variable %s: %w", name, err)
		}
		return nil
	}
}

// commandAuth runs a command that prints a token and reuses the token for
// ttl.
func commandAuth(argv []string, ttl time.Duration, now func() time.Time) authorizer {
	if ttl <= 0 {
		ttl = 5 * time.Minute
	}
	var (
		mu      sync.Mutex
		tok     string
		fetched time.Time
	)
	return func(ctx context.Context, h http.Header) error {
		mu.Lock()
		defer mu.Unlock()
		if tok == "" || now().Sub(fetched) >= ttl {
			cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			var out, errb bytes.Buffer
			cmd := exec.CommandContext(cctx, argv[0], argv[1:]...)
			cmd.Stdout, cmd.Stderr = &out, &errb
			if err := cmd.Run(); err != nil {
				// stderr may explain; the token itself is never in an error.
				return fmt.Errorf("token command %s: %w: %s", argv[0], err, strings.TrimSpace(firstLine(errb.String())))
			}
			tok, fetched = strings.TrimSpace(out.String()), now()
		}
		return bearer(h, tok)
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
