package detect

import (
	"regexp"
	"strings"
	"sync"
)

//go:generate go run ./internal/phonegen -o phonemeta.go

// Phone numbers are validated against libphonenumber's metadata (through
// github.com/nyaruka/phonenumbers): a number is valid when its national
// significant number matches one of the number-type patterns (fixed line,
// mobile, toll free, ...) of a region of its country calling code, which is
// what phonenumbers.IsValidNumber checks. The library's own Parse and
// IsValidNumber take 10-20 µs per call (extension regexps, per-call pattern
// strings); matching one precompiled pattern per region takes under 1 µs,
// which keeps the scanner inside its latency budget.
//
// The metadata the detector reads is generated into phonemeta.go rather
// than read from the library at run time: importing the library decodes
// all of its metadata at program start (41 ms and 2.5 MB of heap that stays
// live in every gateway process) and links its geocoding and carrier data.
// The generated table sits in read-only data until the first phone check.

// phoneMetaEntry is one entry of the generated metadata table.
type phoneMetaEntry struct {
	id        string // region code, or "001" for a non-geographic entity
	cc        int    // country calling code
	ndd       string // national (trunk) prefix, e.g. "0"
	supported bool   // a region code the library accepts (not "001")
	pattern   string // union of the number-type patterns; "" if none
}

type phoneRegion struct {
	id      string
	ndd     string // national (trunk) prefix, e.g. "0"
	pattern string
	// nanp: the region's calling code is 1 (callingCodeForRegion, read
	// once here: it walks every region).
	nanp bool
	once sync.Once
	re   *regexp.Regexp
}

func (r *phoneRegion) valid(nsn string) bool {
	r.once.Do(func() { r.re = regexp.MustCompile("^(?:" + r.pattern + ")$") })
	return r.re.MatchString(nsn)
}

var phonePlan struct {
	once     sync.Once
	byRegion map[string]*phoneRegion
	byCC     map[int][]*phoneRegion
}

func loadPhonePlan() {
	phonePlan.once.Do(func() {
		phonePlan.byRegion = map[string]*phoneRegion{}
		phonePlan.byCC = map[int][]*phoneRegion{}
		for i := range phoneMeta {
			m := &phoneMeta[i]
			if m.pattern == "" || m.cc == 0 {
				continue
			}
			r := &phoneRegion{id: m.id, ndd: m.ndd, pattern: m.pattern, nanp: callingCodeForRegion(m.id) == 1}
			phonePlan.byRegion[r.id] = r
			phonePlan.byCC[m.cc] = append(phonePlan.byCC[m.cc], r)
		}
	})
}

// validIntl reports whether digits (country code first, no '+') form a
// valid international number. A national prefix written after the
// country code, as in "+44 (0)20 7946 0958", is tolerated.
func validIntl(digits string) bool {
	loadPhonePlan()
	for l := 1; l <= 3 && l < len(digits); l++ {
		cc := 0
		for k := 0; k < l; k++ {
			cc = cc*10 + int(digits[k]-'0')
		}
		regions := phonePlan.byCC[cc]
		if len(regions) == 0 {
			continue
		}
		nsn := digits[l:]
		for _, r := range regions {
			if r.valid(nsn) || r.ndd != "" && strings.HasPrefix(nsn, r.ndd) && r.valid(nsn[len(r.ndd):]) {
				return true
			}
		}
		return false // calling codes are prefix-free
	}
	return false
}

// knownCallingCode reports whether digits start with an assigned country
// calling code followed by at least six digits.
func knownCallingCode(digits []byte) bool {
	loadPhonePlan()
	cc := 0
	for l := 1; l <= 3 && l < len(digits); l++ {
		cc = cc*10 + int(digits[l-1]-'0')
		if len(phonePlan.byCC[cc]) > 0 {
			return len(digits)-l >= 6
		}
	}
	return false
}

// validNational reports whether digits form a valid number of region as
// dialled inside it: with the trunk prefix outside North America ("020
// 7946 0958"), with or without the leading 1 in North America.
func validNational(digits, region string) bool {
	loadPhonePlan()
	r := phonePlan.byRegion[region]
	if r == nil {
		return false
	}
	if r.nanp {
		if len(digits) == 11 && digits[0] == '1' {
			digits = digits[1:]
		}
		return len(digits) == 10 && r.valid(digits)
	}
	if r.ndd != "" {
		if !strings.HasPrefix(digits, r.ndd) {
			return false
		}
		digits = digits[len(r.ndd):]
	}
	return r.valid(digits)
}

// callingCodeForRegion is the country calling code of a region code ("GB":
// 44), or 0 when the region is unknown; as the library's
// GetCountryCodeForRegion.
func callingCodeForRegion(region string) int {
	for i := range phoneMeta {
		if m := &phoneMeta[i]; m.supported && m.id == region {
			return m.cc
		}
	}
	return 0
}
