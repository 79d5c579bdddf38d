// Package app wires Fulcrum together: it turns a config into providers, a
// router, a policy guard, a store and recorder, and an HTTP server. It is
// the only package that imports everything.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/provider"
	"github.com/fulcrumhq/fulcrum/internal/provider/anthropic"
	"github.com/fulcrumhq/fulcrum/internal/provider/azure"
	"github.com/fulcrumhq/fulcrum/internal/provider/bedrock"
	"github.com/fulcrumhq/fulcrum/internal/provider/gemini"
	"github.com/fulcrumhq/fulcrum/internal/provider/mistral"
	"github.com/fulcrumhq/fulcrum/internal/provider/ollama"
	"github.com/fulcrumhq/fulcrum/internal/provider/openai"
	"github.com/fulcrumhq/fulcrum/internal/provider/replay"
	"github.com/fulcrumhq/fulcrum/internal/provider/vertex"
)

// NewProvider builds the adapter for one configured provider.
func NewProvider(pc config.Provider) (provider.Provider, error) {
	switch pc.Type {
	case config.TypeOpenAI:
		return openai.New(pc)
	case config.TypeAnthropic:
		return anthropic.New(pc)
	case config.TypeGemini:
		return gemini.New(pc)
	case config.TypeOllama:
		return ollama.New(pc)
	case config.TypeReplay:
		return replay.New(pc)
	case config.TypeBedrock:
		return bedrock.New(pc)
	case config.TypeAzureOpenAI:
		return azure.New(pc)
	case config.TypeVertex:
		return vertex.New(pc, vertexGemini)
	case config.TypeMistral:
		return mistral.New(pc)
	default:
		return nil, fmt.Errorf("provider %q: unknown type %q", pc.Name, pc.Type)
	}
}

// BuildProviders builds every configured provider. When the config names
// no models for an Ollama provider, the models it serves are discovered;
// they are returned in effective, a copy of cfg with them added: cfg
// itself is never modified (a config is an immutable value once loaded).
func BuildProviders(ctx context.Context, cfg *config.Config, log *slog.Logger) (providers map[string]provider.Provider, effective *config.Config, err error) {
	out := make(map[string]provider.Provider, len(cfg.Providers))
	var found []config.Model
	for _, pc := range cfg.Providers {
		p, err := NewProvider(pc)
		if err != nil {
			return nil, nil, fmt.Errorf("provider %q: %w", pc.Name, err)
		}
		out[pc.Name] = scrubProvider(p, pc)
		if o, ok := p.(*ollama.Client); ok && !hasModels(cfg, pc.Name) {
			dctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			names, err := o.ListModels(dctx)
			cancel()
			if err != nil {
				log.Warn("could not list Ollama models; configure them under models:", "provider", pc.Name, "err", err)
				continue
			}
			for _, n := range names {
				typ := "chat"
				if isEmbeddingName(n) {
					typ = "embedding"
				}
				found = append(found, config.Model{Name: n, Provider: pc.Name, Upstream: n, Type: typ})
			}
		}
	}
	if len(found) == 0 {
		return out, cfg, nil
	}
	c := *cfg
	c.Models = append(slices.Clip(cfg.Models), found...)
	return out, &c, nil
}

// vertexGemini builds the Gemini half of a vertex provider: the gemini
// adapter's translation with Vertex's URLs and Google OAuth credentials.
func vertexGemini(pc config.Provider, endpoint func(model, method string) string, auth func(context.Context, http.Header) error) (provider.Provider, error) {
	return gemini.New(pc, gemini.WithEndpoint(endpoint), gemini.WithAuth(auth))
}

func hasModels(cfg *config.Config, provider string) bool {
	for _, m := range cfg.Models {
		if m.Provider == provider {
			return true
		}
	}
	return false
}

func isEmbeddingName(n string) bool {
	for _, s := range []string{"embed", "bge-", "minilm", "e5-"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}
