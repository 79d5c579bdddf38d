package limits

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/config"
	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/store"
)

// End-user budgets. An end user is the id the client names in a request
// (OpenAI user, Anthropic metadata.user_id); it is a string the client
// chooses, so it is never put in a scope, a Redis key or a metric label as
// it is: the scope carries a hash, and the key id in front of it keeps two
// tenants' users of the same name apart.

// EndUserRef names an end user of a key. The zero value is "not an
// end-user budget".
type EndUserRef struct {
	KeyID string
	User  string
}

// EndUserScope is the scope of keyID's end user: "user:KEYID:" and the
// first 128 bits of the SHA-256 of the user id, in hex. Key ids are the
// gateway's own (no ':'), and the hash has a fixed alphabet and length, so
// no user id can reach into another scope or Redis key.
func EndUserScope(keyID, user string) string {
	h := sha256.Sum256([]byte(user))
	return "user:" + keyID + ":" + hex.EncodeToString(h[:16])
}

func (b Budget) isEndUser() bool { return b.EndUser != (EndUserRef{}) }

// EndUserTotals is the part of the store end-user budgets are seeded from:
// what one end user of a key spent in the period containing at, one row
// per hosting kind (store/internal/sqldb reads it from the usage rows).
// A Totals that does not implement it seeds end-user budgets at zero.
type EndUserTotals interface {
	EndUserTotals(ctx context.Context, keyID, user string, p store.Period, at time.Time) ([]store.Total, error)
}

// EndUserBudget is the budget each distinct end user of a virtual key
// gets: the same limit for every user, counted separately per key and
// user.
type EndUserBudget struct {
	// Period is daily, weekly or monthly.
	Period store.Period
	// Hosting is which spend counts (HostingProprietary when empty).
	Hosting string
	// LimitNanos is the budget per user and period; 0 sets none (a key's
	// UserBudgetNanos still applies to its users).
	LimitNanos int64
	// Require refuses (400) a key's request that names no end user (only
	// with LimitNanos set).
	// Without it such requests are not limited by an end-user budget.
	Require bool
}

// EndUserBudgets returns the end-user budget a request by user with key k
// counts against: the key's own (UserBudgetNanos) or else the gateway's;
// none when neither is set or user is "".
func (g *Gate) EndUserBudgets(k *store.Key, user string) []Budget {
	if user == "" {
		return nil
	}
	b := Budget{Scope: EndUserScope(k.ID, user), Period: g.endUser.Period, Hosting: g.endUser.Hosting,
		LimitNanos: g.endUser.LimitNanos, EndUser: EndUserRef{KeyID: k.ID, User: user}}
	if k.UserBudgetNanos > 0 {
		b.LimitNanos, b.Period = k.UserBudgetNanos, k.UserPeriod
		if b.Period == "" {
			b.Period = store.Daily
		}
		if b.Hosting == "" {
			b.Hosting = g.hosting // as the key's own budget counts
		}
	}
	if b.LimitNanos <= 0 {
		return nil
	}
	return []Budget{b}
}

// requireEndUser is the refusal of a request without an end user when
// the gateway requires one.
func (g *Gate) requireEndUser(user string) *llm.Error {
	if !g.endUser.Require || g.endUser.LimitNanos <= 0 || user != "" {
		return nil
	}
	return &llm.Error{Status: http.StatusBadRequest, Type: llm.ErrInvalidRequest, Code: "end_user_required", Param: "user",
		Message: "this gateway requires an end-user id on every request (OpenAI user, Anthropic metadata.user_id)"}
}

// EndUserBudgetFromConfig converts metering.limits.end_user_budget (nil:
// none).
func EndUserBudgetFromConfig(c *config.EndUserBudget) EndUserBudget {
	if c == nil {
		return EndUserBudget{}
	}
	return EndUserBudget{Period: store.Period(c.Period), Hosting: c.Hosting, LimitNanos: int64(c.BudgetUSD), Require: c.RequireUser}
}
