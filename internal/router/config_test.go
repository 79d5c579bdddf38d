package router

import (
	"strings"
	"testing"

	"github.com/fulcrumhq/fulcrum/internal/config"
)

// TestRouteConfigErrors checks that config validation of routes names the
// field at fault.
func TestRouteConfigErrors(t *testing.T) {
	tests := []struct{ routes, want string }{
		{"routes:\n  - {name: r, strategy: nope, targets: [a]}", "routes[0].strategy"},
		{"routes:\n  - {name: r, targets: [zzz]}", "routes[0].targets[0].model: unknown model"},
		{"routes:\n  - {name: r, strategy: router, targets: [a]}", "routes[0].targets: strategy router needs exactly two"},
		{"routes:\n  - {name: r, targets: [a], balance: fastest}", "routes[0].balance"},
		{"routes:\n  - {name: r, targets: [a], retry: {on: [\"418x\"]}}", "routes[0].retry.on[0]"},
		{"routes:\n  - {name: r, strategy: cascade, targets: [a, b], cascade: {stream: maybe, regex: \"(\"}}", "routes[0].cascade.stream"},
		{"routes:\n  - {name: r, strategy: cascade, targets: [a, b], cascade: {regex: \"(\"}}", "routes[0].cascade.regex"},
		{"routes:\n  - {name: r, strategy: router, targets: [a, b], strong_share: 2}", "routes[0].strong_share"},
		{"routes:\n  - {name: a, targets: [b]}", "is also a model name"},
	}
	for _, tt := range tests {
		_, err := config.Parse([]byte(testProviders+tt.routes), func(string) (string, bool) { return "", false })
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s\n  error %v, want it to mention %q", tt.routes, err, tt.want)
		}
	}
}
