package advise

import "testing"

// A residency other than "eu" is a country: a ministry bound to Canada
// may use Azure's Toronto region ("canadacentral"), which was read as "not
// known to be inside" and ruled out, and the advice fell to an API 2.8×
// dearer (internal/cli TestAdviseOrgMinistry works it by hand). Regions
// named for a country, an area or neither are placed by the providers'
// lists; a country residency is not met by its continent.
func TestRegionWithinCountries(t *testing.T) {
	for _, c := range []struct {
		region, residency string
		in                bool
	}{
		{"canadacentral", "ca", true}, {"canadaeast", "CA", true}, {"ca-central-1", "ca", true},
		{"northamerica-northeast2", "ca", true}, {"eastus", "ca", false}, {"canadacentral", "us", false},
		{"eastus", "us", true}, {"westus3", "us", true}, {"usgovvirginia", "us", true}, {"us-gov-west-1", "us", true},
		{"uksouth", "uk", true}, {"eu-west-2", "uk", true}, {"europe-west2", "gb", true}, {"uksouth", "eu", false},
		{"eu-central-1", "de", true}, {"germanywestcentral", "de", true}, {"europe-west3", "de", true},
		{"eu-west-3", "de", false}, {"eu-central-1", "eu", true}, {"europe-west6", "ch", true},
		{"switzerlandnorth", "ch", true}, {"switzerlandnorth", "eu", false}, {"norwayeast", "eu", false},
		{"japaneast", "jp", true}, {"ap-northeast-1", "jp", true}, {"ap-northeast-2", "jp", false},
		{"europe-west99", "eu", true}, {"", "ca", false}, {"ca", "", false},
	} {
		if got := regionWithin(c.region, c.residency); got != c.in {
			t.Errorf("regionWithin(%q, %q) = %v, want %v", c.region, c.residency, got, c.in)
		}
	}
}
