package gateway

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/router"
)

// modelObject is OpenAI's model object; Anthropic-style clients (those that
// send anthropic-version) get Anthropic's shape instead.
type modelObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

type anthropicModel struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	DisplayName string `json:"display_name"`
	CreatedAt   string `json:"created_at"`
}

// created is a fixed timestamp: Fulcrum does not know when upstream models
// were made, and a stable value keeps responses cacheable.
var created = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func (s *Server) visible(rc *reqCtx) []router.ModelInfo {
	all := s.opts.Router.Models()
	if rc.caller == nil || rc.caller.Allowed == nil {
		return all
	}
	out := all[:0:0]
	for _, m := range all {
		if rc.caller.Allowed[m.ID] {
			out = append(out, m)
		}
	}
	return out
}

func (s *Server) handleModels(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	models := s.visible(rc)
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("Anthropic-Version") != "" {
		data := make([]anthropicModel, len(models))
		for i, m := range models {
			data[i] = anthropicModel{ID: m.ID, Type: "model", DisplayName: m.ID, CreatedAt: created.Format(time.RFC3339)}
		}
		var first, last string
		if len(data) > 0 {
			first, last = data[0].ID, data[len(data)-1].ID
		}
		return json.NewEncoder(w).Encode(map[string]any{"data": data, "has_more": false, "first_id": first, "last_id": last})
	}
	data := make([]modelObject, len(models))
	for i, m := range models {
		data[i] = modelObject{ID: m.ID, Object: "model", Created: created.Unix(), OwnedBy: m.OwnedBy}
	}
	return json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data})
}

func (s *Server) handleModel(w http.ResponseWriter, r *http.Request, rc *reqCtx) error {
	id := r.PathValue("id")
	for _, m := range s.visible(rc) {
		if m.ID != id {
			continue
		}
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("Anthropic-Version") != "" {
			return json.NewEncoder(w).Encode(anthropicModel{ID: m.ID, Type: "model", DisplayName: m.ID, CreatedAt: created.Format(time.RFC3339)})
		}
		return json.NewEncoder(w).Encode(modelObject{ID: m.ID, Object: "model", Created: created.Unix(), OwnedBy: m.OwnedBy})
	}
	return &llm.Error{Status: http.StatusNotFound, Type: llm.ErrInvalidRequest, Code: "model_not_found", Param: "model",
		Message: "The model " + quote(id) + " does not exist"}
}
