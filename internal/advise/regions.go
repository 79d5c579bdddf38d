package advise

import "strings"

// regionWithin reports whether an API's region lies in the residency area.
// Regions compare case-insensitively ("EU" is "eu"). A cloud region the
// table below knows lies in its country, and in "eu" when that country is
// in the Union: AWS "eu-central-1" (Frankfurt) is in "de" and "eu",
// "eu-west-2" (London) in "uk" and not in "eu"; Azure "canadacentral" is in
// "ca", "eastus" in "us"; Google "europe-west6" (Zurich) in "ch". Any other
// region lies in the area it begins with ("us-east-1" in "us",
// "ca-west-1" in "ca", Google's "europe-…" in "eu"). Anything else (an
// empty region) is not known to be inside, so the API is out.
func regionWithin(region, residency string) bool {
	reg, res := strings.ToLower(strings.TrimSpace(region)), strings.ToLower(strings.TrimSpace(residency))
	if res == "gb" {
		res = "uk"
	}
	if reg == "" || res == "" {
		return false
	}
	if reg == res {
		return true
	}
	if country, ok := cloudRegions[reg]; ok {
		return country == res || (res == "eu" && euMembers[country])
	}
	if strings.HasPrefix(reg, res+"-") {
		return true
	}
	return res == "eu" && strings.HasPrefix(reg, "europe-")
}

// euMembers are the Union's member states among cloudRegions' countries.
var euMembers = map[string]bool{
	"at": true, "be": true, "de": true, "es": true, "fi": true, "fr": true,
	"ie": true, "it": true, "nl": true, "pl": true, "se": true,
}

// cloudRegions are the cloud regions whose names do not say the country
// they are in, or say an area that does not hold it (London and Zurich are
// named for Europe and lie outside the Union), by ISO country code ("uk"
// for the United Kingdom, as Azure writes it). Sources: the providers'
// region lists (docs.aws.amazon.com/global-infrastructure/latest/regions,
// learn.microsoft.com/azure/reliability/regions-list,
// cloud.google.com/about/locations).
var cloudRegions = map[string]string{
	// AWS (Bedrock) regions in Europe, Asia-Pacific and elsewhere.
	"eu-west-1": "ie", "eu-west-2": "uk", "eu-west-3": "fr", "eu-central-1": "de", "eu-central-2": "ch",
	"eu-north-1": "se", "eu-south-1": "it", "eu-south-2": "es",
	"ap-northeast-1": "jp", "ap-northeast-2": "kr", "ap-northeast-3": "jp", "ap-southeast-1": "sg",
	"ap-southeast-2": "au", "ap-south-1": "in", "ap-south-2": "in", "sa-east-1": "br",
	"me-central-1": "ae", "il-central-1": "il", "af-south-1": "za",
	// Google Cloud (Vertex AI).
	"europe-west1": "be", "europe-west2": "uk", "europe-west3": "de", "europe-west4": "nl", "europe-west6": "ch",
	"europe-west8": "it", "europe-west9": "fr", "europe-west10": "de", "europe-west12": "it",
	"europe-north1": "fi", "europe-central2": "pl", "europe-southwest1": "es",
	"northamerica-northeast1": "ca", "northamerica-northeast2": "ca",
	"asia-northeast1": "jp", "asia-northeast2": "jp", "asia-northeast3": "kr", "asia-south1": "in",
	"asia-south2": "in", "asia-southeast1": "sg", "australia-southeast1": "au", "australia-southeast2": "au",
	"southamerica-east1": "br",
	// Azure (Azure OpenAI).
	"westeurope": "nl", "northeurope": "ie", "francecentral": "fr", "francesouth": "fr",
	"germanywestcentral": "de", "germanynorth": "de", "swedencentral": "se", "swedensouth": "se",
	"italynorth": "it", "polandcentral": "pl", "spaincentral": "es", "austriaeast": "at",
	"uksouth": "uk", "ukwest": "uk", "switzerlandnorth": "ch", "switzerlandwest": "ch",
	"norwayeast": "no", "norwaywest": "no",
	"eastus": "us", "eastus2": "us", "centralus": "us", "northcentralus": "us", "southcentralus": "us",
	"westcentralus": "us", "westus": "us", "westus2": "us", "westus3": "us",
	"usgovvirginia": "us", "usgovarizona": "us", "usgovtexas": "us",
	"canadacentral": "ca", "canadaeast": "ca", "brazilsouth": "br",
	"japaneast": "jp", "japanwest": "jp", "koreacentral": "kr", "koreasouth": "kr",
	"australiaeast": "au", "australiasoutheast": "au", "australiacentral": "au",
	"centralindia": "in", "southindia": "in", "westindia": "in", "uaenorth": "ae", "southafricanorth": "za",
}
