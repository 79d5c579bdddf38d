package e2e

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/audit"
	"github.com/fulcrumhq/fulcrum/internal/store"
	"github.com/fulcrumhq/fulcrum/internal/store/open"
)

// TestKill9KeepsCompletedRecords kills the gateway with SIGKILL under load
// and checks that every request whose response completed has its usage
// record once the gateway has started again.
func TestKill9KeepsCompletedRecords(t *testing.T) {
	u := startUpstreams(t)
	u.openai.Record(false)
	dir := t.TempDir()
	cfg := u.config()
	g := startGatewayIn(t, dir, cfg, "FULCRUM_MASTER_KEY="+masterKey)

	var (
		mu        sync.Mutex
		completed []string
		stop      atomic.Bool
		wg        sync.WaitGroup
	)
	client := &http.Client{Timeout: 10 * time.Second}
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				body := `{"model":"m-openai","messages":[{"role":"user","content":"hi"}]}`
				if i%2 == 1 {
					body = `{"model":"m-anthropic","max_tokens":20,"stream":true,"messages":[{"role":"user","content":"hi"}]}`
				}
				path := "/v1/chat/completions"
				if i%2 == 1 {
					path = "/v1/messages"
				}
				req, _ := http.NewRequest("POST", g.URL+path, strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+masterKey)
				resp, err := client.Do(req)
				if err != nil {
					continue
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				// Completed means: the whole answer arrived.
				done := err == nil && resp.StatusCode == 200 &&
					(strings.HasSuffix(string(b), "}") || strings.Contains(string(b), "event: message_stop"))
				if done {
					mu.Lock()
					completed = append(completed, resp.Header.Get("X-Request-Id"))
					mu.Unlock()
				}
			}
		}(w)
	}
	time.Sleep(1500 * time.Millisecond)
	g.Kill()
	stop.Store(true)
	wg.Wait()
	if len(completed) < 50 {
		t.Fatalf("only %d requests completed before the kill", len(completed))
	}

	// Start again on the same data directory: the journal is replayed.
	g2 := startGatewayIn(t, dir, cfg, "FULCRUM_MASTER_KEY="+masterKey)
	if err := g2.Stop(); err != nil {
		t.Fatal(err)
	}
	st, err := open.Store(context.Background(), "sqlite://"+filepath.Join(dir, "fulcrum.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs, err := st.Usage(context.Background(), store.UsageFilter{Limit: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]int{}
	for _, r := range recs {
		have[r.RequestID]++
	}
	missing := 0
	for _, id := range completed {
		if have[id] == 0 {
			missing++
			if missing < 5 {
				t.Errorf("completed request %s has no usage record", id)
			}
		}
	}
	for id, n := range have {
		if n > 1 {
			t.Errorf("request %s recorded %d times", id, n)
		}
	}
	// Every upstream call has its audit row, written in the same journal
	// line as its usage record: none lost, none doubled, chain intact.
	res, err := audit.Verify(context.Background(), st)
	if err != nil {
		t.Fatalf("audit chain after kill -9 and replay: %v (bad row %+v)", err, res.Bad)
	}
	rows, err := st.Audit(context.Background(), store.AuditFilter{Limit: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	type call struct {
		id, provider string
		us           int64
	}
	audited := map[call]int{}
	for _, r := range rows {
		audited[call{r.RequestID, r.Chosen, r.Time.UnixMicro()}]++
	}
	unaudited := 0
	for _, r := range recs {
		n := audited[call{r.RequestID, r.Provider, r.Time.UnixMicro()}]
		if n != 1 {
			unaudited++
			if unaudited < 5 {
				t.Errorf("upstream call %s attempt %d on %s (%s) has %d audit rows, want 1", r.RequestID, r.Attempt, r.Provider, r.Hosting, n)
			}
		}
	}
	if len(rows) != len(recs) {
		t.Errorf("%d audit rows for %d upstream calls", len(rows), len(recs))
	}
	t.Logf("%d completed before kill -9, %d records stored, %d missing, %d audit rows (chain of %d verified)", len(completed), len(recs), missing, len(rows), res.Rows)
}
