package bedrock

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/policy"
	"github.com/fulcrumhq/fulcrum/internal/provider"
)

// cohereBatch is Cohere Embed's limit of texts per call on Bedrock.
const cohereBatch = 96

// Embed calls POST /model/{modelId}/invoke with the model family's body:
// Amazon Titan text embeddings take one inputText per call, Cohere Embed
// takes up to 96 texts. Other families are refused with a 400.
func (c *Client) Embed(ctx context.Context, pm policy.Permit, req *llm.EmbedRequest) (*llm.EmbedResponse, error) {
	if err := pm.Check(c.Info()); err != nil {
		return nil, err
	}
	if len(req.Tokens) > 0 {
		return nil, c.own(llm.Unsupported(providerType, "input (token arrays)"))
	}
	if err := c.checkModel(req.Model); err != nil {
		return nil, err
	}
	out := &llm.EmbedResponse{Model: req.Model, Vectors: make([][]float32, 0, len(req.Input)), Usage: &llm.Usage{}}
	switch family(req.Model) {
	case "amazon.titan-embed":
		for _, in := range req.Input {
			body, _ := json.Marshal(titanRequest{InputText: in, Dimensions: req.Dimensions, Normalize: req.Dimensions != nil})
			var tr titanResponse
			n, err := c.invoke(ctx, req.Model, body, &tr)
			if err != nil {
				return nil, err
			}
			if tr.Embedding == nil {
				return nil, c.malformed(fmt.Errorf("no embedding in Titan answer"))
			}
			if tr.InputTextTokenCount > 0 {
				n = tr.InputTextTokenCount
			}
			out.Vectors = append(out.Vectors, tr.Embedding)
			out.Usage.InputTokens += n
		}
	case "cohere.embed":
		if req.Dimensions != nil && !strings.Contains(req.Model, "embed-v4") {
			return nil, c.own(llm.Unsupported(providerType, "dimensions"))
		}
		for i := 0; i < len(req.Input); i += cohereBatch {
			batch := req.Input[i:min(i+cohereBatch, len(req.Input))]
			body, _ := json.Marshal(cohereRequest{Texts: batch, InputType: "search_document", OutputDimension: req.Dimensions})
			var cr cohereResponse
			n, err := c.invoke(ctx, req.Model, body, &cr)
			if err != nil {
				return nil, err
			}
			vecs, err := cr.vectors()
			if err != nil || len(vecs) != len(batch) {
				return nil, c.malformed(fmt.Errorf("%d Cohere embeddings for %d texts (%v)", len(vecs), len(batch), err))
			}
			out.Vectors = append(out.Vectors, vecs...)
			out.Usage.InputTokens += n
		}
	default:
		return nil, &llm.Error{Status: http.StatusBadRequest, Type: llm.ErrInvalidRequest, Code: "embeddings_unsupported", Param: "model", Provider: c.info.Name,
			Message: fmt.Sprintf("bedrock embeddings support Amazon Titan (amazon.titan-embed-*) and Cohere (cohere.embed-*) models, not %q", req.Model)}
	}
	if out.Usage.InputTokens == 0 {
		out.Usage = nil
	}
	return out, nil
}

// family is the model family with any inference-profile prefix removed:
// "eu.cohere.embed-v4:0" -> "cohere.embed".
func family(model string) string {
	if i := strings.LastIndex(model, "/"); i >= 0 { // an ARN
		model = model[i+1:]
	}
	for _, f := range []string{"amazon.titan-embed", "cohere.embed"} {
		if strings.HasPrefix(model, f) || strings.Contains(model, "."+f) {
			return f
		}
	}
	return ""
}

// invoke posts an InvokeModel body and decodes the answer into v. It
// returns the input token count Bedrock reports in its header.
func (c *Client) invoke(ctx context.Context, model string, body []byte, v any) (int64, error) {
	resp, cancel, err := c.post(ctx, model, "/invoke", body, false)
	if err != nil {
		return 0, err
	}
	defer cancel()
	defer resp.Body.Close()
	b, err := provider.ReadResponse(resp, provider.MaxResponseBytes)
	if err != nil {
		return 0, c.transport(ctx, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return 0, c.malformed(err)
	}
	n, _ := strconv.ParseInt(resp.Header.Get("X-Amzn-Bedrock-Input-Token-Count"), 10, 64)
	return n, nil
}

type titanRequest struct {
	InputText  string `json:"inputText"`
	Dimensions *int   `json:"dimensions,omitempty"`
	Normalize  bool   `json:"normalize,omitempty"`
}

type titanResponse struct {
	Embedding           []float32 `json:"embedding"`
	InputTextTokenCount int64     `json:"inputTextTokenCount"`
}

type cohereRequest struct {
	Texts           []string `json:"texts"`
	InputType       string   `json:"input_type"`
	OutputDimension *int     `json:"output_dimension,omitempty"`
}

// cohereResponse holds "embeddings" as Cohere v3 sends it (an array of
// vectors) or as v4 does ({"float": [...]}).
type cohereResponse struct {
	Embeddings json.RawMessage `json:"embeddings"`
}

func (r *cohereResponse) vectors() ([][]float32, error) {
	var v [][]float32
	if err := json.Unmarshal(r.Embeddings, &v); err == nil {
		return v, nil
	}
	var byType struct {
		Float [][]float32 `json:"float"`
	}
	err := json.Unmarshal(r.Embeddings, &byType)
	return byType.Float, err
}
