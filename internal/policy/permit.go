package policy

import (
	"fmt"
	"net/http"

	"github.com/fulcrumhq/fulcrum/internal/llm"
	"github.com/fulcrumhq/fulcrum/internal/upstream"
)

// Permit is the proof a provider call presents that a policy verdict lets
// it reach that provider: provider.Provider's Chat, ChatStream, Embed and
// Forward all take one. Only Clearance.Permit makes one, for one upstream
// (one *upstream.Info, compared by pointer), and only when the clearance
// permits that upstream; the zero Permit permits nothing. So a call to a
// provider without a verdict cannot be written outside this package, and
// a zero permit or one minted for another upstream is refused by the
// adapter at run time (Check) before anything is sent.
//
// Permits are small values; pass them by value. router.Execute mints one
// for each target it tries and hands it to the attempt.
type Permit struct {
	info *upstream.Info
}

// Permit mints the permit for a call to the upstream described by info.
// It fails with a 403 policy_error when the clearance does not permit that
// upstream (the zero Clearance permits none), so the caller cannot reach
// it; callers that route (router.Execute) never ask for a target the
// clearance rejects, and answer "no permitted target" with
// Decision.NoTargetErr instead.
func (c Clearance) Permit(info *upstream.Info) (Permit, error) {
	if info == nil || !c.Permits(info) {
		name := ""
		if info != nil {
			name = info.Name
		}
		return Permit{}, &llm.Error{Status: http.StatusForbidden, Type: llm.ErrPolicy, Code: "not_permitted",
			Message: fmt.Sprintf("data policy does not permit provider %q for this request", name)}
	}
	return Permit{info: info}, nil
}

// Check returns nil when the permit was minted for info (the same
// pointer), else a 500 api_error saying the call was not cleared: a
// provider about to send anything upstream calls it first with its own
// Info. A 500 and not a 403, because no request is refused by policy here:
// a code path skipped the verdict, which is a bug.
func (p Permit) Check(info *upstream.Info) error {
	if p.info != nil && p.info == info {
		return nil
	}
	name := ""
	if info != nil {
		name = info.Name
	}
	return &llm.Error{Status: http.StatusInternalServerError, Type: llm.ErrUpstream, Code: "not_cleared",
		Message: fmt.Sprintf("internal error: call to provider %q was not cleared by data policy", name)}
}
