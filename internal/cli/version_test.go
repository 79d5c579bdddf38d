package cli

import (
	"runtime/debug"
	"testing"
)

func TestVersionOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		bi   *debug.BuildInfo
		want string
	}{
		{"stamped", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261202182306-13912ce08873"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "13912ce088732aa24e99b1e624f37adabccef663"}, {Key: "vcs.modified", Value: "false"}}},
			"v0.0.0-20261202182306-13912ce08873 (commit 13912ce08873, go1.26.8)"},
		{"tagged, modified", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.0+dirty"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abcdef0123456789"}, {Key: "vcs.modified", Value: "true"}}},
			"v1.4.0+dirty (commit abcdef012345, modified, go1.26.8)"},
		{"unstamped", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			"(devel) (go1.26.8; no commit recorded: build in a git checkout with -buildvcs=true)"},
		{"none", nil, "(unknown: no build information)"},
	} {
		if got := versionOf(tc.bi); got != tc.want {
			t.Errorf("%s: got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}
