package config

import "strings"

// Cloud provider types: proprietary models reached through in-region,
// contract-covered endpoints. See docs/providers/<type>.md.
const (
	TypeAzureOpenAI = "azure_openai"
	TypeBedrock     = "bedrock"
	TypeVertex      = "vertex"
	TypeMistral     = "mistral"
)

// Azure configures an azure_openai provider. base_url is the resource
// endpoint (https://NAME.openai.azure.com); api_version is the api-version
// query (default 2024-10-21). Authentication is api_key (sent as the
// api-key header) or one of the Microsoft Entra ID sources below.
type Azure struct {
	// Deployments maps upstream model names to deployment names. A model
	// not listed is sent to the deployment of the same name.
	Deployments map[string]string `yaml:"deployments"`
	// Entra obtains bearer tokens with the OAuth client-credentials flow.
	Entra *AzureEntra `yaml:"entra"`
	// TokenEnv names an environment variable holding an Entra access token
	// (read on every call, so an external refresher can rotate it).
	TokenEnv string `yaml:"token_env"`
	// TokenCommand is run (without a shell) to print an Entra access token,
	// e.g. ["az", "account", "get-access-token", "--resource",
	// "https://cognitiveservices.azure.com", "--query", "accessToken",
	// "-o", "tsv"]. The token is cached for TokenTTL.
	TokenCommand []string `yaml:"token_command"`
	// TokenTTL is how long a token printed by TokenCommand is reused.
	// Default 5m.
	TokenTTL Duration `yaml:"token_ttl"`
	// ResponsesAPIVersion, when set (e.g. "2025-04-01-preview"), sends
	// Responses API calls (the provider's responses: true) to the preview
	// surface POST /openai/responses?api-version=V. Default: the v1 API,
	// POST /openai/v1/responses, which takes no api-version.
	ResponsesAPIVersion string `yaml:"responses_api_version"`
}

// AzureEntra is a Microsoft Entra ID app registration.
type AzureEntra struct {
	TenantID     string `yaml:"tenant_id"`
	ClientID     string `yaml:"client_id"`
	ClientSecret string `yaml:"client_secret"`
	// TokenURL defaults to
	// https://login.microsoftonline.com/TENANT/oauth2/v2.0/token.
	TokenURL string `yaml:"token_url"`
	// Scope defaults to https://cognitiveservices.azure.com/.default.
	Scope string `yaml:"scope"`
}

// AWS configures a bedrock provider. Credentials come from the AWS SDK's
// default chain (environment, shared config and profile, web identity,
// container and instance roles) unless static keys are given here.
type AWS struct {
	// Region is the AWS region, e.g. eu-central-1. Required.
	Region string `yaml:"region"`
	// Profile selects a shared-config profile.
	Profile string `yaml:"profile"`
	// AccessKeyID, SecretAccessKey and SessionToken, when set, are used
	// instead of the default chain. Write them as ${ENV}.
	AccessKeyID     string `yaml:"access_key_id"`
	SecretAccessKey string `yaml:"secret_access_key"`
	SessionToken    string `yaml:"session_token"`
}

// Vertex configures a vertex provider. Credentials are a service-account
// or workload-identity-federation JSON file, else Google's application
// default credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud, the GKE or
// GCE metadata server).
type Vertex struct {
	// Project is the Google Cloud project ID. Required.
	Project string `yaml:"project"`
	// Location is the Vertex AI region, e.g. europe-west4, or "global".
	// Required.
	Location string `yaml:"location"`
	// CredentialsFile is a credentials JSON file.
	CredentialsFile string `yaml:"credentials_file"`
	// TokenURL, when set, replaces the credentials' token endpoint (tests,
	// private service connect).
	TokenURL string `yaml:"token_url"`
}

// Mistral configures a mistral provider.
type Mistral struct {
	// SafePrompt sends safe_prompt: true, which makes Mistral prepend its
	// safety system prompt. Default false.
	SafePrompt bool `yaml:"safe_prompt"`
}

// DefaultAzureAPIVersion is the api-version sent when none is configured:
// the latest generally available data-plane version.
const DefaultAzureAPIVersion = "2024-10-21"

// VertexBaseURL is the regional Vertex AI API root for a location.
func VertexBaseURL(location string) string {
	if location == "" || location == "global" {
		return "https://aiplatform.googleapis.com/v1"
	}
	return "https://" + location + "-aiplatform.googleapis.com/v1"
}

// BedrockBaseURL is the Bedrock runtime endpoint of an AWS region.
func BedrockBaseURL(region string) string {
	return "https://bedrock-runtime." + region + ".amazonaws.com"
}

// validateCloud checks the settings of the cloud provider types.
func validateCloud(path string, p *Provider, add func(path, format string, args ...any)) {
	switch p.Type {
	case TypeAzureOpenAI:
		if p.BaseURL == "" {
			add(path+".base_url", "required for azure_openai: the resource endpoint, e.g. https://NAME.openai.azure.com")
		} else if !validURL(p.BaseURL) {
			add(path+".base_url", "must be an http(s) URL, not %q", p.BaseURL)
		}
		n := 0
		if p.APIKey != "" {
			n++
		}
		if a := p.Azure; a != nil {
			if a.Entra != nil {
				n++
				if a.Entra.ClientID == "" || a.Entra.ClientSecret == "" || (a.Entra.TenantID == "" && a.Entra.TokenURL == "") {
					add(path+".azure.entra", "needs client_id, client_secret and tenant_id (or token_url)")
				}
			}
			if a.TokenEnv != "" {
				n++
			}
			if len(a.TokenCommand) > 0 {
				n++
			}
		}
		if n != 1 {
			add(path, "azure_openai needs exactly one of api_key, azure.entra, azure.token_env, azure.token_command (has %d)", n)
		}
	case TypeBedrock:
		if p.AWS == nil || p.AWS.Region == "" {
			add(path+".aws.region", "required for bedrock, e.g. eu-central-1")
		}
		if p.BaseURL != "" && !validURL(p.BaseURL) {
			add(path+".base_url", "must be an http(s) URL, not %q", p.BaseURL)
		}
		if p.AWS != nil && (p.AWS.AccessKeyID == "") != (p.AWS.SecretAccessKey == "") {
			add(path+".aws", "access_key_id and secret_access_key go together")
		}
	case TypeVertex:
		if p.Vertex == nil || p.Vertex.Project == "" {
			add(path+".vertex.project", "required for vertex")
		}
		if p.Vertex == nil || p.Vertex.Location == "" {
			add(path+".vertex.location", "required for vertex, e.g. europe-west4")
		} else if strings.ContainsAny(p.Vertex.Location, "/.:") {
			add(path+".vertex.location", "must be a region name such as europe-west4, not %q", p.Vertex.Location)
		}
		if p.BaseURL != "" && !validURL(p.BaseURL) {
			add(path+".base_url", "must be an http(s) URL, not %q", p.BaseURL)
		}
	case TypeMistral:
		if !validURL(p.BaseURL) {
			add(path+".base_url", "must be an http(s) URL, not %q", p.BaseURL)
		}
	}
	// region is a fact the data policy trusts: it may not contradict
	// where the configured endpoint processes data.
	if where, geo := endpointGeo(p); geo != "" && p.Region != "" {
		if r := strings.ToLower(p.Region); knownGeo[geoOf(r)] && geoOf(r) != geo {
			add(path+".region", "%q contradicts %s, which processes data in %s: the data policy trusts region, so it must say where the endpoint is", p.Region, where, geoName(geo))
		}
	}
}

// knownGeo are the geographies a region value can be judged by; other
// values (a country code, a city) are taken as stated.
var knownGeo = map[string]bool{"eu": true, "us": true, "ap": true, "ca": true, "sa": true, "me": true, "af": true, "il": true, "mx": true, "global": true}

// geoOf is the geography of a region value: its first dash-separated part
// ("eu-central-1" -> "eu"), with Google's and Bedrock's names mapped
// ("europe-west4" -> "eu", "apac" -> "ap").
func geoOf(r string) string {
	g, _, _ := strings.Cut(r, "-")
	switch g {
	case "europe":
		return "eu"
	case "asia", "apac", "australia", "jp", "au":
		return "ap"
	case "northamerica":
		return "ca"
	case "southamerica":
		return "sa"
	}
	return g
}

func geoName(g string) string {
	if g == "global" {
		return "any region (a global endpoint)"
	}
	return "the " + g + " geography"
}

// endpointGeo says where a bedrock or vertex provider's endpoint processes
// data, from its AWS region or Vertex location ("" when unknown).
func endpointGeo(p *Provider) (where, geo string) {
	switch {
	case p.Type == TypeBedrock && p.AWS != nil && p.AWS.Region != "":
		return "aws.region " + p.AWS.Region, geoOf(strings.ToLower(p.AWS.Region))
	case p.Type == TypeVertex && p.Vertex != nil && p.Vertex.Location != "":
		return "vertex.location " + p.Vertex.Location, geoOf(strings.ToLower(p.Vertex.Location))
	}
	return "", ""
}

// cloudDefaults fills the defaults of the cloud provider types.
func cloudDefaults(p *Provider) {
	switch p.Type {
	case TypeAzureOpenAI:
		if p.APIVersion == "" {
			p.APIVersion = DefaultAzureAPIVersion
		}
	case TypeBedrock:
		if p.BaseURL == "" && p.AWS != nil && p.AWS.Region != "" {
			p.BaseURL = BedrockBaseURL(p.AWS.Region)
		}
	case TypeVertex:
		if p.BaseURL == "" && p.Vertex != nil && p.Vertex.Location != "" {
			p.BaseURL = VertexBaseURL(p.Vertex.Location)
		}
	case TypeMistral:
		// La Plateforme is hosted in the EU; the operator still states the
		// region the policy may rely on, but the default one is known.
		if p.BaseURL == "" {
			p.BaseURL = "https://api.mistral.ai/v1"
			if p.Region == "" {
				p.Region = "eu"
			}
		}
	}
}
