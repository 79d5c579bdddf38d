package store

import "time"

// AuditRow is one policy decision in the tamper-evident audit log. It never
// holds sensitive values, only their classes. The hash chain itself
// (policy.ChainHash) is computed by the caller through AppendAudit's hash
// function, so this package does not depend on policy.
type AuditRow struct {
	// Seq numbers rows from 1; AppendAudit assigns it.
	Seq       int64     `json:"seq"`
	Time      time.Time `json:"time"`
	RequestID string    `json:"request_id"`
	KeyID     string    `json:"key_id,omitempty"`
	// Classes are the data classes detected or declared.
	Classes []string `json:"classes"`
	// Action is the policy action: allow, redact, self_hosted_only, block.
	Action string `json:"action"`
	// Candidates are the targets considered; Chosen the one used.
	Candidates    []string `json:"candidates,omitempty"`
	Chosen        string   `json:"chosen,omitempty"`
	ChosenHosting string   `json:"chosen_hosting,omitempty"`
	// Outcome is e.g. "ok", "blocked", "error".
	Outcome  string `json:"outcome"`
	PrevHash string `json:"prev_hash"`
	Hash     string `json:"hash"`
}

// AuditFilter selects audit rows. Zero fields do not filter.
type AuditFilter struct {
	From, To time.Time
	KeyID    string
	// Class selects rows whose Classes contain it, written as "class" or
	// "class:count".
	Class  string
	Action string
	// AfterSeq selects rows with Seq > AfterSeq (for paging and verifying).
	AfterSeq int64
	// Limit caps the rows; 0 means 1000.
	Limit int
	// Newest returns the rows of highest seq first.
	Newest bool
}

// Key is a virtual key. The secret itself is never stored: only its
// SHA-256 (hex) and a short prefix for display.
type Key struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Team string `json:"team,omitempty"`
	// SecretHash is the lowercase hex SHA-256 of the secret.
	SecretHash string `json:"-"`
	// Prefix is the start of the secret, shown in listings ("fk-3f9a…").
	Prefix string `json:"prefix"`
	// Models lists the models and routes the key may use; empty means all.
	Models []string `json:"models,omitempty"`
	// BudgetNanos is the spend limit per Period; 0 means none.
	BudgetNanos int64  `json:"budget_nanos,omitempty"`
	Period      Period `json:"period,omitempty"`
	// RPM and TPM are per-minute request and token limits; 0 means none.
	RPM       int64      `json:"rpm,omitempty"`
	TPM       int64      `json:"tpm,omitempty"`
	Created   time.Time  `json:"created"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// UserBudgetNanos is what each distinct end user of the key may spend
	// per UserPeriod; 0 means the gateway's end_user_budget, if any.
	UserBudgetNanos int64  `json:"user_budget_nanos,omitempty"`
	UserPeriod      Period `json:"user_period,omitempty"`
}

// Active reports whether the key may be used at t.
func (k *Key) Active(t time.Time) bool {
	if k.RevokedAt != nil && !t.Before(*k.RevokedAt) {
		return false
	}
	return k.ExpiresAt == nil || t.Before(*k.ExpiresAt)
}
