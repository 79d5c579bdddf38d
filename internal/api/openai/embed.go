package openai

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// Embeddings: https://platform.openai.com/docs/api-reference/embeddings

type embedRequest struct {
	Model          string          `json:"model"`
	Input          json.RawMessage `json:"input"`
	EncodingFormat string          `json:"encoding_format"`
	Dimensions     *int            `json:"dimensions"`
	User           string          `json:"user"`
}

// DecodeEmbedRequest decodes a client's embeddings request. input may be
// a string, an array of strings, an array of token ids or an array of
// token-id arrays; encoding_format is "float" (the default) or "base64".
func DecodeEmbedRequest(body []byte) (*llm.EmbedRequest, error) {
	var w embedRequest
	if err := json.Unmarshal(body, &w); err != nil {
		e := decodeError(body, err)
		if e.Param == "" && json.Valid(body) {
			e = typeError(embedParam(body), "the documented type")
			e.Err = err
		}
		return nil, e
	}
	if w.Model == "" {
		return nil, missing("model", "you must provide a model parameter")
	}
	req := &llm.EmbedRequest{Model: w.Model, Dimensions: w.Dimensions, User: w.User, EncodingFormat: w.EncodingFormat}
	switch w.EncodingFormat {
	case "":
		req.EncodingFormat = "float"
	case "float", "base64":
	default:
		return nil, invalidValue("encoding_format", "Invalid value: '%s'. Supported values are: 'float' and 'base64'.", w.EncodingFormat)
	}
	if w.Dimensions != nil && *w.Dimensions < 1 {
		return nil, invalidValue("dimensions", "Invalid 'dimensions': integer below minimum value. Expected a value >= 1, but got %d instead.", *w.Dimensions)
	}
	if err := decodeInput(w.Input, req); err != nil {
		return nil, err
	}
	return req, nil
}

// embedParam names the first embeddings field with a wrong type.
func embedParam(body []byte) string {
	var top map[string]json.RawMessage
	_ = json.Unmarshal(body, &top)
	var s string
	var i int
	for _, f := range []struct {
		name string
		v    any
	}{{"model", &s}, {"encoding_format", &s}, {"user", &s}, {"dimensions", &i}} {
		if raw, ok := top[f.name]; ok && json.Unmarshal(raw, f.v) != nil {
			return f.name
		}
	}
	return "input"
}

func decodeInput(raw json.RawMessage, req *llm.EmbedRequest) *llm.Error {
	bad := func() *llm.Error {
		return typeError("input", "one of a string, an array of strings, an array of integers or an array of integer arrays")
	}
	if len(raw) == 0 || string(raw) == "null" {
		return missing("input", "Missing required parameter: 'input'.")
	}
	switch raw[0] {
	case '"':
		var s string
		if unquote(raw, &s) != nil {
			return bad()
		}
		req.Input = []string{s}
	case '[':
		i := skipWS(raw, 1)
		switch {
		case raw[i] == ']':
			e := llm.Errorf("input", "Invalid 'input': empty array. Expected an array with minimum length 1, but got an empty array instead.")
			e.Code = "empty_array"
			return e
		case raw[i] == '"':
			if json.Unmarshal(raw, &req.Input) != nil {
				return bad()
			}
		case raw[i] == '[':
			req.Tokens = TokenSlices(raw, 2)
			if json.Unmarshal(raw, &req.Tokens) != nil {
				return bad()
			}
		default:
			req.Tokens = TokenSlices(raw, 1)
			if json.Unmarshal(raw, &req.Tokens[0]) != nil {
				return bad()
			}
		}
	default:
		return bad()
	}
	for i, s := range req.Input {
		if s == "" {
			return invalidValue("input", "Invalid 'input[%d]': empty string. Expected a non-empty string.", i)
		}
	}
	for i, t := range req.Tokens {
		if len(t) == 0 {
			return invalidValue("input", "Invalid 'input[%d]': empty array. Expected a non-empty array of token ids.", i)
		}
	}
	return nil
}

// EncodeEmbedResponse encodes vectors as OpenAI's embeddings list.
// encodingFormat "base64" writes each vector as the base64 of its
// little-endian float32 bytes, which the OpenAI SDKs decode (the Node SDK
// asks for it by default).
func EncodeEmbedResponse(resp *llm.EmbedResponse, model, encodingFormat string) ([]byte, error) {
	n := 64
	for _, v := range resp.Vectors {
		n += 48 + 12*len(v)
	}
	b := make([]byte, 0, n)
	b = append(b, `{"object":"list","data":[`...)
	var raw []byte
	for i, v := range resp.Vectors {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"object":"embedding","index":`...)
		b = append(b, itoa(i)...)
		b = append(b, `,"embedding":`...)
		if encodingFormat == "base64" {
			raw = raw[:0]
			for _, f := range v {
				raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(f))
			}
			b = append(b, '"')
			b = base64.StdEncoding.AppendEncode(b, raw)
			b = append(b, '"')
		} else {
			b = append(b, '[')
			for j, f := range v {
				if !finite(float64(f)) {
					return nil, badUpstream("embedding holds a value that is not a finite number", nil)
				}
				if j > 0 {
					b = append(b, ',')
				}
				b = appendFloat(b, float64(f), 32)
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	b = append(b, ']')
	b = appendStringField(b, "model", model)
	var in int64
	if resp.Usage != nil {
		in = resp.Usage.InputTokens
	}
	b = append(b, `,"usage":{"prompt_tokens":`...)
	b = append(b, itoa(int(in))...)
	b = append(b, `,"total_tokens":`...)
	b = append(b, itoa(int(in))...)
	return append(b, '}', '}'), nil
}

// EncodeEmbedRequest encodes an embeddings request for an OpenAI-compatible
// upstream. It asks for floats (the default every compatible server
// supports), whatever the client wants back.
func EncodeEmbedRequest(req *llm.EmbedRequest) ([]byte, error) {
	b := make([]byte, 0, 128)
	b = append(b, '{')
	b = appendStringField(b, "model", req.Model)
	b = appendKey(b, "input")
	switch {
	case len(req.Tokens) > 0:
		b = append(b, '[')
		for i, t := range req.Tokens {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '[')
			for j, id := range t {
				if j > 0 {
					b = append(b, ',')
				}
				b = append(b, itoa(id)...)
			}
			b = append(b, ']')
		}
		b = append(b, ']')
	case len(req.Input) == 1:
		b = appendString(b, req.Input[0])
	default:
		b = append(b, '[')
		for i, s := range req.Input {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, s)
		}
		b = append(b, ']')
	}
	if req.Dimensions != nil {
		b = appendIntField(b, "dimensions", int64(*req.Dimensions))
	}
	if req.User != "" {
		b = appendStringField(b, "user", req.User)
	}
	return append(b, '}'), nil
}

type embedResponse struct {
	Data []struct {
		Index     int             `json:"index"`
		Embedding json.RawMessage `json:"embedding"`
	} `json:"data"`
	Model string   `json:"model"`
	Usage *usage   `json:"usage"`
	Error *wireErr `json:"error"`
}

// DecodeEmbedResponse decodes an upstream's embeddings list, with vectors
// as float arrays or base64 strings, into input order.
func DecodeEmbedResponse(body []byte) (*llm.EmbedResponse, error) {
	var w embedResponse
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, badUpstream("upstream returned a malformed embeddings response", err)
	}
	if w.Error != nil {
		return nil, upstreamError(w.Error)
	}
	resp := &llm.EmbedResponse{Model: w.Model, Vectors: make([][]float32, len(w.Data)), Usage: w.Usage.canonical()}
	for _, d := range w.Data {
		if d.Index < 0 || d.Index >= len(w.Data) || resp.Vectors[d.Index] != nil {
			return nil, badUpstream("upstream embeddings have bad indices", nil)
		}
		v, err := decodeVector(d.Embedding)
		if err != nil {
			return nil, badUpstream("upstream returned a malformed embedding", err)
		}
		resp.Vectors[d.Index] = v
	}
	return resp, nil
}

func decodeVector(raw json.RawMessage) ([]float32, error) {
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := unquote(raw, &s); err != nil {
			return nil, err
		}
		bs, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, err
		}
		if len(bs)%4 != 0 {
			return nil, errBase64Length
		}
		v := make([]float32, len(bs)/4)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(bs[4*i:]))
		}
		return v, nil
	}
	v := []float32{}
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	return v, nil
}
