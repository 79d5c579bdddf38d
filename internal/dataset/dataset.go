// Package dataset embeds the reference data Fulcrum ships so that routing,
// replay, eval and advice can be tried offline on real model answers:
// GPT-4 and Mixtral-8x7B answers to the 1,319 GSM8K test questions.
//
// Recorded responses from lm-sys/RouteLLM evaluation data (Apache-2.0);
// GSM8K (MIT). See routellm/README.md.
package dataset

import (
	"embed"
)

//go:embed routellm/gsm8k_responses.csv routellm/gsm8k_test.jsonl routellm/README.md
var files embed.FS

// Models named in the GSM8K recording.
const (
	GSM8KStrong = "gpt-4-1106-preview"
	GSM8KWeak   = "mistralai/Mixtral-8x7B-Instruct-v0.1"
)

// GSM8KResponses returns the recorded answers CSV.
func GSM8KResponses() []byte { return mustRead("routellm/gsm8k_responses.csv") }

// GSM8KTest returns the GSM8K test questions with gold answers (JSON lines).
func GSM8KTest() []byte { return mustRead("routellm/gsm8k_test.jsonl") }

func mustRead(name string) []byte {
	b, err := files.ReadFile(name)
	if err != nil {
		panic("dataset: " + err.Error()) // embedded at build time: cannot fail
	}
	return b
}
