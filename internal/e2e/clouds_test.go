package e2e

import (
	"fmt"

	"github.com/fulcrumhq/fulcrum/internal/fake"
)

// cloudProviders and cloudModels add the cloud provider types
// (azure_openai, bedrock, vertex, mistral) to the matrix config: each adds
// its provider p-<type>, a chat model m-<type> and, where the type embeds,
// e-<type>* models.
func (u *upstreams) cloudProviders() string {
	return fmt.Sprintf(`  - { name: p-bedrock, type: bedrock, base_url: %q, region: eu, retention: none,
      aws: { region: eu-central-1, access_key_id: %q, secret_access_key: %q } }`,
		u.bedrock.URL, fake.BedrockAccessKey, fake.BedrockSecretKey)
}

func (u *upstreams) cloudModels() string {
	return `  - { name: m-bedrock, provider: p-bedrock, upstream: "eu.anthropic.claude-sonnet-4-5-20250929-v1:0" }
  - { name: e-bedrock-titan, provider: p-bedrock, upstream: "amazon.titan-embed-text-v2:0", type: embedding }
  - { name: e-bedrock-cohere, provider: p-bedrock, upstream: "cohere.embed-multilingual-v3", type: embedding }`
}
