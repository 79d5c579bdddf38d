package detect

import (
	"regexp"
	"strings"
	"sync"

	"github.com/nyaruka/phonenumbers"
)

// Phone numbers are validated against libphonenumber's metadata (through
// github.com/nyaruka/phonenumbers): a number is valid when its national
// significant number matches one of the number-type patterns (fixed line,
// mobile, toll free, ...) of a region of its country calling code, which is
// what phonenumbers.IsValidNumber checks. The library's own Parse and
// IsValidNumber take 10-20 µs per call (extension regexps, per-call pattern
// strings); matching one precompiled pattern per region takes under 1 µs,
// which keeps the scanner inside its latency budget.

type phoneRegion struct {
	id      string
	ndd     string // national (trunk) prefix, e.g. "0"
	pattern string
	once    sync.Once
	re      *regexp.Regexp
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
		coll, err := phonenumbers.MetadataCollection()
		if err != nil {
			return // no metadata: no phone numbers are recognised
		}
		for _, m := range coll.GetMetadata() {
			var pats []string
			for _, d := range []*phonenumbers.PhoneNumberDesc{m.GetFixedLine(), m.GetMobile(), m.GetTollFree(), m.GetPremiumRate(),
				m.GetSharedCost(), m.GetVoip(), m.GetPersonalNumber(), m.GetPager(), m.GetUan(), m.GetVoicemail()} {
				if p := d.GetNationalNumberPattern(); p != "" && p != "NA" {
					pats = append(pats, "(?:"+p+")")
				}
			}
			if len(pats) == 0 || m.GetCountryCode() == 0 {
				continue
			}
			r := &phoneRegion{id: m.GetId(), ndd: m.GetNationalPrefix(), pattern: strings.Join(pats, "|")}
			phonePlan.byRegion[r.id] = r
			cc := int(m.GetCountryCode())
			phonePlan.byCC[cc] = append(phonePlan.byCC[cc], r)
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
	if phonenumbers.GetCountryCodeForRegion(region) == 1 {
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
