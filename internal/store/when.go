package store

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseWhen reads a --since/--until (or admin since/until) value: a duration back from
// now (90m, 24h, 7d, 2w; to the whole minute), a UTC date or an RFC 3339
// time. "" is no bound.
func ParseWhen(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	var unit time.Duration
	switch {
	case strings.HasSuffix(s, "d"):
		unit = 24 * time.Hour
	case strings.HasSuffix(s, "w"):
		unit = 7 * 24 * time.Hour
	}
	if unit != 0 {
		n, err := strconv.Atoi(s[:len(s)-1])
		if err == nil && n >= 0 && n < 100000 {
			return now.Add(-time.Duration(n) * unit).UTC().Truncate(time.Minute), nil
		}
	} else if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d).UTC().Truncate(time.Minute), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a duration (24h, 7d, 2w), a date (2026-11-01) or an RFC 3339 time", s)
}
