package vertex

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/policy"
	"github.com/fulcrumhq/fulcrum/internal/provider"
)

// predictBatch is the most instances one :predict call carries for the
// text-embedding models; gemini-embedding models take one per call.
const predictBatch = 250

// Embed calls publishers/google/models/{m}:predict with
// {"instances": [{"content"}], "parameters": {"outputDimensionality"}}.
func (c *Client) Embed(ctx context.Context, pm policy.Permit, req *llm.EmbedRequest) (*llm.EmbedResponse, error) {
	if err := pm.Check(c.Info()); err != nil {
		return nil, err
	}
	if len(req.Tokens) > 0 {
		return nil, llm.Unsupported(c.info.Name, "input (token arrays)")
	}
	if isClaude(req.Model) {
		return nil, &llm.Error{Status: http.StatusBadRequest, Type: llm.ErrInvalidRequest, Code: "embeddings_unsupported", Param: "model", Provider: c.info.Name,
			Message: fmt.Sprintf("%q is a chat model; Vertex embeddings are Google models such as gemini-embedding-001 or text-embedding-005", req.Model)}
	}
	batch := predictBatch
	if strings.HasPrefix(req.Model, "gemini-embedding") {
		batch = 1
	}
	out := &llm.EmbedResponse{Model: req.Model, Usage: &llm.Usage{}}
	for i := 0; i < len(req.Input); i += batch {
		in := req.Input[i:min(i+batch, len(req.Input))]
		pr := predictRequest{Instances: make([]instance, len(in))}
		for j, s := range in {
			pr.Instances[j] = instance{Content: s, TaskType: "RETRIEVAL_DOCUMENT"}
		}
		if req.Dimensions != nil {
			pr.Parameters = &parameters{OutputDimensionality: *req.Dimensions}
		}
		body, _ := json.Marshal(&pr)
		resp, cancel, err := c.post(ctx, "/google/models/"+url.PathEscape(req.Model)+":predict", body, nil, false)
		if err != nil {
			return nil, err
		}
		b, rerr := provider.ReadResponse(resp, provider.MaxResponseBytes)
		resp.Body.Close()
		cancel()
		if rerr != nil {
			e := provider.TransportError(ctx, rerr)
			e.Provider = c.info.Name
			return nil, e
		}
		var p predictResponse
		if err := json.Unmarshal(b, &p); err != nil || len(p.Predictions) != len(in) {
			return nil, &llm.Error{Status: http.StatusBadGateway, Type: llm.ErrUpstream, Code: "bad_upstream_response", Provider: c.info.Name,
				Message: fmt.Sprintf("upstream %s: %d predictions for %d inputs (%v)", c.info.Name, len(p.Predictions), len(in), err)}
		}
		for _, pr := range p.Predictions {
			out.Vectors = append(out.Vectors, pr.Embeddings.Values)
			out.Usage.InputTokens += int64(pr.Embeddings.Statistics.TokenCount)
		}
	}
	if out.Usage.InputTokens == 0 {
		out.Usage = nil
	}
	return out, nil
}

type predictRequest struct {
	Instances  []instance  `json:"instances"`
	Parameters *parameters `json:"parameters,omitempty"`
}

type instance struct {
	Content  string `json:"content"`
	TaskType string `json:"task_type,omitempty"`
}

type parameters struct {
	OutputDimensionality int `json:"outputDimensionality,omitempty"`
}

type predictResponse struct {
	Predictions []struct {
		Embeddings struct {
			Values     []float32 `json:"values"`
			Statistics struct {
				TokenCount float64 `json:"token_count"`
			} `json:"statistics"`
		} `json:"embeddings"`
	} `json:"predictions"`
}
