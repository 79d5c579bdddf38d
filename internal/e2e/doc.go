// Package e2e holds end-to-end tests: the real fulcrum binary, started on
// 127.0.0.1 with a config pointing at fake upstreams, driven by the official
// OpenAI and Anthropic Go SDKs.
package e2e
