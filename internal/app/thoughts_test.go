package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/fulcrumhq/fulcrum/internal/fake"
)

// TestReplicasShareKeptThinking: two gateways built from one config with
// storage.redis, as replicas behind a load balancer. A Chat Completions
// client reasoning on Claude gets tool calls from replica a and sends the
// results to replica b, which finds the thinking in Redis (sealed there:
// no signature in the clear) and sends it on. Before, b did not hold it
// and the client got 400 thinking_not_restorable.
func TestReplicasShareKeptThinking(t *testing.T) {
	url := os.Getenv("FULCRUM_TEST_REDIS_URL")
	if url == "" {
		t.Skip("FULCRUM_TEST_REDIS_URL not set; run with FULCRUM_TEST_REDIS_URL=redis://127.0.0.1:6379/0 (as .ci/run does)")
	}
	an := fake.NewAnthropic()
	t.Cleanup(an.Close)
	prefix := fmt.Sprintf("fulcrum-test-thoughts-%d:", time.Now().UnixNano())
	replica := func() string {
		c := parse(t, `
server: { master_key: mk-fleet }
storage: { data_dir: `+t.TempDir()+`, redis: "`+url+`" }
metering: { limits: { redis_prefix: "`+prefix+`" } }
providers:
  - { name: an, type: anthropic, base_url: "`+an.URL+`", api_key: "`+fake.APIKey+`" }
models:
  - { name: claude, provider: an, upstream: claude-sonnet-4-5 }
`)
		_, srv := serve(t, c)
		return srv.URL + "/v1/chat/completions"
	}
	a, b := replica(), replica()

	const tools = `"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather of a place","parameters":{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]}}}]`
	user := `{"role":"user","content":"weather in Paris?"}`
	resp, out := postAs(t, a, "mk-fleet", `{"model":"claude","reasoning_effort":"low","messages":[`+user+`],`+tools+`}`)
	if resp.StatusCode != 200 {
		t.Fatalf("first turn on replica a: %d %s", resp.StatusCode, out)
	}
	var first struct {
		Choices []struct {
			Message struct {
				ToolCalls []struct {
					ID       string          `json:"id"`
					Function json.RawMessage `json:"function"`
				} `json:"tool_calls"`
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &first); err != nil || len(first.Choices) == 0 || len(first.Choices[0].Message.ToolCalls) == 0 {
		t.Fatalf("first turn: no tool call in %s", out)
	}
	tc := first.Choices[0].Message.ToolCalls[0]
	id, _ := json.Marshal(tc.ID)
	second := `{"model":"claude","reasoning_effort":"low","messages":[` + user +
		`,{"role":"assistant","content":null,"tool_calls":[{"id":` + string(id) + `,"type":"function","function":` + string(tc.Function) + `}]}` +
		`,{"role":"tool","tool_call_id":` + string(id) + `,"content":"sunny, 21C"}],` + tools + `}`
	resp, out = postAs(t, b, "mk-fleet", second)
	if resp.StatusCode != 200 || !strings.Contains(out, "Tool said: sunny, 21C") {
		t.Fatalf("tool-result turn on replica b: %d %s", resp.StatusCode, out)
	}
	log := an.Log.All()
	if sent := log[len(log)-1].Body; !bytes.Contains(sent, []byte(`"signature":"`+fake.AnthropicSignature+`"`)) {
		t.Errorf("replica b sent no restored thinking: %s", sent)
	}

	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	ctx := context.Background()
	ks, err := rdb.Keys(ctx, prefix+"thought:*").Result()
	if err != nil || len(ks) != 1 {
		t.Fatalf("Redis keys under %sthought: = %v, %v; want one", prefix, ks, err)
	}
	t.Cleanup(func() { rdb.Del(context.Background(), ks...) })
	v, err := rdb.Get(ctx, ks[0]).Bytes()
	if err != nil || bytes.Contains(v, []byte(fake.AnthropicSignature)) || bytes.Contains(v, []byte(tc.ID)) {
		t.Errorf("the entry in Redis is not sealed (%v): %q", err, v)
	}
	if ttl, err := rdb.TTL(ctx, ks[0]).Result(); err != nil || ttl <= 59*time.Minute || ttl > time.Hour {
		t.Errorf("the entry's TTL = %v, %v; want about an hour", ttl, err)
	}
}

// TestReplicasShareGeminiSignatures: two gateways on one Redis, as
// replicas. A client gets a function call from Gemini 3 on replica a and
// sends the result to replica b, streamed and not. Before, the signature
// was in replica a's Gemini adapter only, and b sent the placeholder; now
// b finds it in Redis (sealed there) and sends the one Gemini issued,
// which the fake checks. A second API key sending the same tool call id
// gets the placeholder, not the first key's signature.
func TestReplicasShareGeminiSignatures(t *testing.T) {
	url := os.Getenv("FULCRUM_TEST_REDIS_URL")
	if url == "" {
		t.Skip("FULCRUM_TEST_REDIS_URL not set; run with FULCRUM_TEST_REDIS_URL=redis://127.0.0.1:6379/0 (as .ci/run does)")
	}
	gf := fake.NewGeminiSigned()
	t.Cleanup(gf.Close)
	prefix := fmt.Sprintf("fulcrum-test-gemini-sigs-%d:", time.Now().UnixNano())
	replica := func() string {
		c := parse(t, `
server: { master_key: mk-fleet }
storage: { data_dir: `+t.TempDir()+`, redis: "`+url+`" }
metering: { limits: { redis_prefix: "`+prefix+`" } }
providers:
  - { name: gm, type: gemini, base_url: "`+gf.URL+`", api_key: "`+fake.APIKey+`" }
models:
  - { name: gemini, provider: gm, upstream: gemini-3-pro-preview }
`)
		_, srv := serve(t, c)
		return srv.URL
	}
	a, b := replica(), replica()
	resp, out := postAs(t, b+"/admin/keys", "mk-fleet", `{"name":"other-tenant"}`)
	var other struct{ Secret string }
	if err := json.Unmarshal([]byte(out), &other); err != nil || resp.StatusCode != 201 || other.Secret == "" {
		t.Fatalf("creating a second key: %d %s", resp.StatusCode, out)
	}

	const tools = `"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather of a place","parameters":{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]}}}]`
	user := `{"role":"user","content":"weather in Paris?"}`
	callID := regexp.MustCompile(`call_[0-9a-f]{24}`)
	var sigs []string
	for _, stream := range []bool{false, true} {
		st := map[bool]string{false: "false", true: "true"}[stream]
		resp, out := postAs(t, a+"/v1/chat/completions", "mk-fleet", `{"model":"gemini","stream":`+st+`,"messages":[`+user+`],`+tools+`}`)
		id := callID.FindString(out)
		if resp.StatusCode != 200 || id == "" {
			t.Fatalf("stream %v: first turn on replica a: %d %s", stream, resp.StatusCode, out)
		}
		args, _ := json.Marshal(fake.ToolArgs)
		second := `{"model":"gemini","stream":` + st + `,"messages":[` + user +
			`,{"role":"assistant","content":null,"tool_calls":[{"id":"` + id + `","type":"function","function":{"name":"get_weather","arguments":` + string(args) + `}}]}` +
			`,{"role":"tool","tool_call_id":"` + id + `","content":"sunny, 21C"}],` + tools + `}`
		resp, out = postAs(t, b+"/v1/chat/completions", "mk-fleet", second)
		got := gf.Got()
		if resp.StatusCode != 200 || !strings.Contains(out, "Tool said: sunny, 21C") {
			t.Fatalf("stream %v: tool-result turn on replica b: %d %s", stream, resp.StatusCode, out)
		}
		sig := got[len(got)-1]
		if !gf.Issued(sig) {
			t.Errorf("stream %v: replica b sent %q, not the signature Gemini issued", stream, sig)
		}
		sigs = append(sigs, sig)

		resp, out = postAs(t, b+"/v1/chat/completions", other.Secret, second)
		got = gf.Got()
		if resp.StatusCode != 200 || got[len(got)-1] != fake.GeminiPlaceholder {
			t.Errorf("stream %v: another key with the same tool call id: %d %s, Gemini got %q; want the placeholder", stream, resp.StatusCode, out, got[len(got)-1])
		}
	}

	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	ctx := context.Background()
	ks, err := rdb.Keys(ctx, prefix+"thought:*").Result()
	if err != nil || len(ks) != 2 {
		t.Fatalf("Redis keys under %sthought: = %v, %v; want two", prefix, ks, err)
	}
	t.Cleanup(func() { rdb.Del(context.Background(), ks...) })
	for _, k := range ks {
		v, err := rdb.Get(ctx, k).Bytes()
		for _, sig := range sigs {
			if err != nil || bytes.Contains(v, []byte(sig)) {
				t.Errorf("the entry in Redis is not sealed (%v): %q", err, v)
			}
		}
	}
}
