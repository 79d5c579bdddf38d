package store

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func TestPeriodStart(t *testing.T) {
	at := time.Date(2026, 7, 26, 23, 30, 0, 0, time.FixedZone("CEST", 2*3600)) // Sunday 21:30 UTC
	tests := []struct {
		p    Period
		want time.Time
	}{
		{Daily, time.Date(2026, 7, 26, 0, 0, 0, 0, time.UTC)},
		{Weekly, time.Date(2026, 7, 20, 0, 0, 0, 0, time.UTC)}, // Monday
		{Monthly, time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)},
		{AllTime, time.Unix(0, 0).UTC()},
	}
	for _, tt := range tests {
		if got := tt.p.Start(at); !got.Equal(tt.want) {
			t.Errorf("%s.Start = %s, want %s", tt.p, got, tt.want)
		}
	}
	monday := time.Date(2026, 7, 27, 0, 0, 0, 0, time.UTC)
	if got := Weekly.Start(monday); !got.Equal(monday) {
		t.Errorf("Weekly.Start(Monday 00:00) = %s", got)
	}
}

func TestLoadMigrations(t *testing.T) {
	fsys := fstest.MapFS{
		"m/0002_b.sql": {Data: []byte("B")},
		"m/0001_a.sql": {Data: []byte("A")},
		"m/README":     {Data: []byte("x")},
	}
	ms, err := LoadMigrations(fsys, "m")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Version != 1 || ms[1].SQL != "B" {
		t.Errorf("got %+v", ms)
	}
	fsys["m/x_bad.sql"] = &fstest.MapFile{}
	if _, err := LoadMigrations(fsys, "m"); err == nil {
		t.Error("bad name accepted")
	}
}

func TestAddTotals(t *testing.T) {
	d := map[TotalKey]TotalDelta{}
	r := UsageRecord{Time: time.Date(2026, 7, 24, 1, 0, 0, 0, time.UTC), KeyID: "k", Team: "t", Hosting: "proprietary",
		InputTokens: 3, OutputTokens: 4, CostNanos: 10}
	AddTotals(d, &r)
	AddTotals(d, &r)
	if len(d) != 8 {
		t.Fatalf("%d totals, want 2 scopes x 4 periods", len(d))
	}
	k := TotalKey{Scope: "team:t", Period: Daily, PeriodStart: time.Date(2026, 7, 24, 0, 0, 0, 0, time.UTC), Hosting: "proprietary"}
	if got := d[k]; got != (TotalDelta{SpentNanos: 20, Tokens: 14, Requests: 2}) {
		t.Errorf("%+v = %+v", k, got)
	}
}

func TestParseTagFilter(t *testing.T) {
	tests := []struct {
		items   []string
		want    map[string]string
		wantErr string
	}{
		{nil, nil, ""},
		{[]string{"team=red"}, map[string]string{"team": "red"}, ""},
		{[]string{"team=red", "feature=chat"}, map[string]string{"team": "red", "feature": "chat"}, ""},
		{[]string{"x.y=a=b"}, map[string]string{"x.y": "a=b"}, ""}, // the first '=' splits
		{[]string{"team="}, map[string]string{"team": ""}, ""},     // records without the tag
		{[]string{"team=red", "team=red"}, map[string]string{"team": "red"}, ""},
		{[]string{"team"}, nil, "want NAME=VALUE"},
		{[]string{"=red"}, nil, "invalid tag name"},
		{[]string{"bad'key=x"}, nil, "invalid tag name"},
		{[]string{"team=red", "team=blue"}, nil, "given twice"},
	}
	for _, tt := range tests {
		got, err := ParseTagFilter(tt.items)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseTagFilter(%q) = %v, %v; want an error with %q", tt.items, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !maps.Equal(got, tt.want) {
			t.Errorf("ParseTagFilter(%q) = %v, %v; want %v", tt.items, got, err, tt.want)
		}
	}
}

// TestGroupByNames: the dimensions an unknown one's error lists are the
// ones accepted, all of them. /admin/usage's message once left out action
// and classes, which worked.
func TestGroupByNames(t *testing.T) {
	names := strings.FieldsFunc(strings.ReplaceAll(GroupByNames, " or ", ","), func(r rune) bool { return r == ',' || r == ' ' })
	for _, n := range names {
		if !ValidGroupBy(GroupBy(n)) {
			t.Errorf("GroupByNames lists %q, which ValidGroupBy refuses", n)
		}
	}
	for _, g := range []GroupBy{ByKey, ByTeam, ByModel, ByProvider, ByHosting, ByDay, ByUser, ByAction, ByClasses} {
		if !slices.Contains(names, string(g)) {
			t.Errorf("GroupByNames leaves out %q", g)
		}
	}
}
