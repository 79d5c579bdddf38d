package detect

import (
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// The generated table must say what the library says: the detector once
// read these values from the library at run time, and this is that code,
// kept as the reference. It fails when the library is updated and
// phonemeta.go is not regenerated (go generate ./internal/policy/detect).
func TestPhoneMetaMatchesLibrary(t *testing.T) {
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		t.Fatal(err)
	}
	ms := coll.GetMetadata()
	if len(ms) != len(phoneMeta) {
		t.Fatalf("library has %d metadata entries, phonemeta.go %d: regenerate it", len(ms), len(phoneMeta))
	}
	for i, m := range ms {
		var pats []string
		for _, d := range []*phonenumbers.PhoneNumberDesc{m.GetFixedLine(), m.GetMobile(), m.GetTollFree(), m.GetPremiumRate(),
			m.GetSharedCost(), m.GetVoip(), m.GetPersonalNumber(), m.GetPager(), m.GetUan(), m.GetVoicemail()} {
			if p := d.GetNationalNumberPattern(); p != "" && p != "NA" {
				pats = append(pats, "(?:"+p+")")
			}
		}
		want := phoneMetaEntry{
			id:        m.GetId(),
			cc:        int(m.GetCountryCode()),
			ndd:       m.GetNationalPrefix(),
			supported: phonenumbers.GetCountryCodeForRegion(m.GetId()) != 0,
			pattern:   strings.Join(pats, "|"),
		}
		if phoneMeta[i] != want {
			t.Errorf("entry %d: phonemeta.go has %+v, the library %+v: regenerate it", i, phoneMeta[i], want)
		}
	}
	regions := phonenumbers.GetSupportedRegions()
	if len(regions) < 200 {
		t.Fatalf("library supports only %d regions", len(regions))
	}
	for r := range regions {
		if got, want := callingCodeForRegion(r), phonenumbers.GetCountryCodeForRegion(r); got != want {
			t.Errorf("callingCodeForRegion(%q) = %d, library %d", r, got, want)
		}
	}
	for _, r := range []string{"", "001", "ZZ", "gb", "XX"} {
		if got, want := callingCodeForRegion(r), phonenumbers.GetCountryCodeForRegion(r); got != want {
			t.Errorf("callingCodeForRegion(%q) = %d, library %d", r, got, want)
		}
	}
}

// The phone plan is built on the first phone check, from the generated
// table: a scanner made in a fresh process finds a number at once.
func TestPhonePlanOnFirstUse(t *testing.T) {
	if !validIntl("442079460958") || !validNational("02079460958", "GB") || !validNational("4155550132", "US") {
		t.Fatal("valid numbers rejected")
	}
	if validIntl("449999") || validNational("12345", "GB") {
		t.Fatal("invalid numbers accepted")
	}
	if len(phonePlan.byCC[44]) == 0 || phonePlan.byRegion["GB"] == nil {
		t.Fatal("phone plan not loaded on first use")
	}
}
