package meter

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/fulcrumhq/fulcrum/internal/store"
)

// The journal is a directory of append-only segment files named
// journal-NNNNNNNNNNNNNNNN.log. Each line is one entry:
//
//	crc32-hex SP json LF
//
// where json is a usage record alone (the first format, still read), or
// {"usage":record,"audit":row} when an upstream attempt has both, or
// {"audit":row} for an audit row of a request that made no upstream call.
// A usage record and the audit row of the same attempt are thus one line:
// both survive, or neither was confirmed.
//
// Lines are appended in groups, each group with a single write(2) (Log),
// and a caller is confirmed only once its group's write has returned, so a
// process killed at any moment leaves every confirmed record whole in the
// page cache; only a line whose write had not returned (an unconfirmed
// record: a killed write leaves a prefix of its group) can be torn, and its
// checksum or missing newline tells.

const segPrefix, segSuffix = "journal-", ".log"

func segName(id int64) string { return fmt.Sprintf("%s%016d%s", segPrefix, id, segSuffix) }

// segments lists the journal's segment ids in order.
func segments(dir string) ([]int64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var ids []int64
	for _, e := range ents {
		n := e.Name()
		if !strings.HasPrefix(n, segPrefix) || !strings.HasSuffix(n, segSuffix) {
			continue
		}
		id, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(n, segPrefix), segSuffix), 10, 64)
		if err == nil {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids, nil
}

// entry is one journal line: a usage record, an audit row, or both.
type entry struct {
	rec    Record
	row    store.AuditRow
	hasRec bool
	hasRow bool
}

// appendLine encodes e as a journal line onto b.
func appendLine(b []byte, e *entry) []byte {
	at := len(b)
	b = append(b, "00000000 "...) // the checksum, once the JSON is known
	switch {
	case !e.hasRow:
		b = appendRecordJSON(b, &e.rec)
	case e.hasRec:
		b = appendRecordJSON(append(b, `{"usage":`...), &e.rec)
		b = append(appendAuditJSON(append(b, `,"audit":`...), &e.row), '}')
	default:
		b = append(appendAuditJSON(append(b, `{"audit":`...), &e.row), '}')
	}
	c := crc32.ChecksumIEEE(b[at+9:])
	const digits = "0123456789abcdef"
	for i := range 8 {
		b[at+i] = digits[c>>(28-4*i)&0xf]
	}
	return append(b, '\n')
}

// readSegment returns the whole, valid entries of a segment and how many
// lines were damaged (torn or failing their checksum).
func readSegment(path string) (recs []entry, bad int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<16)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			if r, ok := parseLine(line); ok {
				recs = append(recs, r)
			} else {
				bad++
			}
		}
		if err == io.EOF {
			return recs, bad, nil
		}
		if err != nil {
			return recs, bad, err
		}
	}
}

func parseLine(line []byte) (entry, bool) {
	var r entry
	if len(line) < 10 || line[len(line)-1] != '\n' || line[8] != ' ' {
		return r, false
	}
	var sum [4]byte
	if _, err := hex.Decode(sum[:], line[:8]); err != nil {
		return r, false
	}
	js := bytes.TrimSuffix(line[9:], []byte{'\n'})
	c := uint32(sum[0])<<24 | uint32(sum[1])<<16 | uint32(sum[2])<<8 | uint32(sum[3])
	if crc32.ChecksumIEEE(js) != c {
		return r, false
	}
	if !bytes.HasPrefix(js, []byte(`{"usage":`)) && !bytes.HasPrefix(js, []byte(`{"audit":`)) {
		r.hasRec = json.Unmarshal(js, &r.rec) == nil
		return r, r.hasRec
	}
	var both struct {
		Usage *Record         `json:"usage"`
		Audit *store.AuditRow `json:"audit"`
	}
	if json.Unmarshal(js, &both) != nil || both.Audit == nil {
		return r, false
	}
	r.row, r.hasRow = *both.Audit, true
	if both.Usage != nil {
		r.rec, r.hasRec = *both.Usage, true
	}
	return r, true
}

func segPath(dir string, id int64) string { return filepath.Join(dir, segName(id)) }
