package telemetry

// Attribute names. The gen_ai.* ones follow the GenAI semantic conventions
// (https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/, the
// registry at https://opentelemetry.io/docs/specs/semconv/registry/attributes/gen-ai/);
// fulcrum.* are the gateway's own.
const (
	OperationName         = "gen_ai.operation.name"
	ProviderName          = "gen_ai.provider.name"
	RequestModel          = "gen_ai.request.model"
	RequestMaxTokens      = "gen_ai.request.max_tokens"
	RequestTemperature    = "gen_ai.request.temperature"
	RequestTopP           = "gen_ai.request.top_p"
	RequestSeed           = "gen_ai.request.seed"
	RequestStopSequences  = "gen_ai.request.stop_sequences"
	RequestChoiceCount    = "gen_ai.request.choice.count"
	ResponseID            = "gen_ai.response.id"
	ResponseModel         = "gen_ai.response.model"
	ResponseFinishReasons = "gen_ai.response.finish_reasons"
	UsageInputTokens      = "gen_ai.usage.input_tokens"
	UsageOutputTokens     = "gen_ai.usage.output_tokens"
	UsageCacheReadTokens  = "gen_ai.usage.cache_read.input_tokens"
	InputMessages         = "gen_ai.input.messages"
	OutputMessages        = "gen_ai.output.messages"
	ErrorType             = "error.type"

	AttrProvider         = "fulcrum.provider"
	AttrHosting          = "fulcrum.hosting"
	AttrRegion           = "fulcrum.region"
	AttrAttempt          = "fulcrum.attempt"
	AttrAttempts         = "fulcrum.attempts"
	AttrPassThrough      = "fulcrum.pass_through"
	AttrStream           = "fulcrum.stream"
	AttrRoute            = "fulcrum.route"
	AttrRouteStrategy    = "fulcrum.route.strategy"
	AttrDataClasses      = "fulcrum.data_classes"
	AttrPolicyAction     = "fulcrum.policy.action"
	AttrCostUSD          = "fulcrum.cost_usd"
	AttrReferenceCostUSD = "fulcrum.reference_cost_usd"
	AttrUsageEstimated   = "fulcrum.usage.estimated"
	AttrRequestID        = "fulcrum.request_id"
	AttrKeyID            = "fulcrum.key_id"
	AttrCached           = "fulcrum.cached"
	AttrContentWithheld  = "fulcrum.content_withheld"
)

// ProviderNameFor maps an adapter type to the conventions' well-known
// gen_ai.provider.name values. An OpenAI-compatible server that is
// self-hosted (vLLM, llama.cpp, TGI) is not OpenAI: it is named by the
// operator's provider name, as are types the conventions do not list.
func ProviderNameFor(typ, name, hosting string) string {
	switch typ {
	case "openai":
		if hosting == "self_hosted" {
			return name
		}
		return "openai"
	case "anthropic":
		return "anthropic"
	case "gemini":
		return "gcp.gemini"
	case "vertex":
		return "gcp.vertex_ai"
	case "azure":
		return "azure.ai.openai"
	case "bedrock":
		return "aws.bedrock"
	case "mistral":
		return "mistral_ai"
	}
	return name
}
