package policy

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

func chain(n int) []AuditRecord {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)
	var recs []AuditRecord
	prev := ""
	for i := range n {
		r := AuditRecord{Seq: int64(i + 1), Time: t0.Add(time.Duration(i) * time.Second), RequestID: "req-" + string(rune('a'+i)), Key: "key-1",
			Classes: []ClassCount{{"email", i}}, Action: "self_hosted_only", Candidates: []string{"gpu:self_hosted", "openai:proprietary"},
			Chosen: "gpu", ChosenHosting: "self_hosted", Outcome: "200"}
		Seal(prev, &r)
		prev = r.Hash
		recs = append(recs, r)
	}
	return recs
}

func TestVerifyChain(t *testing.T) {
	tests := []struct {
		name   string
		mutate func([]AuditRecord) []AuditRecord
		bad    int
	}{
		{"intact", func(r []AuditRecord) []AuditRecord { return r }, -1},
		{"edited class count", func(r []AuditRecord) []AuditRecord { r[2].Classes[0].Count = 99; return r }, 2},
		{"edited chosen provider", func(r []AuditRecord) []AuditRecord { r[3].Chosen = "openai"; return r }, 3},
		{"edited and rehashed", func(r []AuditRecord) []AuditRecord {
			r[1].Outcome = "500"
			r[1].Hash = ChainHash(r[1].PrevHash, &r[1])
			return r
		}, 2},
		{"deleted", func(r []AuditRecord) []AuditRecord { return append(r[:2], r[3:]...) }, 2},
		{"inserted", func(r []AuditRecord) []AuditRecord {
			x := r[1]
			x.RequestID = "forged"
			Seal(r[1].Hash, &x)
			return append(r[:2], append([]AuditRecord{x}, r[2:]...)...)
		}, 2},
		{"first has prev", func(r []AuditRecord) []AuditRecord { r[0].PrevHash = "00"; return r }, 0},
		{"time in another zone verifies", func(r []AuditRecord) []AuditRecord {
			for i := range r {
				r[i].Time = r[i].Time.In(time.FixedZone("x", 3600)).Truncate(time.Microsecond)
			}
			return r
		}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad, err := VerifyChain(tt.mutate(chain(5)))
			if bad != tt.bad {
				t.Errorf("firstBad = %d, want %d (err %v)", bad, tt.bad, err)
			}
			if (bad >= 0) != errors.Is(err, ErrChainBroken) {
				t.Errorf("err = %v", err)
			}
		})
	}
}

func TestChainHashCoversEveryField(t *testing.T) {
	base := chain(1)[0]
	h := ChainHash("", &base)
	for name, m := range map[string]func(*AuditRecord){
		"seq": func(r *AuditRecord) { r.Seq++ }, "time": func(r *AuditRecord) { r.Time = r.Time.Add(time.Microsecond) },
		"request": func(r *AuditRecord) { r.RequestID += "x" }, "key": func(r *AuditRecord) { r.Key += "x" },
		"class": func(r *AuditRecord) { r.Classes = []ClassCount{{"phone", 0}} }, "action": func(r *AuditRecord) { r.Action = "allow" },
		"candidates": func(r *AuditRecord) { r.Candidates = r.Candidates[:1] }, "chosen": func(r *AuditRecord) { r.Chosen = "x" },
		"hosting": func(r *AuditRecord) { r.ChosenHosting = "proprietary" }, "outcome": func(r *AuditRecord) { r.Outcome = "503" },
		"boundary": func(r *AuditRecord) { r.RequestID, r.Key = r.RequestID+r.Key[:1], r.Key[1:] },
	} {
		r := base
		r.Classes = append([]ClassCount(nil), base.Classes...)
		m(&r)
		if ChainHash("", &r) == h {
			t.Errorf("changing %s does not change the hash", name)
		}
	}
	if ChainHash("x", &base) == h {
		t.Error("prev hash not covered")
	}
}

// chainHashV1 is ChainHash as first written (sha256.New, one Write per
// field): the encoding every stored chain was sealed with.
func chainHashV1(prev string, r *AuditRecord) string {
	h := sha256.New()
	var n [8]byte
	field := func(s string) {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	field("fulcrum-audit-v1")
	field(prev)
	field(strconv.FormatInt(r.Seq, 10))
	field(strconv.FormatInt(r.Time.UnixMicro(), 10))
	field(r.RequestID)
	field(r.Key)
	field(strconv.Itoa(len(r.Classes)))
	for _, c := range r.Classes {
		field(c.Class)
		field(strconv.Itoa(c.Count))
	}
	field(r.Action)
	field(strconv.Itoa(len(r.Candidates)))
	for _, c := range r.Candidates {
		field(c)
	}
	field(r.Chosen)
	field(r.ChosenHosting)
	field(r.Outcome)
	return hex.EncodeToString(h.Sum(nil))
}

// TestChainHashStable: chains sealed before keep verifying, for records
// small and over the stack buffer, negative and large numbers included.
func TestChainHashStable(t *testing.T) {
	recs := chain(5)
	big := recs[0]
	big.RequestID = strings.Repeat("r", 700)
	big.Seq, big.Classes = -1<<62, []ClassCount{{"x", -3}, {"y", 1 << 40}}
	recs = append(recs, big, AuditRecord{})
	for i := range recs {
		if got, want := ChainHash("prev", &recs[i]), chainHashV1("prev", &recs[i]); got != want {
			t.Errorf("record %d: %s, want %s", i, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { ChainHash("prev", &recs[1]) }); n > 1 {
		t.Errorf("ChainHash: %v allocations, want 1 (the string)", n)
	}
}
