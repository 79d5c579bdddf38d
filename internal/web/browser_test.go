package web_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium finds the browser. The test skips only when none is installed
// and FULCRUM_TEST_BROWSER is unset; .ci/run installs Debian's chromium
// and sets it, so CI always drives a real browser.
func chromium(t *testing.T) string {
	for _, name := range []string{os.Getenv("FULCRUM_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("FULCRUM_TEST_BROWSER") != "" {
		t.Fatal("FULCRUM_TEST_BROWSER is set but no chromium is installed (apt-get install -y chromium)")
	}
	t.Skip("no chromium installed and FULCRUM_TEST_BROWSER unset: skipping the browser test (.ci/run installs chromium and runs it)")
	return ""
}

// TestDashboardInBrowser signs in with a real browser, reads every page
// against the traffic the test sent through the gateway, creates a key,
// uses it, revokes it, and saves a screenshot of each page.
func TestDashboardInBrowser(t *testing.T) {
	exe := chromium(t)
	g := startGateway(t)
	g.traffic(t)
	out := outDir(t)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.Headless,
		chromedp.WindowSize(1280, 1000), chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	// The browser lives as long as the first call's context: bound it all.
	// Generously: under CI's parallel race-enabled packages on a 2-core VM
	// the whole walk once took just over 120 s (each step has its own 20 s).
	ctx, cancel := context.WithTimeout(bctx, 300*time.Second)
	defer cancel()

	// Start the browser on ctx itself: a step's shorter timeout must not
	// own the browser.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	do := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, steps...); err != nil {
			loc, _ := chromedp.Run(ctx, chromedp.Location())
			body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
			t.Fatalf("%v (at %s):\n%s", err, loc, body)
		}
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	visible := func(id string) chromedp.Action[chromedp.Void] { return chromedp.WaitVisible(chromedp.CSS(id)) }

	// Sign in: the dashboard sends us to the form first.
	do(chromedp.Navigate(g.URL+"/ui/"), visible("#key"))
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasSuffix(loc, "/ui/login") {
		t.Errorf("unauthenticated /ui/ landed on %s", loc)
	}
	shot("login")
	do(chromedp.SendKeys(chromedp.CSS("#key"), masterKey), chromedp.Click(chromedp.CSS("#signin")), visible("#t-requests"))

	// Overview: 6 requests reached an upstream (the card number was
	// refused before any call), one attempt each, spend on both hostings.
	if got := text("#t-requests"); got != "6" {
		t.Errorf("requests tile = %q, want 6 (requests with an upstream attempt)", got)
	}
	if got := text("#t-attempts"); got != "6" {
		t.Errorf("attempts tile = %q, want 6", got)
	}
	if got := text("#t-spend"); got == "$0" {
		t.Errorf("spend tile = %q, want > 0", got)
	}
	if got := text("#t-savings"); got == "$0" {
		t.Errorf("savings tile = %q: self-hosted requests saved nothing against the reference", got)
	}
	byModel := text("#by-model")
	for _, m := range []string{"m-openai", "m-llama"} {
		if !strings.Contains(byModel, m) {
			t.Errorf("by-model table lacks %s:\n%s", m, byModel)
		}
	}
	bars, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("svg.chart rect").length`))
	if err != nil {
		t.Fatal(err)
	}
	if bars < 2 {
		t.Errorf("%d chart bars, want at least one per hosting", bars)
	}
	shot("overview")

	// Policy: one redaction, one refusal, the chain verified; the email
	// address and card number themselves appear nowhere.
	do(chromedp.Navigate(g.URL+"/ui/policy"), visible("#chain"))
	shot("policy")
	if got := text("#t-redacted"); got != "1" {
		t.Errorf("redacted = %q, want 1", got)
	}
	if got := text("#t-refused"); got != "1" {
		t.Errorf("refused = %q, want 1", got)
	}
	if got := text("#chain"); !strings.Contains(got, "intact") || !strings.Contains(got, "7 rows") {
		t.Errorf("chain status = %q, want intact with 7 rows", got)
	}
	html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(html, "jane.doe") || strings.Contains(html, "4111") {
		t.Error("the policy page shows a sensitive value")
	}

	// Routing: both targets with closed breakers.
	do(chromedp.Navigate(g.URL+"/ui/routing"), visible("#targets"))
	shot("routing")
	targets := text("#targets")
	for _, want := range []string{"gpt-4o", "llama-3.1-8b", "closed"} {
		if !strings.Contains(targets, want) {
			t.Errorf("targets table lacks %q:\n%s", want, targets)
		}
	}

	// Keys: create one with a budget, see its secret once, use it, revoke it.
	do(chromedp.Navigate(g.URL+"/ui/keys"), visible("#create-key"),
		chromedp.SendKeys(chromedp.CSS("#new-name"), "browser-key"),
		chromedp.SendKeys(chromedp.CSS("#new-team"), "search"),
		chromedp.SendKeys(chromedp.CSS("#new-budget"), "5"),
		chromedp.Click(chromedp.CSS("#create")), visible("#secret"))
	shot("keys-created")
	secret := text("#secret")
	if !strings.HasPrefix(secret, "fk-") && len(secret) < 20 {
		t.Fatalf("secret %q does not look like a key", secret)
	}
	if st := g.chat(t, secret, "m-openai", "hello"); st != 200 {
		t.Fatalf("the new key's secret does not work: %d", st)
	}
	row := `tr[data-key] `
	if got := text(row + ".name"); got != "browser-key" {
		t.Errorf("newest key row = %q", got)
	}
	do(chromedp.Navigate(g.URL+"/ui/keys"), visible("#keys"))
	if strings.Contains(text("body"), secret) {
		t.Error("the secret is shown again after the creating page")
	}
	if got := text(row + "td:nth-child(5)"); !strings.Contains(got, "of $5") {
		t.Errorf("budget cell = %q, want spend of $5", got)
	}
	// The revoke form navigates; a screenshot taken while that navigation
	// is in flight can hang, and the old page also matches #keys. Let the
	// form's answer arrive, then load the page afresh.
	do(chromedp.Click(chromedp.CSS(row + "button.danger")))
	time.Sleep(time.Second)
	do(chromedp.Navigate(g.URL+"/ui/keys"), visible("#keys"))
	shot("keys")
	if got := text(row + ".state"); got != "revoked" {
		t.Errorf("after revoke the key is %q", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for st := g.chat(t, secret, "m-openai", "hello"); st != http.StatusUnauthorized; st = g.chat(t, secret, "m-openai", "hello") {
		if time.Now().After(deadline) {
			t.Fatalf("revoked key still answered %d", st)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Reports: clear empty states when nothing is configured.
	do(chromedp.Navigate(g.URL+"/ui/reports"), visible("#advise-empty"))
	shot("reports")
	if got := text("#evals-empty"); !strings.Contains(got, "No evaluation reports") {
		t.Errorf("evals empty state = %q", got)
	}

	// Back to the overview for the README picture.
	do(chromedp.Navigate(g.URL+"/ui/"), visible("#t-requests"))
	shot("dashboard")
	t.Logf("screenshots in %s", out)
}
