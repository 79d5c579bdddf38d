package policy

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// AuditRecord is one request's entry in the tamper-evident audit log. It
// never holds a sensitive value: classes are names with counts.
type AuditRecord struct {
	// Seq numbers records from 1 without gaps.
	Seq  int64
	Time time.Time
	// RequestID is the x-request-id of the request; Key the virtual key's
	// id (never the secret).
	RequestID, Key string
	Classes        []ClassCount
	// Action is the decision's action (Action.String()).
	Action string
	// Candidates are the providers considered, as "name:hosting".
	Candidates []string
	// Chosen is the provider that served the request ("" when none).
	Chosen        string
	ChosenHosting string
	// Outcome is the HTTP status or the error code.
	Outcome string
	// PrevHash is the previous record's Hash ("" for Seq 1).
	PrevHash string
	// Hash is ChainHash(PrevHash, record).
	Hash string
}

// ChainHash returns the hex SHA-256 of prev and a canonical encoding of
// every field of r but Hash (r.PrevHash is ignored in favour of prev).
// Each field is length-prefixed, so no two records encode alike. Time is
// hashed in UTC at microsecond precision, the precision SQLite and
// PostgreSQL keep, so a record read back from storage verifies.
func ChainHash(prev string, r *AuditRecord) string {
	// One buffer hashed at once, on the stack for a typical record (about
	// 300 bytes): a sha256.New digest, an []byte per field, the decimal
	// strings and hex.EncodeToString cost 6 allocations a request.
	var stack [512]byte
	b := stack[:0]
	b = appendField(b, "fulcrum-audit-v1")
	b = appendField(b, prev)
	b = appendInt(b, r.Seq)
	b = appendInt(b, r.Time.UnixMicro())
	b = appendField(b, r.RequestID)
	b = appendField(b, r.Key)
	b = appendInt(b, int64(len(r.Classes)))
	for _, c := range r.Classes {
		b = appendField(b, c.Class)
		b = appendInt(b, int64(c.Count))
	}
	b = appendField(b, r.Action)
	b = appendInt(b, int64(len(r.Candidates)))
	for _, c := range r.Candidates {
		b = appendField(b, c)
	}
	b = appendField(b, r.Chosen)
	b = appendField(b, r.ChosenHosting)
	b = appendField(b, r.Outcome)
	sum := sha256.Sum256(b)
	var out [2 * sha256.Size]byte
	hex.Encode(out[:], sum[:])
	return string(out[:])
}

// appendField appends s with its length as 8 big-endian bytes before it.
func appendField(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(len(s)))
	return append(b, s...)
}

// appendInt appends v's decimal digits as a field.
func appendInt(b []byte, v int64) []byte {
	var d [20]byte
	return appendField(b, string(strconv.AppendInt(d[:0], v, 10)))
}

// Seal sets r.PrevHash to prev and r.Hash to the chain hash.
func Seal(prev string, r *AuditRecord) {
	r.PrevHash = prev
	r.Hash = ChainHash(prev, r)
}

// ErrChainBroken is wrapped by VerifyChain's errors.
var ErrChainBroken = errors.New("audit chain broken")

// VerifyChain checks records in Seq order: each one's Hash must match its
// content, its PrevHash the previous record's Hash, and its Seq the
// previous Seq plus one. An edited record fails its own hash; an inserted
// or deleted one breaks the link or the numbering. A chain that starts at
// Seq 1 must start with an empty PrevHash. It returns the index of the
// first bad record and an error naming its Seq, or -1 and nil.
//
// Deleting the newest records leaves a valid shorter chain; compare the
// last Seq and Hash with a copy kept elsewhere to detect truncation.
func VerifyChain(records []AuditRecord) (firstBad int, err error) {
	for i := range records {
		r := &records[i]
		if i == 0 {
			if r.Seq == 1 && r.PrevHash != "" {
				return 0, fmt.Errorf("%w: record seq 1 has a previous hash", ErrChainBroken)
			}
		} else {
			p := &records[i-1]
			if r.Seq != p.Seq+1 {
				return i, fmt.Errorf("%w: record seq %d follows seq %d (record inserted or deleted)", ErrChainBroken, r.Seq, p.Seq)
			}
			if r.PrevHash != p.Hash {
				return i, fmt.Errorf("%w: record seq %d does not link to seq %d (record inserted, deleted or edited)", ErrChainBroken, r.Seq, p.Seq)
			}
		}
		if ChainHash(r.PrevHash, r) != r.Hash {
			return i, fmt.Errorf("%w: record seq %d does not match its hash (record edited)", ErrChainBroken, r.Seq)
		}
	}
	return -1, nil
}
