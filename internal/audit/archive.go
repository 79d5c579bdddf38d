package audit

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/fulcrumhq/fulcrum/internal/policy"
	"github.com/fulcrumhq/fulcrum/internal/store"
)

// ErrArchive is wrapped by VerifyArchive's errors about the file itself
// (not an export, a line that is not a row); a broken chain wraps
// policy.ErrChainBroken instead.
var ErrArchive = errors.New("not an audit export")

// VerifyArchive checks an archive written by `fulcrum audit export`: a
// first line {"checkpoint": …} (null when the rows start at seq 1), then
// one row a line in seq order. The rows must follow the checkpoint and
// chain as Verify requires of the store's. after, when not nil, is where
// the previous archive of a series ended (its Head): this one's checkpoint
// must be that row, so that archives made one after another prove the
// chain without a gap. Result.Checkpoint is the archive's checkpoint and
// Result.Head its last row: the store's checkpoint, once these rows are
// pruned, must be that row.
func VerifyArchive(r io.Reader, after *store.AuditRow) (Result, error) {
	var c chain
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return c.res, err
		}
		return c.res, fmt.Errorf("%w: the file is empty", ErrArchive)
	}
	var head struct {
		Checkpoint *store.AuditCheckpoint `json:"checkpoint"`
	}
	var probe map[string]json.RawMessage
	if json.Unmarshal(sc.Bytes(), &probe) != nil || probe["checkpoint"] == nil || json.Unmarshal(sc.Bytes(), &head) != nil {
		return c.res, fmt.Errorf(`%w: line 1 is not {"checkpoint": …}`, ErrArchive)
	}
	c.res.Checkpoint = head.Checkpoint
	if after != nil {
		if cp := head.Checkpoint; cp == nil || cp.Seq != after.Seq || cp.Hash != after.Hash {
			got := "none (seq 1)"
			if cp != nil {
				got = fmt.Sprintf("seq %d with hash %s", cp.Seq, cp.Hash)
			}
			return c.res, fmt.Errorf("%w: the archive follows %s, but the previous one ends at seq %d with hash %s (rows missing between them)",
				policy.ErrChainBroken, got, after.Seq, after.Hash)
		}
	}
	page := make([]store.AuditRow, 0, verifyPage)
	line := 1
	flush := func() error {
		err := c.add(page, "the archive's checkpoint")
		page = make([]store.AuditRow, 0, verifyPage)
		return err
	}
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		var row store.AuditRow
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil || row.Seq == 0 {
			return c.res, fmt.Errorf("%w: line %d is not an audit row", ErrArchive, line)
		}
		if page = append(page, row); len(page) == verifyPage {
			if err := flush(); err != nil {
				return c.res, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return c.res, err
	}
	return c.res, flush()
}
