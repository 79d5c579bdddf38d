package eval

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/fulcrumhq/fulcrum/internal/llm"
)

// cache stores answers on disk keyed by the exact request, so a rerun of a
// suite costs nothing. Safe for concurrent use: entries are written to a
// temporary file and renamed into place.
type cache struct {
	dir string
}

// cacheEntry is what is kept of an answer.
type cacheEntry struct {
	Model string `json:"model"`
	// AnsweredBy is the model the answer names (the response's model
	// field): behind a gateway, what the name pointed to.
	AnsweredBy   string  `json:"answered_by,omitempty"`
	Answer       string  `json:"answer"`
	FinishReason string  `json:"finish_reason,omitempty"`
	HasUsage     bool    `json:"has_usage"`
	InputTokens  int64   `json:"input_tokens"`
	OutputTokens int64   `json:"output_tokens"`
	Estimated    bool    `json:"estimated,omitempty"`
	LatencyMs    float64 `json:"latency_ms"`
	// Classes are the data classes policy found in the call (so a cached
	// item still clears its judge call with them).
	Classes []string `json:"classes,omitempty"`
}

// DefaultCacheDir is where answers are cached when the caller gives no
// directory: the user cache directory's fulcrum/eval, or .fulcrum-cache.
func DefaultCacheDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "fulcrum", "eval")
	}
	return ".fulcrum-cache"
}

// cacheKey is the SHA-256 of what answers (identity: provider, its type,
// base URL and the upstream model, see Identifier) and the request as the
// OpenAI wire format carries it (model name, messages, max_tokens,
// temperature): any change to who is asked or what is sent is a different
// key.
func cacheKey(identity string, req *llm.ChatRequest) string {
	body, _ := json.Marshal(wireRequest(req)) // plain structs: cannot fail
	h := sha256.New()
	h.Write([]byte("v2\n"))
	h.Write([]byte(identity))
	h.Write([]byte{0})
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

func (c *cache) path(key string) string { return filepath.Join(c.dir, key[:2], key+".json") }

// get returns the cached entry; a missing or unreadable entry is a miss.
func (c *cache) get(key string) (*cacheEntry, bool) {
	b, err := os.ReadFile(c.path(key))
	if err != nil {
		return nil, false
	}
	var e cacheEntry
	if json.Unmarshal(b, &e) != nil {
		return nil, false
	}
	return &e, true
}

func (c *cache) put(key string, e *cacheEntry) error {
	p := c.path(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("eval: cache: %w", err)
	}
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("eval: cache: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return fmt.Errorf("eval: cache: %w", err)
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), p)
	}
	if err != nil {
		_ = os.Remove(f.Name())
		if errors.Is(err, fs.ErrExist) {
			return nil
		}
		return fmt.Errorf("eval: cache: %w", err)
	}
	return nil
}
