package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/audit"
	"github.com/fulcrumhq/fulcrum/internal/store"
	"github.com/fulcrumhq/fulcrum/internal/web"
)

func client(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func post(t *testing.T, c *http.Client, u string, form url.Values, hdr ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// TestUIAuth: every page needs the session the master key buys; a wrong
// key, a forged cookie or a form without its CSRF token changes nothing.
func TestUIAuth(t *testing.T) {
	g := startGateway(t)
	c := client(t)
	for _, p := range []string{"/ui/", "/ui/policy", "/ui/routing", "/ui/keys", "/ui/reports"} {
		resp, err := c.Get(g.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/login" {
			t.Errorf("%s without a session: %d -> %q", p, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if st, body := post(t, c, g.URL+"/ui/login", url.Values{"key": {"wrong"}}); st != 401 || !strings.Contains(body, "not the master key") {
		t.Errorf("wrong key: %d", st)
	}
	// A forged session cookie.
	u, _ := url.Parse(g.URL + "/ui/")
	c.Jar.SetCookies(u, []*http.Cookie{{Name: "fulcrum_ui", Value: "9999999999.00ff", Path: "/ui"}})
	if st, _ := get(t, c, g.URL+"/ui/"); st != http.StatusSeeOther {
		t.Errorf("forged cookie: %d", st)
	}
	// A virtual key is not the master key.
	if st, _ := post(t, c, g.URL+"/ui/login", url.Values{"key": {""}}); st != 401 {
		t.Errorf("empty key: %d", st)
	}
	if st, _ := post(t, c, g.URL+"/ui/login", url.Values{"key": {masterKey}}); st != http.StatusSeeOther {
		t.Fatalf("master key: %d", st)
	}
	st, body := get(t, c, g.URL+"/ui/keys")
	if st != 200 {
		t.Fatalf("keys page: %d", st)
	}
	m := csrfRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no csrf token on the keys page")
	}
	// No token, a wrong token, a foreign origin: refused, nothing created.
	for _, tc := range []struct {
		form url.Values
		hdr  []string
	}{
		{url.Values{"name": {"k1"}}, nil},
		{url.Values{"name": {"k1"}, "csrf": {"00"}}, nil},
		{url.Values{"name": {"k1"}, "csrf": {m[1]}}, []string{"Origin", "https://evil.example"}},
	} {
		if st, _ := post(t, c, g.URL+"/ui/keys", tc.form, tc.hdr...); st != 403 {
			t.Errorf("forged post %v: %d, want 403", tc.form, st)
		}
	}
	if _, body := get(t, c, g.URL+"/ui/keys"); strings.Contains(body, ">k1<") {
		t.Error("a forged post created a key")
	}
	st, body = post(t, c, g.URL+"/ui/keys", url.Values{"name": {"k1"}, "csrf": {m[1]}, "budget_usd": {"abc"}})
	if st != 400 || !strings.Contains(body, "not an amount") {
		t.Errorf("bad budget: %d", st)
	}
	if st, _ = post(t, c, g.URL+"/ui/keys", url.Values{"name": {"k1"}, "csrf": {m[1]}, "budget_usd": {"2.50"}, "user_budget_usd": {"0.25"}}); st != 200 {
		t.Errorf("create: %d", st)
	}
	// The secret is on the creating page only.
	if _, body := get(t, c, g.URL+"/ui/keys"); !strings.Contains(body, ">k1<") || strings.Contains(body, `id="secret"`) {
		t.Error("key list: missing the key, or showing a secret again")
	} else if !strings.Contains(body, "each end user: $0.2500 daily") {
		t.Errorf("key list: no per-end-user budget:\n%s", body)
	}
	// Sign out ends the session in this browser.
	post(t, c, g.URL+"/ui/logout", url.Values{"csrf": {m[1]}})
	if st, _ := get(t, c, g.URL+"/ui/"); st != http.StatusSeeOther {
		t.Errorf("after sign-out: %d", st)
	}
}

// TestReportsShadow: the reports page summarises the stored shadow
// comparisons (agreement with its interval per candidate) and frames the
// full shadow report; without comparisons it says how to get some.
func TestReportsShadow(t *testing.T) {
	g := startGateway(t)
	c := client(t)
	if st, _ := post(t, c, g.URL+"/ui/login", url.Values{"key": {masterKey}}); st != http.StatusSeeOther {
		t.Fatalf("login: %d", st)
	}
	if st, body := get(t, c, g.URL+"/ui/reports"); st != 200 || !strings.Contains(body, `id="shadow-empty"`) {
		t.Fatalf("reports without comparisons: %d, empty state missing", st)
	}
	ss, ok := g.store.(store.Shadows)
	if !ok {
		t.Fatal("the store keeps no shadow comparisons")
	}
	now := time.Now().UTC()
	var rows []store.ShadowResult
	for i, v := range []string{"agree", "agree", "agree", "disagree"} {
		rows = append(rows, store.ShadowResult{Time: now.Add(-time.Duration(i+1) * time.Minute), RequestID: fmt.Sprintf("r%d", i),
			Route: "m-openai", Live: "m-openai", LiveProvider: "openai", LiveHosting: "proprietary",
			Candidate: "m-llama", CandidateProvider: "gpu", CandidateHosting: "self_hosted", Method: "equals", Verdict: v,
			LiveLatencyMS: 100, CandidateLatencyMS: 300, LiveCostNanos: 4000, CandidateCostNanos: 500})
	}
	if err := ss.InsertShadow(context.Background(), rows); err != nil {
		t.Fatal(err)
	}
	st, body := get(t, c, g.URL+"/ui/reports")
	if st != 200 || !strings.Contains(body, `id="shadow-table"`) || strings.Contains(body, `id="shadow-empty"`) {
		t.Fatalf("reports with comparisons: %d\n%s", st, body)
	}
	// 3 of 4 agree: 75.0%, Wilson 95% interval 30.1%–95.4%.
	for _, want := range []string{"m-llama", "m-openai", "75.0%", "30.1%", "95.4%", `src="/ui/shadow"`} {
		if !strings.Contains(body, want) {
			t.Errorf("reports page lacks %q", want)
		}
	}
	if st, body := get(t, c, g.URL+"/ui/shadow"); st != 200 || !strings.Contains(body, "m-llama") || !strings.Contains(body, "<svg") {
		t.Errorf("/ui/shadow: %d", st)
	}
}

// TestOverviewAttribution: spend is grouped by the tag keys the recent
// requests carried and by end user; without tags the page says how to
// send them.
func TestOverviewAttribution(t *testing.T) {
	g := startGateway(t)
	c := client(t)
	if st, _ := post(t, c, g.URL+"/ui/login", url.Values{"key": {masterKey}}); st != http.StatusSeeOther {
		t.Fatalf("login: %d", st)
	}
	if _, body := get(t, c, g.URL+"/ui/"); !strings.Contains(body, `id="attribution-empty"`) {
		t.Fatal("no attribution empty state before tagged traffic")
	}
	send := func(tags, user string) {
		body := fmt.Sprintf(`{"model":"m-openai","user":%q,"messages":[{"role":"user","content":"hello"}]}`, user)
		req, _ := http.NewRequest("POST", g.URL+"/v1/chat/completions", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+masterKey)
		req.Header.Set("X-Fulcrum-Tags", tags)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("tagged request: %d", resp.StatusCode)
		}
	}
	send("team=search,feature=summaries", "u-alice")
	send("team=search", "u-alice")
	send("team=ads", "u-bob")
	deadline := time.Now().Add(10 * time.Second)
	for {
		recs, _ := g.store.Usage(context.Background(), store.UsageFilter{})
		if len(recs) >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d usage records committed, want 3", len(recs))
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, body := get(t, c, g.URL+"/ui/")
	for _, want := range []string{`id="by-tag-feature"`, `id="by-tag-team"`, `id="by-user"`,
		"<td>search</td><td>2</td>", "<td>ads</td><td>1</td>", "<td>u-alice</td><td>2</td>", "<td>u-bob</td><td>1</td>", "<td>summaries</td><td>1</td>"} {
		if !strings.Contains(body, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	if strings.Contains(body, `id="attribution-empty"`) {
		t.Error("empty state shown with tagged traffic")
	}
}

// TestOverviewAtVolume: with more attempts in the last 24 hours than the
// raw sample holds, the overview read the oldest sampleSize of them:
// "requests (24 h)" stopped at the sample's size and the latency tiles
// described the start of the day. Now the day's attempts come from the
// summary (every one), the exact percentiles from the latest attempts,
// labelled so, and the day's from the rollups' histogram; the routing
// page counts fallbacks among the latest attempts.
func TestOverviewAtVolume(t *testing.T) {
	defer web.SetSampleSize(10)()
	g := startGateway(t)
	now := time.Now()
	var recs []store.UsageRecord
	for i := range 20 { // early in the day: slow, and each a fallback
		recs = append(recs, store.UsageRecord{Time: now.Add(-22*time.Hour + time.Duration(i)*time.Second), RequestID: fmt.Sprintf("old-%d", i),
			Attempt: 2, Model: "m-openai", Provider: "openai", Hosting: "proprietary", Status: 200, LatencyMS: 4000})
	}
	for i := range 10 { // the latest: fast
		recs = append(recs, store.UsageRecord{Time: now.Add(-time.Minute + time.Duration(i)*time.Second), RequestID: fmt.Sprintf("new-%d", i),
			Attempt: 1, Model: "m-openai", Provider: "openai", Hosting: "proprietary", Status: 200, LatencyMS: 30})
	}
	if _, err := g.store.Commit(context.Background(), store.Batch{Usage: recs}); err != nil {
		t.Fatal(err)
	}
	c := client(t)
	if st, _ := post(t, c, g.URL+"/ui/login", url.Values{"key": {masterKey}}); st != http.StatusSeeOther {
		t.Fatalf("login: %d", st)
	}
	_, body := get(t, c, g.URL+"/ui/")
	for _, want := range []string{
		`<b id="t-requests">30</b><span>upstream attempts (24 h; requests are counted up to 10 attempts)</span>`,
		`<b id="t-p50">30 ms</b><span>p50 attempt latency (latest 10 attempts; 24 h: at most 5000 ms)</span>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	var decisions []store.AuditRow
	for i := range 15 {
		action := "allow"
		if i >= 10 { // the latest five
			action = "block"
		}
		decisions = append(decisions, store.AuditRow{Time: now.Add(time.Duration(i-20) * time.Minute), RequestID: fmt.Sprintf("d-%d", i), Action: action})
	}
	if _, err := g.store.Commit(context.Background(), store.Batch{Audit: decisions, Hash: audit.Hash}); err != nil {
		t.Fatal(err)
	}
	_, body = get(t, c, g.URL+"/ui/policy")
	for _, want := range []string{
		`<b id="t-audited">10</b><span>latest policy decisions (of 14 d; the counts below are theirs)</span>`,
		`<b id="t-refused">5</b>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("policy page lacks %q", want)
		}
	}
	_, body = get(t, c, g.URL+"/ui/routing")
	if want := `<b id="fallbacks">0</b> attempts after a request's first, of 10 attempts.`; !strings.Contains(body, want) {
		t.Errorf("routing page lacks %q", want)
	}

	// All of the day fits in the sample: the day's own figures.
	defer web.SetSampleSize(100)()
	_, body = get(t, c, g.URL+"/ui/")
	for _, want := range []string{
		`<b id="t-requests">30</b><span>requests (24 h)</span>`,
		`<b id="t-p50">4000 ms</b><span>p50 attempt latency (24 h)</span>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("overview with the whole day sampled lacks %q", want)
		}
	}
}
