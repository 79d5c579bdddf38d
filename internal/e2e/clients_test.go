package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Third-party client libraries, driven through the real binary against a
// fake of every provider kind: the official OpenAI and Anthropic
// JavaScript SDKs, the Vercel AI SDK (whose default OpenAI provider speaks
// the Responses API), LangChain (ChatOpenAI with and without
// useResponsesApi, ChatAnthropic) and the OpenAI Agents SDK (an agent with
// one function tool, over the Responses API and Chat Completions). test/clients/clients.mjs makes the calls
// and reports each; this test judges them. .ci/run installs the pinned
// packages and sets FULCRUM_TEST_CLIENTS; without it the test is skipped.

// clientLine is one check's report from clients.mjs.
type clientLine struct {
	Client, Check, Model string
	OK                   bool
	Text                 string
	Tools                []string
	Usage                float64
	Status               int
	Type, Code, Param    string
	Error                string
}

// strictToolRefusers are the models whose provider cannot honour a tool's
// strict: true and refuses it (docs/providers/ollama.md). The Agents SDK
// sends strict: true for every tool with a zod schema, its default; its
// ".nonstrict" checks declare strict: false and must pass everywhere.
// (Vertex AI Gemini honours it with mode VALIDATED, also on the turn
// after a forced call, when the SDK has reset tool_choice: the
// ".required" checks.)
var strictToolRefusers = map[string]bool{"m-ollama": true}

// reasoningRefusers are the models whose fake cannot reason: an explicit
// reasoning.effort is a 400 naming it (README, Reasoning).
var reasoningRefusers = map[string]bool{"m-ollama": true, "m-azure": true, "m-mistral": true}

func TestJSClients(t *testing.T) {
	dir := os.Getenv("FULCRUM_TEST_CLIENTS")
	if dir == "" {
		t.Skip("FULCRUM_TEST_CLIENTS is not set: .ci/run installs the pinned client libraries (test/clients) and sets it")
	}
	script := filepath.Join(dir, "clients.mjs")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "openai")); err != nil {
		t.Fatalf("FULCRUM_TEST_CLIENTS=%s but its packages are not installed: %v", dir, err)
	}
	u := startUpstreams(t)
	g := startGateway(t, u.config())

	var models []string
	for _, pm := range providerModels {
		models = append(models, pm.model)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", script)
	cmd.Dir = dir
	cmd.Env = append(agentBaseEnv(), "FULCRUM_URL="+g.URL, "FULCRUM_KEY=sk-client-test", "MODELS="+strings.Join(models, ","))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node clients.mjs: %v\n%s\ngateway log:\n%s", err, stderr.String(), tail(g.Logs(), 20))
	}

	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var l clientLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("bad report line %q: %v", sc.Text(), err)
		}
		seen[l.Check]++
		t.Run(l.Model+"/"+l.Check, func(t *testing.T) { judgeClient(t, l) })
	}
	// Every check ran for every model: a check that silently vanished from
	// the script must not pass.
	for _, c := range []string{
		"openai.chat", "openai.chat.stream", "openai.responses", "openai.responses.stream", "openai.responses.tools", "openai.responses.previous",
		"anthropic.messages", "anthropic.stream", "anthropic.tools", "anthropic.thinking.stream",
		"ai.responses", "ai.responses.stream", "ai.responses.tools", "ai.chat", "ai.anthropic", "ai.anthropic.stream",
		"langchain.responses", "langchain.responses.stream", "langchain.chat", "langchain.anthropic",
		"agents.responses.tools", "agents.responses.nonstrict.tools", "agents.chat.tools", "agents.chat.nonstrict.tools",
		"agents.responses.nonstrict.stream.tools", "agents.chat.nonstrict.stream.tools", "agents.responses.reasoning.nonstrict.tools",
		"agents.responses.reasoning.nonstrict.stream.tools", "agents.chat.reasoning.nonstrict.tools", "agents.chat.reasoning.nonstrict.stream.tools",
		"agents.responses.required.tools", "agents.chat.required.tools", "agents.responses.output", "agents.chat.output",
		"agents.responses.output.tools", "agents.chat.output.tools", "agents.responses.truncation",
	} {
		if seen[c] != len(models) {
			t.Errorf("check %s reported %d times, want once per model (%d)", c, seen[c], len(models))
		}
	}
	// And each provider's fake was reached: no answer came from anywhere else.
	for _, pm := range providerModels {
		if n := len(u.log(pm.provider).All()); n == 0 {
			t.Errorf("%s received no request", pm.provider)
		}
	}
}

// judgeClient checks one report against the fakes' convention (package
// fake): a plain prompt is answered "Hello! You said: <prompt>", a tool
// declared with a user turn is called with fake.ToolArgs, and a tool
// result is answered "Tool said: <result>".
func judgeClient(t *testing.T, l clientLine) {
	t.Helper()
	if strings.HasPrefix(l.Check, "agents.") && strings.HasSuffix(l.Check, ".tools") && !strings.Contains(l.Check, "nonstrict") &&
		!strings.Contains(l.Check, ".output") && strictToolRefusers[l.Model] {
		// Refused by the gateway, as the OpenAI error object the SDK
		// surfaces: 400 invalid_request_error, code
		// unsupported_parameter, param naming the tool's strict.
		// With a forced call (".required"), the tool_choice it cannot
		// honour either may be named first.
		forced := strings.Contains(l.Check, ".required.") && l.Param == "tool_choice"
		if l.OK || l.Status != 400 || l.Type != "invalid_request_error" || l.Code != "unsupported_parameter" ||
			!forced && (l.Param != "tools[0].strict" || !strings.Contains(l.Error, "strict: false")) {
			t.Fatalf("strict tool on %s: ok %v, status %d type %q code %q param %q: %s; want the documented 400 naming tools[0].strict",
				l.Model, l.OK, l.Status, l.Type, l.Code, l.Param, l.Error)
		}
		return
	}
	if !l.OK {
		// Thinking is translated where the target has an equivalent and
		// refused precisely where it has none: a 400 invalid_request_error
		// naming the field (thinking, or the reasoning parameter it became
		// when the upstream model refuses it), which the SDK surfaces as an
		// APIError.
		// The agent's reasoning.effort likewise, where the fake's model
		// cannot reason; on Claude (Bedrock's fake checks the signature)
		// the reasoning it gives back by id must keep its signature.
		refusable := l.Check == "anthropic.thinking.stream" ||
			(strings.HasPrefix(l.Check, "agents.responses.reasoning.") || strings.HasPrefix(l.Check, "agents.chat.reasoning.")) && reasoningRefusers[l.Model]
		if refusable && l.Status == 400 && l.Type == "invalid_request_error" &&
			(strings.Contains(l.Error, "thinking") || strings.Contains(l.Error, "reasoning")) {
			t.Logf("refused precisely: %s", l.Error)
			return
		}
		t.Fatalf("failed: status %d type %q: %s", l.Status, l.Type, l.Error)
	}
	if strings.HasSuffix(l.Check, ".tools") {
		if len(l.Tools) == 0 || !strings.HasPrefix(l.Tools[0], "get_weather ") || !strings.Contains(l.Tools[0], "Paris") {
			t.Errorf("tool calls %q, want get_weather with Paris", l.Tools)
		}
		if !strings.Contains(l.Text, "Tool said:") || !strings.Contains(l.Text, "sunny, 21C") {
			t.Errorf("second turn %q, want the tool's result echoed", l.Text)
		}
		return
	}
	prompt := "say pong"
	switch {
	case strings.Contains(l.Check, "thinking"):
		prompt = "think about pong"
	case strings.HasSuffix(l.Check, ".stream"):
		prompt = "stream pong"
	}
	if want := "Hello! You said: " + prompt; !strings.Contains(l.Text, want) {
		t.Errorf("text %q, want it to contain %q", l.Text, want)
	}
	if l.Usage < 0 {
		t.Errorf("usage %v", l.Usage)
	}
}
