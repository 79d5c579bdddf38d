package advise

import "testing"

func TestTokensFormat(t *testing.T) {
	for v, want := range map[float64]string{950: "950", 12_000: "12 K", 450e6: "450 M", 49.6e9: "49.6 B", 1.1e15: "1100.0 T"} {
		if got := tokens(v); got != want {
			t.Errorf("tokens(%g) = %q, want %q", v, got, want)
		}
	}
}
