package gateway

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// handleCountTokens serves Anthropic's POST /v1/messages/count_tokens, which
// coding agents call to size their context. The count is Fulcrum's own
// tokenizer estimate, answered without an upstream call (the request may
// target any provider, and counting must not spend budget).
func (s *Server) handleCountTokens(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	body, err := s.readBody(r, rc)
	if err != nil {
		return err
	}
	// count_tokens bodies carry no max_tokens, which the Messages decoder
	// requires: add one before decoding.
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return llm.Errorf("", "request body is not valid JSON: %v", err)
	}
	if _, ok := m["max_tokens"]; !ok {
		m["max_tokens"] = json.RawMessage("1")
		if body, err = json.Marshal(m); err != nil {
			return err
		}
	}
	req, err := rc.format.decode(body)
	if err != nil {
		return err
	}
	if err := checkModel(req.Model); err != nil {
		return err
	}
	rc.model = req.Model
	if err := authorise(rc.caller, req.Model); err != nil {
		return err
	}
	if _, err := s.opts.Router.Resolve(req.Model); err != nil {
		return err
	}
	in := s.estimate(req, "").InputTokens
	for _, t := range req.Tools {
		in += int64(len(t.Name)+len(t.Description)+len(t.Parameters)+3) / 4
	}
	if len(req.Unsupported) > 0 {
		// Documents, search results, server-tool blocks: the canonical
		// request names them without their content, so the estimate above
		// would leave them out (a 2,000-word document counted as nothing,
		// and an agent sizing its context on it overflows). Count the body
		// at the usual four bytes a token instead, when that is more.
		in = max(in, int64(len(body))/4)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"input_tokens":` + strconv.FormatInt(in, 10) + `}`))
	return nil
}
