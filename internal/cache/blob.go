package cache

import (
	"encoding/binary"
	"time"

	"github.com/fulcrumhq/fulcrum/internal/provider"
)

// An entry's stored form (slot.blob) is one byte slice with no pointers,
// so the garbage collector marks it without scanning it:
//
//	uvarint ×6  lengths of Provider, Hosting, Region, Model, Upstream, RawFormat
//	varint ×8   Usage (5 counts, Estimated), CostNanos, Stored (Unix ns)
//	bytes       the six strings, back to back
//
// Raw (the bytes sent to the client, not copied) and the canonical
// Response, when the entry has them, are kept beside it in the slot.

// encodeEntry serialises e, stored at storedNanos, in one allocation of
// exactly its size.
func encodeEntry(e *Entry, storedNanos int64) []byte {
	strs := [6]string{e.Provider, string(e.Hosting), e.Region, e.Model, e.Upstream, e.RawFormat}
	var buf [14 * binary.MaxVarintLen64]byte
	hdr := buf[:0]
	n := 0
	for _, s := range strs {
		hdr = binary.AppendUvarint(hdr, uint64(len(s)))
		n += len(s)
	}
	u := &e.Usage
	var est int64
	if u.Estimated {
		est = 1
	}
	for _, v := range [8]int64{u.InputTokens, u.OutputTokens, u.CacheReadTokens, u.CacheWriteTokens, u.ReasoningTokens, est, e.CostNanos, storedNanos} {
		hdr = binary.AppendVarint(hdr, v)
	}
	b := make([]byte, 0, len(hdr)+n)
	b = append(b, hdr...)
	for _, s := range strs {
		b = append(b, s...)
	}
	return b
}

// decodeEntry reads what encodeEntry wrote. The strings share one
// allocation.
func decodeEntry(b []byte) *Entry {
	var lens [6]int
	p, n := 0, 0
	for i := range lens {
		v, w := binary.Uvarint(b[p:])
		lens[i], p, n = int(v), p+w, n+int(v)
	}
	var nums [8]int64
	for i := range nums {
		v, w := binary.Varint(b[p:])
		nums[i], p = v, p+w
	}
	all := string(b[p : p+n])
	var strs [6]string
	for i, l := range lens {
		strs[i], all = all[:l], all[l:]
	}
	e := &Entry{
		Provider: strs[0], Hosting: provider.Hosting(strs[1]), Region: strs[2], Model: strs[3], Upstream: strs[4], RawFormat: strs[5],
		CostNanos: nums[6], Stored: time.Unix(0, nums[7]), blob: b,
	}
	e.Usage.InputTokens, e.Usage.OutputTokens, e.Usage.CacheReadTokens = nums[0], nums[1], nums[2]
	e.Usage.CacheWriteTokens, e.Usage.ReasoningTokens, e.Usage.Estimated = nums[3], nums[4], nums[5] == 1
	return e
}
