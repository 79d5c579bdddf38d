package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/store"
	"github.com/fulcrumhq/fulcrum/internal/store/open"
)

// endUserBudgetNanos is the e2e end-user budget: $0.001 a day. The fake
// answers gpt-4o with 12 tokens in and 7 out, $0.0001 a request; with
// max_tokens 7 the worst case reserved is under $0.0002, so a user gets
// several requests before the budget binds.
const endUserBudgetNanos = 1_000_000

func endUserConfig(u *upstreams) string {
	return u.config() + "metering: { flush_interval: 5ms, limits: { end_user_budget: { budget_usd: \"0.001\", period: daily } } }\n"
}

func openaiAs(t *testing.T, g *gateway, secret, user string) (*http.Response, []byte) {
	t.Helper()
	return post(t, g, "/v1/chat/completions",
		fmt.Sprintf(`{"model":"m-openai","max_tokens":7,"user":%q,"messages":[{"role":"user","content":"hi"}]}`, user),
		"Authorization", "Bearer "+secret)
}

func anthropicAs(t *testing.T, g *gateway, secret, user string) (*http.Response, []byte) {
	t.Helper()
	return post(t, g, "/v1/messages",
		fmt.Sprintf(`{"model":"m-openai","max_tokens":7,"metadata":{"user_id":%q},"messages":[{"role":"user","content":"hi"}]}`, user),
		"x-api-key", secret, "Authorization", "", "anthropic-version", "2023-06-01")
}

// exhaust sends user's requests until the end-user budget refuses one
// and returns how many were admitted.
func exhaust(t *testing.T, g *gateway, secret, user string) int {
	t.Helper()
	for n := 0; n < 30; n++ {
		resp, body := openaiAs(t, g, secret, user)
		switch resp.StatusCode {
		case 200:
		case 429:
			return n
		default:
			t.Fatalf("request %d of %s: %d %s", n, user, resp.StatusCode, body)
		}
	}
	t.Fatalf("%s was never refused", user)
	return 0
}

// checkEndUserRefusal checks a refused request: 429 with Retry-After to
// the end of the UTC day, and a message naming the end-user budget
// without the user id.
func checkEndUserRefusal(t *testing.T, resp *http.Response, msg, user string) {
	t.Helper()
	if resp.StatusCode != 429 {
		t.Fatalf("status %d, want 429", resp.StatusCode)
	}
	ra, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	now := time.Now().UTC()
	toMidnight := now.Truncate(24 * time.Hour).Add(24 * time.Hour).Sub(now)
	if err != nil || time.Duration(ra)*time.Second > toMidnight+2*time.Second || time.Duration(ra)*time.Second < toMidnight-time.Minute {
		t.Errorf("Retry-After %q, want about %s (to the day's end)", resp.Header.Get("Retry-After"), toMidnight)
	}
	if !strings.Contains(msg, "end-user budget") || strings.Contains(msg, user) {
		t.Errorf("message %q: want the end-user budget named and not %q", msg, user)
	}
}

// TestEndUserBudget: one key, two end users. Alice spends her daily
// budget and is refused in both wire formats (OpenAI and Anthropic error
// objects) while Bob on the same key is still served; after a restart the
// gateway re-reads Alice's spend from the store and still refuses her.
func TestEndUserBudget(t *testing.T) {
	u := startUpstreams(t)
	u.openai.Record(false)
	cfg := endUserConfig(u)
	dir := t.TempDir()
	g := startGatewayIn(t, dir, cfg, "FULCRUM_MASTER_KEY="+masterKey)
	id, secret := createKey(t, g, `{"name":"tenant"}`)

	const alice = "alice:acme/42"
	n := exhaust(t, g, secret, alice)
	if n < 2 {
		t.Fatalf("alice admitted %d times before the refusal", n)
	}
	resp, body := openaiAs(t, g, secret, alice)
	var oe openaiErr
	if err := json.Unmarshal(body, &oe); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	if oe.Error.Type != "insufficient_quota" || oe.Error.Code == nil || *oe.Error.Code != "insufficient_quota" {
		t.Errorf("OpenAI error %s", body)
	}
	checkEndUserRefusal(t, resp, oe.Error.Message, alice)

	resp, body = anthropicAs(t, g, secret, alice)
	var ae struct {
		Type  string `json:"type"`
		Error struct{ Type, Message string }
	}
	if err := json.Unmarshal(body, &ae); err != nil || ae.Type != "error" || ae.Error.Type != "rate_limit_error" {
		t.Errorf("Anthropic error %d %s (%v)", resp.StatusCode, body, err)
	}
	checkEndUserRefusal(t, resp, ae.Error.Message, alice)

	// Bob, same key: served in both formats. No user: not limited by it.
	if resp, body := openaiAs(t, g, secret, "bob"); resp.StatusCode != 200 {
		t.Errorf("bob (OpenAI): %d %s", resp.StatusCode, body)
	}
	if resp, body := anthropicAs(t, g, secret, "bob"); resp.StatusCode != 200 {
		t.Errorf("bob (Anthropic): %d %s", resp.StatusCode, body)
	}
	if resp, body := openaiAs(t, g, secret, ""); resp.StatusCode != 200 {
		t.Errorf("no user: %d %s", resp.StatusCode, body)
	}
	// The same user name under another key has its own budget.
	_, secret2 := createKey(t, g, `{"name":"other tenant"}`)
	if resp, body := openaiAs(t, g, secret2, alice); resp.StatusCode != 200 {
		t.Errorf("alice of another key: %d %s", resp.StatusCode, body)
	}

	// The admin API shows Alice's period.
	req, _ := http.NewRequest("GET", g.URL+"/admin/budgets?scope="+url.QueryEscape("user:"+id+":"+alice), nil)
	req.Header.Set("Authorization", "Bearer "+masterKey)
	aresp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var view struct {
		Budgets []struct {
			SpentNanos int64 `json:"spent_nanos"`
		}
	}
	json.NewDecoder(aresp.Body).Decode(&view)
	aresp.Body.Close()
	if len(view.Budgets) != 1 || view.Budgets[0].SpentNanos == 0 || view.Budgets[0].SpentNanos > endUserBudgetNanos {
		t.Errorf("admin budgets for alice: %d %+v", aresp.StatusCode, view)
	}

	// Restart: the new process seeds Alice's day from the stored usage.
	if err := g.Stop(); err != nil {
		t.Fatal(err)
	}
	g = startGatewayIn(t, dir, cfg, "FULCRUM_MASTER_KEY="+masterKey)
	if resp, body := openaiAs(t, g, secret, alice); resp.StatusCode != 429 {
		t.Errorf("alice after restart: %d %s", resp.StatusCode, body)
	}
	if resp, body := openaiAs(t, g, secret, "bob"); resp.StatusCode != 200 {
		t.Errorf("bob after restart: %d %s", resp.StatusCode, body)
	}
	g.Stop()
	st, err := open.Store(context.Background(), "sqlite://"+filepath.Join(dir, "fulcrum.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if spent := endUserSpend(t, st, id, alice); spent > endUserBudgetNanos {
		t.Errorf("alice spent %d nanodollars against a budget of %d", spent, endUserBudgetNanos)
	}
}

// TestEndUserBudgetConcurrent: 50 requests at once from one end user
// never spend more than the user's budget.
func TestEndUserBudgetConcurrent(t *testing.T) {
	u := startUpstreams(t)
	u.openai.Record(false)
	dir := t.TempDir()
	g := startGatewayIn(t, dir, endUserConfig(u), "FULCRUM_MASTER_KEY="+masterKey)
	id, secret := createKey(t, g, `{"name":"tenant"}`)
	var ok, refused atomic.Int64
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			switch resp, body := openaiAs(t, g, secret, "carol"); resp.StatusCode {
			case 200:
				ok.Add(1)
			case 429:
				refused.Add(1)
			default:
				t.Errorf("%d %s", resp.StatusCode, body)
			}
		})
	}
	wg.Wait()
	g.Stop()
	st, err := open.Store(context.Background(), "sqlite://"+filepath.Join(dir, "fulcrum.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs, err := st.Usage(context.Background(), store.UsageFilter{KeyID: id, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	spent := endUserSpend(t, st, id, "carol")
	t.Logf("50 at once: %d ok, %d refused, spent %d of %d nanodollars", ok.Load(), refused.Load(), spent, endUserBudgetNanos)
	if ok.Load() == 0 || refused.Load() == 0 || int64(len(recs)) != ok.Load() {
		t.Errorf("%d ok, %d refused, %d records", ok.Load(), refused.Load(), len(recs))
	}
	if spent > endUserBudgetNanos {
		t.Errorf("carol spent %d nanodollars against a budget of %d", spent, endUserBudgetNanos)
	}
}

func endUserSpend(t *testing.T, st store.Store, keyID, user string) int64 {
	t.Helper()
	recs, err := st.Usage(context.Background(), store.UsageFilter{KeyID: keyID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, r := range recs {
		if r.EndUser == user {
			n += r.CostNanos
		}
	}
	return n
}

// TestKeyEndUserBudget: a key's own end-user budget, set through the admin
// API on a gateway with no end_user_budget in its config, binds its users
// one by one.
func TestKeyEndUserBudget(t *testing.T) {
	u := startUpstreams(t)
	u.openai.Record(false)
	g := startGateway(t, u.config()+"metering: { flush_interval: 5ms }\n", "FULCRUM_MASTER_KEY="+masterKey)
	_, secret := createKey(t, g, `{"name":"per-user","user_budget_usd":"0.0005"}`)
	_, unlimited := createKey(t, g, `{"name":"no user budget"}`)
	n := exhaust(t, g, secret, "dan")
	if n < 1 {
		t.Fatalf("dan admitted %d times", n)
	}
	resp, body := openaiAs(t, g, secret, "dan")
	var oe openaiErr
	json.Unmarshal(body, &oe)
	checkEndUserRefusal(t, resp, oe.Error.Message, "dan")
	if resp, body := openaiAs(t, g, secret, "eve"); resp.StatusCode != 200 {
		t.Errorf("eve: %d %s", resp.StatusCode, body)
	}
	for range n + 2 {
		if resp, body := openaiAs(t, g, unlimited, "dan"); resp.StatusCode != 200 {
			t.Fatalf("dan on a key without a user budget: %d %s", resp.StatusCode, body)
		}
	}
}
