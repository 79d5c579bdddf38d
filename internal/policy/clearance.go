package policy

import "github.com/fulcrumhq/fulcrum/internal/upstream"

// Clearance is the policy decision of the client request a call is made
// for. The router takes one in Execute and ExecuteCascade, tries only the
// targets it permits, and mints from it the Permit that every provider
// method requires (Clearance.Permit), so a call without a decision cannot
// be written: the zero Clearance permits nothing, and only this package
// makes one that permits anything (Decision.Clearance, or Unrestricted
// for a gateway without data policy).
//
// How a later caller makes a call on behalf of a request (a cascade judge,
// a shadow call, a cache fill, an eval judge):
//
//  1. Take the request's Clearance (gateway: chatCall.clearance()); never
//     make a new one and never use Unrestricted for request data.
//  2. Build what you send from the request as the gateway holds it after
//     the policy stage: its canonical request was decoded from the
//     redacted body (Clearance.Body), so its text is already redacted.
//     Text derived from it (a judge prompt, a summary) stays redacted; do
//     not add anything from elsewhere that policy has not scanned.
//  3. Call through router.Execute (or ExecuteCascade) with that Clearance
//     and pass the provider the Permit it hands your attempt: only
//     permitted targets are tried, and when none is available the
//     error wraps router.ErrNoPermittedTarget; answer it with
//     Decision.NoTargetErr, never by calling another target.
type Clearance struct {
	d   *Decision
	all bool
}

// Clearance returns the clearance of calls made for this decision's
// request. A nil Decision gives the zero Clearance, which permits nothing.
func (d *Decision) Clearance() Clearance { return Clearance{d: d} }

// Unrestricted returns a Clearance that permits every target. It is for a
// gateway configured without data policy and for tests; a call for a
// client request under policy must use that request's clearance.
func Unrestricted() Clearance { return Clearance{all: true} }

// Permits reports whether a call may go to the provider.
func (c Clearance) Permits(info *upstream.Info) bool {
	if c.all {
		return true
	}
	return c.d != nil && c.d.Permits(info)
}

// Decision returns the decision behind the clearance (nil for the zero
// and the unrestricted Clearance).
func (c Clearance) Decision() *Decision { return c.d }
