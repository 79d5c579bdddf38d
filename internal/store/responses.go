package store

import (
	"context"
	"encoding/json"
	"time"
)

// StoredResponse is one Responses API response kept so that a later
// request can continue it (previous_response_id) and GET
// /v1/responses/{id} can return it. Everything in it is what policy
// cleared: redacted values are stored as their placeholders.
type StoredResponse struct {
	ID string
	// Owner is the key that created it (its id; "" for an anonymous
	// caller). Only the same owner reads, continues or deletes it.
	Owner   string
	Created time.Time
	Model   string
	// Items are the input items of the conversation up to this response
	// (previous turns included), Output its output items; both JSON
	// arrays in the Responses wire format.
	Items  json.RawMessage
	Output json.RawMessage
	// Response is the Response object.
	Response json.RawMessage
	// Policies are the data policies the conversation was cleared under
	// and Declared the classes its requests declared (names, never
	// values): a request continuing it is evaluated under them too, so
	// that history kept on self-hosted providers stays there.
	Policies []string
	Declared []string
	// ItemIDs are the ids of the response's output items, recorded for a
	// response an upstream keeps (pass-through): that upstream resolves
	// them when a later request names them (item_reference, an item
	// given by id), for any key, so they are owned like the response.
	ItemIDs []string
}

// Responses is implemented by stores that keep Responses conversations.
type Responses interface {
	// PutResponse stores r (ErrConflict when its id exists).
	PutResponse(ctx context.Context, r *StoredResponse) error
	// GetResponse returns the response with id created by owner;
	// ErrNotFound when there is none or another owner created it.
	GetResponse(ctx context.Context, id, owner string) (*StoredResponse, error)
	// DeleteResponse deletes it, under the same rule.
	DeleteResponse(ctx context.Context, id, owner string) error
	// OwnedItems returns which of ids are ItemIDs of responses owner
	// created; an id recorded for another owner, or for none, is absent.
	OwnedItems(ctx context.Context, owner string, ids []string) (map[string]bool, error)
}
