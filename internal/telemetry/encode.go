package telemetry

import (
	"math"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
)

// OTLP protobuf, written field by field with protowire: no intermediate
// message structs. Field numbers are those of opentelemetry-proto v1
// (opentelemetry/proto/trace/v1/trace.proto, common/v1/common.proto,
// resource/v1/resource.proto, collector/trace/v1/trace_service.proto);
// the tests decode what is written with the generated
// go.opentelemetry.io/proto/otlp types.
const (
	// ExportTraceServiceRequest
	fRequestResourceSpans = 1
	// ResourceSpans
	fResourceSpansResource = 1
	fResourceSpansScope    = 2
	// Resource
	fResourceAttributes = 1
	// ScopeSpans
	fScopeSpansScope = 1
	fScopeSpansSpans = 2
	// InstrumentationScope
	fScopeName    = 1
	fScopeVersion = 2
	// Span
	fSpanTraceID    = 1
	fSpanSpanID     = 2
	fSpanTraceState = 3
	fSpanParentID   = 4
	fSpanName       = 5
	fSpanKind       = 6
	fSpanStart      = 7 // fixed64
	fSpanEnd        = 8 // fixed64
	fSpanAttributes = 9
	fSpanStatus     = 15
	fSpanFlags      = 16 // fixed32
	// Status
	fStatusMessage = 2
	fStatusCode    = 3
	statusError    = 2 // STATUS_CODE_ERROR
	// KeyValue
	fKVKey   = 1
	fKVValue = 2
	// AnyValue
	fAnyString = 1
	fAnyBool   = 2
	fAnyInt    = 3
	fAnyDouble = 4 // fixed64
	fAnyArray  = 5
	// ArrayValue
	fArrayValues = 1

	// Span.flags: the W3C trace flags in the low byte; bit 8 says whether
	// the parent is remote is known, bit 9 that it is (SpanFlags).
	spanFlagHasIsRemote = 0x100
	spanFlagIsRemote    = 0x200
)

// One-byte tags: every field number above is below 16.
func tag(num protowire.Number, typ protowire.Type) byte { return byte(protowire.EncodeTag(num, typ)) }

func appendBytesField(b []byte, num protowire.Number, v []byte) []byte {
	b = append(b, tag(num, protowire.BytesType))
	return protowire.AppendBytes(b, v)
}

func appendStringField(b []byte, num protowire.Number, v string) []byte {
	b = append(b, tag(num, protowire.BytesType))
	return protowire.AppendString(b, v)
}

// sizeStr is the encoded size of a string field with a one-byte tag.
func sizeStr(v string) int { return 1 + protowire.SizeBytes(len(v)) }

// appendKV appends a KeyValue (as field num of the enclosing message)
// whose AnyValue, of encoded size anyLen, the caller appends next.
func appendKV(b []byte, num protowire.Number, key string, anyLen int) []byte {
	b = append(b, tag(num, protowire.BytesType))
	b = protowire.AppendVarint(b, uint64(sizeStr(key)+1+protowire.SizeBytes(anyLen)))
	b = appendStringField(b, fKVKey, key)
	b = append(b, tag(fKVValue, protowire.BytesType))
	return protowire.AppendVarint(b, uint64(anyLen))
}

func appendStrAttr(b []byte, num protowire.Number, key, v string) []byte {
	b = appendKV(b, num, key, sizeStr(v))
	return appendStringField(b, fAnyString, v)
}

func appendBoolAttr(b []byte, num protowire.Number, key string) []byte {
	b = appendKV(b, num, key, 2)
	return append(b, tag(fAnyBool, protowire.VarintType), 1)
}

func appendIntAttr(b []byte, num protowire.Number, key string, v int64) []byte {
	b = appendKV(b, num, key, 1+protowire.SizeVarint(uint64(v)))
	b = append(b, tag(fAnyInt, protowire.VarintType))
	return protowire.AppendVarint(b, uint64(v))
}

func appendDoubleAttr(b []byte, num protowire.Number, key string, v float64) []byte {
	b = appendKV(b, num, key, 9)
	b = append(b, tag(fAnyDouble, protowire.Fixed64Type))
	return protowire.AppendFixed64(b, math.Float64bits(v))
}

// appendStrsAttr appends a string array attribute; split, when not 0,
// cuts vs[0] at that byte (a comma-separated list) instead.
func appendStrsAttr(b []byte, num protowire.Number, key string, vs []string, split byte) []byte {
	each := func(f func(string)) {
		for _, v := range vs {
			if split == 0 {
				f(v)
				continue
			}
			for v != "" {
				i := strings.IndexByte(v, split)
				if i < 0 {
					f(v)
					break
				}
				f(v[:i])
				v = v[i+1:]
			}
		}
	}
	arr := 0
	each(func(v string) { arr += 1 + protowire.SizeBytes(sizeStr(v)) })
	b = appendKV(b, num, key, 1+protowire.SizeBytes(arr))
	b = append(b, tag(fAnyArray, protowire.BytesType))
	b = protowire.AppendVarint(b, uint64(arr))
	each(func(v string) {
		b = append(b, tag(fArrayValues, protowire.BytesType))
		b = protowire.AppendVarint(b, uint64(sizeStr(v)))
		b = appendStringField(b, fAnyString, v)
	})
	return b
}

// appendSpan appends s as an encoded Span message (without its own tag
// and length).
func appendSpan(b []byte, s *Span) []byte {
	b = appendBytesField(b, fSpanTraceID, s.sc.traceID[:])
	b = appendBytesField(b, fSpanSpanID, s.sc.spanID[:])
	if s.traceState != "" {
		b = appendStringField(b, fSpanTraceState, s.traceState)
	}
	if s.parent != [8]byte{} {
		b = appendBytesField(b, fSpanParentID, s.parent[:])
	}
	b = append(b, tag(fSpanName, protowire.BytesType))
	if s.name2 == "" {
		b = protowire.AppendString(b, s.name1)
	} else {
		b = protowire.AppendVarint(b, uint64(len(s.name1)+1+len(s.name2)))
		b = append(append(append(b, s.name1...), ' '), s.name2...)
	}
	b = append(b, tag(fSpanKind, protowire.VarintType), s.kind)
	b = append(b, tag(fSpanStart, protowire.Fixed64Type))
	b = protowire.AppendFixed64(b, uint64(s.start))
	b = append(b, tag(fSpanEnd, protowire.Fixed64Type))
	b = protowire.AppendFixed64(b, uint64(s.end))
	b = appendAttrs(b, s)
	if s.status >= 400 {
		msg := s.errType
		if msg == "" {
			msg = strconv.FormatInt(s.status, 10)
		}
		b = append(b, tag(fSpanStatus, protowire.BytesType))
		b = protowire.AppendVarint(b, uint64(sizeStr(msg)+2))
		b = appendStringField(b, fStatusMessage, msg)
		b = append(b, tag(fStatusCode, protowire.VarintType), statusError)
	}
	flags := uint32(spanFlagHasIsRemote | 1) // only sampled spans are exported
	if s.remoteParent {
		flags |= spanFlagIsRemote
	}
	b = protowire.AppendVarint(b, uint64(protowire.EncodeTag(fSpanFlags, protowire.Fixed32Type)))
	return protowire.AppendFixed32(b, flags)
}

// appendAttrs appends the span's attributes (docs/tracing.md's table).
func appendAttrs(b []byte, s *Span) []byte {
	const n = fSpanAttributes
	str := func(key, v string) {
		if v != "" {
			b = appendStrAttr(b, n, key, v)
		}
	}
	flag := func(bit uint32, key string) {
		if s.flag&bit != 0 {
			b = appendBoolAttr(b, n, key)
		}
	}
	if s.kind == kindServer {
		str("http.request.method", s.method)
		str("url.path", s.path)
	}
	str(OperationName, s.op)
	str(ProviderName, s.providerName)
	str(RequestModel, s.model)
	str(AttrProvider, s.provider)
	str(AttrHosting, s.hosting)
	str(AttrRegion, s.region)
	switch {
	case s.kind == kindClient:
		b = appendIntAttr(b, n, AttrAttempt, s.attempt)
	case s.set&hasServed != 0:
		b = appendIntAttr(b, n, AttrAttempts, s.attempt)
	}
	flag(flagPassThrough, AttrPassThrough)
	flag(flagJudge, "fulcrum.judge")
	flag(flagStream, AttrStream)
	if s.set&hasMaxTokens != 0 {
		b = appendIntAttr(b, n, RequestMaxTokens, s.maxTokens)
	}
	if s.set&hasTemperature != 0 {
		b = appendDoubleAttr(b, n, RequestTemperature, s.temperature)
	}
	if s.set&hasTopP != 0 {
		b = appendDoubleAttr(b, n, RequestTopP, s.topP)
	}
	if s.set&hasSeed != 0 {
		b = appendIntAttr(b, n, RequestSeed, s.seed)
	}
	if len(s.stop) > 0 {
		b = appendStrsAttr(b, n, RequestStopSequences, s.stop, 0)
	}
	if s.choices > 1 {
		b = appendIntAttr(b, n, RequestChoiceCount, s.choices)
	}
	str(AttrRequestID, s.requestID)
	str(AttrKeyID, s.keyID)
	flag(flagCached, AttrCached)
	str(ResponseID, s.responseID)
	str(ResponseModel, s.respMod)
	if len(s.finish) > 0 {
		b = appendStrsAttr(b, n, ResponseFinishReasons, s.finish, 0)
	}
	if s.set&hasUsage != 0 {
		b = appendIntAttr(b, n, UsageInputTokens, s.inTok)
		b = appendIntAttr(b, n, UsageOutputTokens, s.outTok)
		if s.cacheRead > 0 {
			b = appendIntAttr(b, n, UsageCacheReadTokens, s.cacheRead)
		}
	}
	flag(flagEstimated, AttrUsageEstimated)
	if s.set&hasCost != 0 {
		b = appendDoubleAttr(b, n, AttrCostUSD, s.costUSD)
	}
	if s.set&hasReference != 0 {
		b = appendDoubleAttr(b, n, AttrReferenceCostUSD, s.refUSD)
	}
	if s.classes != "" {
		b = appendStrsAttr(b, n, AttrDataClasses, []string{s.classes}, ',')
	}
	str(AttrPolicyAction, s.action)
	str(AttrRoute, s.route)
	str(AttrRouteStrategy, s.strategy)
	str(InputMessages, s.input)
	str(OutputMessages, s.output)
	flag(flagWithheld, AttrContentWithheld)
	if s.status > 0 {
		b = appendIntAttr(b, n, "http.response.status_code", s.status)
	}
	if s.status >= 400 {
		msg := s.errType
		if msg == "" {
			msg = strconv.FormatInt(s.status, 10)
		}
		b = appendStrAttr(b, n, ErrorType, msg)
	}
	return b
}
