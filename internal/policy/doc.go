// Package policy decides what happens to a request that carries sensitive
// data: it scans every text the request carries with package detect,
// applies the named data policy (plus the classes the client declared),
// and returns a Decision that the gateway uses to constrain routing
// (Permits), to refuse (Err, NoTargetErr), to redact values before the
// request leaves and restore them in the answer (Redact, Restore,
// StreamRestorer), and to label the response (Header).
//
// A Decision's Clearance is the only source of the Permit every provider
// call requires (Clearance.Permit mints one for one upstream, only when
// the decision permits it; router.Execute does so for each target), so a
// provider cannot be called without a verdict.
//
// It also holds the audit record's hash chain (ChainHash, VerifyChain) as
// pure functions; storage lives elsewhere.
//
// Decisions never hold sensitive values except when the action is redact,
// and then only for the life of the request. See docs/sovereignty.md.
package policy
