package vertex

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sync"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/fulcrumhq/fulcrum/internal/config"
)

// Scope is the OAuth scope Vertex AI calls need.
const Scope = "https://www.googleapis.com/auth/cloud-platform"

// tokens resolves Google credentials lazily (on the first call, so a
// gateway starts without them and reports the failure per request) and
// caches the token source, which refreshes tokens before they expire.
type tokens struct {
	file, tokenURL string
	hc             *http.Client

	mu sync.Mutex
	ts oauth2.TokenSource
}

// header sets Authorization: Bearer <access token>.
func (t *tokens) header(ctx context.Context, h http.Header) error {
	ts, err := t.source(ctx)
	if err != nil {
		return err
	}
	tok, err := ts.Token()
	if err != nil {
		return fmt.Errorf("access token from Google: %w", err)
	}
	h.Set("Authorization", "Bearer "+tok.AccessToken)
	return nil
}

func (t *tokens) source(ctx context.Context) (oauth2.TokenSource, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ts != nil {
		return t.ts, nil
	}
	// The token source outlives this call: it gets a context of its own
	// that carries only the HTTP client.
	bg := context.WithValue(context.Background(), oauth2.HTTPClient, t.hc)
	file := t.file
	if file == "" && t.tokenURL != "" {
		file = os.Getenv("GOOGLE_APPLICATION_CREDENTIALS")
	}
	var creds *google.Credentials
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("credentials file: %w", err)
		}
		creds, err = fromJSON(bg, b, t.tokenURL)
		if err != nil {
			return nil, err
		}
	} else {
		var err error
		creds, err = google.FindDefaultCredentialsWithParams(bg, google.CredentialsParams{Scopes: []string{Scope}})
		if err != nil {
			return nil, fmt.Errorf("application default credentials (Google): %w", err)
		}
	}
	t.ts = creds.TokenSource
	return t.ts, nil
}

// fromJSON reads service-account, workload-identity-federation
// (external_account) or authorized-user credentials, with the token
// endpoint replaced when tokenURL is set.
func fromJSON(ctx context.Context, b []byte, tokenURL string) (*google.Credentials, error) {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("credentials file is not JSON: %w", err)
	}
	typ, _ := m["type"].(string)
	var ct google.CredentialsType
	switch typ {
	case "service_account":
		ct = google.ServiceAccount
		if tokenURL != "" {
			m["token_uri"] = tokenURL
		}
	case "external_account":
		ct = google.ExternalAccount
		if tokenURL != "" {
			m["token_url"] = tokenURL
		}
	case "authorized_user":
		ct = google.AuthorizedUser
	default:
		return nil, fmt.Errorf("credentials file type %q: want service_account, external_account or authorized_user", typ)
	}
	b, _ = json.Marshal(m)
	creds, err := google.CredentialsFromJSONWithTypeAndParams(ctx, b, ct, google.CredentialsParams{Scopes: []string{Scope}, TokenURL: tokenURL})
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	return creds, nil
}

func newTokens(v *config.Vertex, hc *http.Client) *tokens {
	return &tokens{file: v.CredentialsFile, tokenURL: v.TokenURL, hc: hc}
}
