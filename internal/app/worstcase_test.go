package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/meter"
)

// worstUpstream answers POST /v1/chat/completions as OpenAI does, billing
// each request its worst case: one prompt token per byte of message text
// (what a real tokenizer counts for text such as "1 1 1"), and every output
// token it allowed (max_tokens, else outputLimit), for each of n choices,
// and each image what gpt-4o-mini bills the largest one it takes (2,833 +
// 8 tiles × 5,667 tokens), 765 tokens for other models. Its answer is
// never a grade, so a cascade judge fails and escalates.
func worstUpstream(t *testing.T, outputLimit int) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Model     string `json:"model"`
			MaxTokens *int   `json:"max_tokens"`
			MaxCT     *int   `json:"max_completion_tokens"`
			N         int    `json:"n"`
			Messages  []struct {
				Content json.RawMessage `json:"content"`
			} `json:"messages"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		in := 0
		for _, m := range req.Messages {
			var text string
			if json.Unmarshal(m.Content, &text) == nil {
				in += len(text)
				continue
			}
			var parts []struct {
				Type string `json:"type"`
				Text string `json:"text"`
			}
			_ = json.Unmarshal(m.Content, &parts)
			for _, p := range parts {
				in += len(p.Text)
				if p.Type == "image_url" {
					if strings.Contains(req.Model, "4o-mini") {
						in += 2833 + 8*5667
					} else {
						in += 765
					}
				}
			}
		}
		out := outputLimit
		for _, v := range []*int{req.MaxCT, req.MaxTokens} {
			if v != nil {
				out = *v
			}
		}
		out *= max(req.N, 1)
		time.Sleep(20 * time.Millisecond) // let concurrent requests overlap
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":%q,`+
			`"choices":[{"index":0,"message":{"role":"assistant","content":"not a grade"},"finish_reason":"length"}],`+
			`"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}}`, req.Model, in, out, in+out)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// Budgets hold against requests that cost their full worst case, sent
// concurrently: whatever the request, the key never spends past its budget.
// A cascade bills every tier it escalates through and a judge call per
// tier (it reserved only its dearest tier: 20 requests on a $1 budget spent
// $3.30); a prompt of one-byte tokens ("a\n" repeated) is billed three times what a
// three-bytes-a-token estimate reserved.
func TestBudgetHoldsAgainstWorstCaseRequests(t *testing.T) {
	ones := strings.Repeat("a\n", 5_000)
	if n := meter.EstimateTokens("gpt-4o", ones); n != int64(len(ones)) {
		t.Fatalf("the tokenizer counts %d tokens in %d bytes of %q…; the fake bills one a byte", n, len(ones), ones[:8])
	}
	for _, tc := range []struct {
		name, model, text string
		maxTokens         int
		budget            string
		image             bool
	}{
		// Per request: gpt-4o-mini 100 out, a gpt-4o judge writing its
		// 16,384-token limit ($0.164), gpt-4o 100 out.
		{"cascade with judge", "smart", "what is 2+2?", 100, "1.00", false},
		// Per request: 10,000 input tokens of gpt-4o ($0.025).
		{"one-byte tokens", "m", ones, 1, "0.05", false},
		// Per request: one 2048 × 768 image to gpt-4o-mini, 48,169 input
		// tokens ($0.0072); 1,600 were reserved.
		{"image to gpt-4o-mini", "mini", "what is in it?", 1, "0.05", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := worstUpstream(t, 16384)
			c := parse(t, `
server: { master_key: sk-master-test }
storage: { data_dir: `+t.TempDir()+` }
providers:
  - { name: oa, type: openai, base_url: "`+up.URL+`/v1", api_key: sk-up }
models:
  - { name: mini, provider: oa, upstream: gpt-4o-mini }
  - { name: m, provider: oa, upstream: gpt-4o }
routes:
  - { name: smart, strategy: cascade, targets: [mini, m], cascade: { judge: { model: m, min_score: 7 } } }
policy:
  policies:
    - { name: default, classes: { image: allow } }
`)
			_, srv := serve(t, c)
			resp, body := postAs(t, srv.URL+"/admin/keys", "sk-master-test", `{"name":"k","budget_usd":"`+tc.budget+`","period":"monthly"}`)
			var k struct{ ID, Secret string }
			if err := json.Unmarshal([]byte(body), &k); err != nil || resp.StatusCode != 201 {
				t.Fatalf("create key: %d %s", resp.StatusCode, body)
			}
			var content any = tc.text
			if tc.image {
				content = []any{map[string]any{"type": "text", "text": tc.text},
					map[string]any{"type": "image_url", "image_url": map[string]string{"url": "https://example.com/wide.png", "detail": "high"}}}
			}
			req, _ := json.Marshal(map[string]any{"model": tc.model, "max_tokens": tc.maxTokens,
				"messages": []any{map[string]any{"role": "user", "content": content}}})
			var wg sync.WaitGroup
			var mu sync.Mutex
			codes := map[int]int{}
			for range 20 {
				wg.Go(func() {
					status := chatAs(t, srv.URL, k.Secret, req)
					mu.Lock()
					codes[status]++
					mu.Unlock()
				})
			}
			wg.Wait()
			var b keyBudgetRow
			for deadline := time.Now().Add(5 * time.Second); ; {
				b = keyBudget(t, srv.URL, k.ID)
				if b.ReservedNanos == 0 || time.Now().After(deadline) {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			t.Logf("statuses %v: spent $%s of $%s", codes, fmtNanos(b.SpentNanos), fmtNanos(b.LimitNanos))
			if codes[200] == 0 {
				t.Fatalf("nothing admitted: %v", codes)
			}
			if b.SpentNanos > b.LimitNanos {
				t.Errorf("spent $%s of a $%s budget (%d requests admitted)", fmtNanos(b.SpentNanos), fmtNanos(b.LimitNanos), codes[200])
			}
		})
	}
}

// chatAs posts a chat request with the key's secret and returns the
// status (0 when the request failed, reported on t).
func chatAs(t *testing.T, base, secret string, body []byte) int {
	r, err := http.NewRequest(http.MethodPost, base+"/v1/chat/completions", bytes.NewReader(body))
	if err != nil {
		t.Error(err)
		return 0
	}
	r.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Error(err)
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// keyBudgetRow is a key's one budget as /admin/budgets reports it.
type keyBudgetRow struct {
	LimitNanos    int64 `json:"limit_nanos"`
	SpentNanos    int64 `json:"spent_nanos"`
	ReservedNanos int64 `json:"reserved_nanos"`
}

// keyBudget reads key id's budget (the test's keys have exactly one).
func keyBudget(t *testing.T, base, id string) keyBudgetRow {
	t.Helper()
	body := getAs(t, base+"/admin/budgets?scope=key:"+id, "sk-master-test")
	var st struct{ Budgets []keyBudgetRow }
	if err := json.Unmarshal([]byte(body), &st); err != nil || len(st.Budgets) != 1 {
		t.Fatalf("budgets: %v %s", err, body)
	}
	return st.Budgets[0]
}

func fmtNanos(n int64) string { return fmt.Sprintf("%d.%09d", n/1e9, n%1e9) }

func getAs(t *testing.T, url, secret string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// A key's tpm counts every output token a request allows at admission
// (max_tokens × n, as OpenAI and Anthropic count theirs), so a burst of
// concurrent requests cannot be admitted on their prompts alone and then
// bill their outputs: 20 at once with max_tokens 400 against tpm 2,000
// used 7,638 tokens when only prompts counted.
func TestTPMCountsMaxTokens(t *testing.T) {
	up := worstUpstream(t, 16384)
	c := parse(t, `
server: { master_key: sk-master-test }
storage: { data_dir: `+t.TempDir()+` }
providers:
  - { name: oa, type: openai, base_url: "`+up.URL+`/v1", api_key: sk-up }
models:
  - { name: m, provider: oa, upstream: gpt-4o }
`)
	_, srv := serve(t, c)
	resp, body := postAs(t, srv.URL+"/admin/keys", "sk-master-test", `{"name":"k","tpm":2000}`)
	var k struct{ Secret string }
	if err := json.Unmarshal([]byte(body), &k); err != nil || resp.StatusCode != 201 {
		t.Fatalf("create key: %d %s", resp.StatusCode, body)
	}
	const req = `{"model":"m","max_tokens":400,"messages":[{"role":"user","content":"hi"}]}`
	var wg sync.WaitGroup
	var mu sync.Mutex
	var admitted, tokens int64
	for range 20 {
		wg.Go(func() {
			r, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/chat/completions", strings.NewReader(req))
			r.Header.Set("Authorization", "Bearer "+k.Secret)
			resp, err := http.DefaultClient.Do(r)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			var out struct {
				Usage struct {
					Total int64 `json:"total_tokens"`
				} `json:"usage"`
			}
			if resp.StatusCode != 200 {
				return
			}
			if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			admitted++
			tokens += out.Usage.Total
			mu.Unlock()
		})
	}
	wg.Wait()
	t.Logf("%d of 20 admitted, %d tokens used against tpm 2000", admitted, tokens)
	if admitted == 0 || tokens > 2000 {
		t.Errorf("%d requests admitted used %d tokens within a minute, tpm 2000", admitted, tokens)
	}
}

// A shadow call reserves its worst case as the request's admission does:
// a prompt of one-byte tokens is billed a token a byte on the candidate
// too, and every request is shadowed, so requests and their shadows
// together never spend past the key's budget. (The shadow reservation
// estimated three bytes a token: 20 concurrent requests spent $0.12-0.14 of
// $0.10.)
func TestShadowReservesWorstCase(t *testing.T) {
	// A judge sets no max_tokens: on gpt-4o it may write 16,384 tokens
	// ($0.16), more than the whole budget; it was settled after its call,
	// not reserved before, so every sampled request's judge ran.
	for _, judge := range []string{"", ", judge: m"} {
		t.Run("judge="+strconv.FormatBool(judge != ""), func(t *testing.T) { shadowWorstCase(t, judge) })
	}
}

func shadowWorstCase(t *testing.T, judge string) {
	up := worstUpstream(t, 16384)
	c := parse(t, `
server: { master_key: sk-master-test }
storage: { data_dir: `+t.TempDir()+` }
providers:
  - { name: oa, type: openai, base_url: "`+up.URL+`/v1", api_key: sk-up }
models:
  - { name: m, provider: oa, upstream: gpt-4o, shadow: { candidates: [m2], sample_rate: 1`+judge+` } }
  - { name: m2, provider: oa, upstream: gpt-4.1 }
`)
	_, srv := serve(t, c)
	resp, body := postAs(t, srv.URL+"/admin/keys", "sk-master-test", `{"name":"k","budget_usd":"0.10","period":"monthly"}`)
	var k struct{ ID, Secret string }
	if err := json.Unmarshal([]byte(body), &k); err != nil || resp.StatusCode != 201 {
		t.Fatalf("create key: %d %s", resp.StatusCode, body)
	}
	// 10,000 one-byte tokens: $0.025 on gpt-4o, $0.02 on gpt-4.1.
	req, _ := json.Marshal(map[string]any{"model": "m", "max_tokens": 1,
		"messages": []any{map[string]string{"role": "user", "content": strings.Repeat("a\n", 5_000)}}})
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() { chatAs(t, srv.URL, k.Secret, req) })
	}
	wg.Wait()
	// Shadow calls run after their requests: wait until nothing is held
	// and the spend has stopped moving.
	var b keyBudgetRow
	var last int64 = -1
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		b = keyBudget(t, srv.URL, k.ID)
		if b.ReservedNanos == 0 && b.SpentNanos == last {
			break
		}
		last = b.SpentNanos
	}
	t.Logf("spent $%s of $%s", fmtNanos(b.SpentNanos), fmtNanos(b.LimitNanos))
	if b.SpentNanos == 0 {
		t.Fatal("nothing spent")
	}
	if b.SpentNanos > b.LimitNanos {
		t.Errorf("requests and shadows spent $%s of a $%s budget", fmtNanos(b.SpentNanos), fmtNanos(b.LimitNanos))
	}
}
