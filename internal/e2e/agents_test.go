package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/fake"
)

// The real coding agents, driven non-interactively through the real binary
// against a fake of every provider kind: Claude Code (Anthropic Messages
// ingress) and Codex CLI (OpenAI Responses ingress). .ci/run installs the
// pinned npm packages and sets FULCRUM_TEST_AGENTS to their bin directory;
// without it the test is skipped (and says so), with it a missing agent
// fails the test.
//
// The fakes answer by the convention of package fake: "[[plain]]" makes
// a text answer although the agent declares tools, and
// "[[call:NAME ARGS]]" makes the first turn a call to one of the agent's
// own tools (Claude Code's Read, Codex's exec_command); the agent runs it
// and the second turn, carrying the tool's result, is answered
// "Tool said: <result>".

// agentBin returns the path of an agent's executable, skipping the test
// when the agents are not installed.
func agentBin(t *testing.T, name string) string {
	t.Helper()
	dir := os.Getenv("FULCRUM_TEST_AGENTS")
	if dir == "" {
		t.Skip("FULCRUM_TEST_AGENTS is not set: .ci/run installs the pinned coding agents and sets it")
	}
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("FULCRUM_TEST_AGENTS=%s but %s is missing: %v", dir, name, err)
	}
	return p
}

// agentRun runs an agent with a deadline and returns its combined output.
func agentRun(t *testing.T, dir string, env []string, bin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = append(agentBaseEnv(), env...)
	cmd.Stdin = nil
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// agentBaseEnv is a minimal environment: no real provider keys or proxies
// of the developer's leak into the agents, which must only see the gateway.
func agentBaseEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "LANG", "TERM", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// upstreamLog returns the fake's recorded requests for a provider of the
// matrix config.
func (u *upstreams) log(provider string) *fake.Log {
	switch provider {
	case "p-openai":
		return &u.openai.Log
	case "p-anthropic":
		return &u.anthropic.Log
	case "p-gemini":
		return &u.gemini.Log
	case "p-ollama":
		return &u.ollama.Log
	case "p-bedrock":
		return &u.bedrock.Log
	case "p-azure":
		return &u.azure.Log
	case "p-vertex":
		return &u.vertex.Log
	case "p-mistral":
		return &u.mistral.Log
	}
	panic("no fake for provider " + provider)
}

// agentCase is one kind of exchange an agent goes through.
type agentCase struct {
	name string
	// prompt builds the prompt from the file the tool case reads.
	prompt func(file string) string
	// events: the agent writes its streamed output (one JSON event a
	// line) instead of its answer's text, and the answer is read from the
	// event that carries it. The upstream requests are the same either
	// way (both agents stream from the gateway whatever they print), so
	// the tool case prints events and the plain case text: each output
	// format and each exchange is covered without a run for every pair.
	events bool
	// want are substrings of the agent's answer.
	want func(file string) []string
	// calls is how many requests the upstream must receive.
	calls int
}

// agentCases are the exchanges each agent goes through over every
// provider: a one-turn answer printed as text, and a call of the agent's
// own tool (tool names its call marker) whose second turn, carrying the
// tool's result, is answered "Tool said: <result>", printed as events.
func agentCases(tool func(file string) string) []agentCase {
	return []agentCase{
		{name: "plain", prompt: func(string) string { return "[[plain]] say pong" },
			want: func(string) []string { return []string{"Hello! You said:", "say pong"} }, calls: 1},
		{name: "tool-events", prompt: tool, events: true,
			want: func(string) []string { return []string{"Tool said:", agentFileText} }, calls: 2},
	}
}

// claudeAnswer is the answer in Claude Code's stream-json output: the
// text of its "result" event.
func claudeAnswer(out string) (string, bool) {
	for line := range strings.Lines(out) {
		var ev struct{ Type, Result string }
		if json.Unmarshal([]byte(line), &ev) == nil && ev.Type == "result" {
			return ev.Result, true
		}
	}
	return "", false
}

// codexAnswer is the answer in Codex's --json output: the text of the
// last completed agent_message item.
func codexAnswer(out string) (string, bool) {
	answer, ok := "", false
	for line := range strings.Lines(out) {
		var ev struct {
			Type string
			Item struct{ Type, Text string }
		}
		if json.Unmarshal([]byte(line), &ev) == nil && ev.Type == "item.completed" && ev.Item.Type == "agent_message" {
			answer, ok = ev.Item.Text, true
		}
	}
	return answer, ok
}

const agentFileText = "hello-from-file-42"

func TestClaudeCode(t *testing.T) {
	claude := agentBin(t, "claude")
	u := startUpstreams(t)
	g := startGateway(t, u.config())
	cases := agentCases(func(file string) string {
		return fmt.Sprintf(`read the file [[call:Read {"file_path":%q}]]`, file)
	})
	for _, pm := range providerModels {
		for _, tc := range cases {
			t.Run(pm.model+"/"+tc.name, func(t *testing.T) {
				work, home := t.TempDir(), t.TempDir()
				file := filepath.Join(work, "notes.txt")
				if err := os.WriteFile(file, []byte(agentFileText+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				log := u.log(pm.provider)
				log.Reset()
				env := []string{
					"HOME=" + home,
					"ANTHROPIC_BASE_URL=" + g.URL,
					"ANTHROPIC_API_KEY=sk-agent-test",
					"ANTHROPIC_MODEL=" + pm.model,
					"ANTHROPIC_SMALL_FAST_MODEL=" + pm.model,
					"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
					"DISABLE_AUTOUPDATER=1",
				}
				format := []string{"--output-format", "text"}
				if tc.events {
					format = []string{"--output-format", "stream-json", "--verbose"}
				}
				args := append([]string{"-p", tc.prompt(file), "--model", pm.model}, format...)
				out, err := agentRun(t, work, env, claude, args...)
				if err != nil {
					t.Fatalf("claude %v: %v\n%s\ngateway log:\n%s", args, err, out, tail(g.Logs(), 20))
				}
				answer, ok := out, true
				if tc.events {
					answer, ok = claudeAnswer(out)
				}
				if !ok {
					t.Fatalf("claude output has no result event:\n%s", out)
				}
				for _, w := range tc.want(file) {
					if !strings.Contains(answer, w) {
						t.Errorf("claude answer lacks %q:\n%s", w, out)
					}
				}
				checkAgentUpstream(t, log, pm.provider, tc.calls)
			})
		}
	}
}

func TestCodex(t *testing.T) {
	codex := agentBin(t, "codex")
	u := startUpstreams(t)
	g := startGateway(t, u.config())
	cases := agentCases(func(file string) string {
		return fmt.Sprintf(`show the file [[call:exec_command {"cmd":"cat %s"}]]`, file)
	})
	for _, pm := range providerModels {
		for _, tc := range cases {
			t.Run(pm.model+"/"+tc.name, func(t *testing.T) {
				work, home := t.TempDir(), t.TempDir()
				file := filepath.Join(work, "notes.txt")
				if err := os.WriteFile(file, []byte(agentFileText+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				log := u.log(pm.provider)
				log.Reset()
				env := []string{"HOME=" + home, "CODEX_HOME=" + home, "FULCRUM_KEY=sk-agent-test"}
				args := []string{"exec", "--skip-git-repo-check", "--ephemeral",
					"-c", "model_provider=fulcrum",
					"-c", fmt.Sprintf(`model_providers.fulcrum={name="fulcrum",base_url=%q,env_key="FULCRUM_KEY",wire_api="responses"}`, g.URL+"/v1"),
					"-m", pm.model}
				if tc.events {
					args = append(args, "--json")
				}
				args = append(args, tc.prompt(file))
				out, err := agentRun(t, work, env, codex, args...)
				if err != nil {
					t.Fatalf("codex %v: %v\n%s\ngateway log:\n%s", args, err, out, tail(g.Logs(), 20))
				}
				answer, ok := out, true
				if tc.events {
					answer, ok = codexAnswer(out)
				}
				if !ok {
					t.Fatalf("codex output has no completed agent_message item:\n%s", out)
				}
				for _, w := range tc.want(file) {
					if !strings.Contains(answer, w) {
						t.Errorf("codex answer lacks %q:\n%s", w, out)
					}
				}
				checkAgentUpstream(t, log, pm.provider, tc.calls)
			})
		}
	}
}

// checkAgentUpstream asserts the fake got exactly calls requests, each a
// valid JSON body, and that no gateway-only header reached it.
func checkAgentUpstream(t *testing.T, log *fake.Log, provider string, calls int) {
	t.Helper()
	reqs := modelCalls(log.All())
	if len(reqs) != calls {
		var paths []string
		for _, r := range log.All() {
			paths = append(paths, r.Method+" "+r.Path)
		}
		t.Fatalf("%s received %d model calls, want %d: %v", provider, len(reqs), calls, paths)
	}
	for _, r := range reqs {
		if !json.Valid(r.Body) {
			t.Errorf("%s received an invalid JSON body: %.200s", provider, r.Body)
		}
		if r.Header.Get("X-Api-Key") == "sk-agent-test" || strings.Contains(r.Header.Get("Authorization"), "sk-agent-test") {
			t.Errorf("%s received the client's credential instead of the provider's", provider)
		}
	}
}

// modelCalls drops model listings, token requests and other side
// requests from a log.
func modelCalls(all []fake.Request) []fake.Request {
	var out []fake.Request
	for _, r := range all {
		if r.Method == "POST" && !strings.Contains(r.Path, "token") {
			out = append(out, r)
		}
	}
	return out
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
