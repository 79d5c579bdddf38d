package config

import (
	"time"

	"github.com/fulcrumhq/fulcrum/internal/jsonscan"
)

// applyInputDefaults fills the request-input limits of server.
func (s *Server) applyInputDefaults() {
	if s.MaxHeaderBytes == 0 {
		s.MaxHeaderBytes = 64 << 10
	}
	if s.BodyTimeout == 0 {
		s.BodyTimeout = Duration(10 * time.Second)
	}
	if s.MinBodyRate == 0 {
		s.MinBodyRate = 64 << 10
	}
	if s.WriteStall == 0 {
		s.WriteStall = Duration(60 * time.Second)
	}
	if s.MaxInFlight == 0 {
		s.MaxInFlight = 4096
	}
	if s.MaxBodyMemory == 0 {
		s.MaxBodyMemory = 1 << 30
	}
	if s.MaxMessages == 0 {
		s.MaxMessages = 10000
	}
	if s.MaxJSONDepth == 0 {
		s.MaxJSONDepth = 128
	}
	if s.MaxOutputTokens == 0 {
		s.MaxOutputTokens = 1 << 24
	}
	if s.MaxFulcrumHeaderBytes == 0 {
		s.MaxFulcrumHeaderBytes = 8 << 10
	}
}

// validateInputs checks the request-input limits: each must be positive
// (zero takes the default).
func (s *Server) validateInputs() []error {
	var errs []error
	for _, f := range []struct {
		path string
		v    int64
	}{
		{"server.max_header_bytes", int64(s.MaxHeaderBytes)},
		{"server.body_timeout", int64(s.BodyTimeout)},
		{"server.min_body_rate", s.MinBodyRate},
		{"server.write_stall", int64(s.WriteStall)},
		{"server.max_in_flight", s.MaxInFlight},
		{"server.max_body_memory", s.MaxBodyMemory},
		{"server.max_messages", int64(s.MaxMessages)},
		{"server.max_json_depth", int64(s.MaxJSONDepth)},
		{"server.max_output_tokens", s.MaxOutputTokens},
		{"server.max_fulcrum_header_bytes", int64(s.MaxFulcrumHeaderBytes)},
	} {
		if f.v < 0 {
			errs = append(errs, errorf(f.path, "must be positive"))
		}
	}
	// The policy scan reads bodies to this depth too (one recursion per
	// level), so a body the gateway accepts is always scanned to the end.
	if s.MaxJSONDepth > jsonscan.DepthLimit {
		errs = append(errs, errorf("server.max_json_depth", "at most %d (the deepest nesting the policy scanner reads), not %d", jsonscan.DepthLimit, s.MaxJSONDepth))
	}
	return errs
}
