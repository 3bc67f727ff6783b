package version

import (
	"runtime/debug"
	"strings"
	"testing"
)

// TestFromBuildInfo checks the fallbacks: the module version, else the
// VCS revision, else "devel".
func TestFromBuildInfo(t *testing.T) {
	const rev = "0123456789abcdef0123456789abcdef01234567"
	vcs := func(kv ...string) []debug.BuildSetting {
		var out []debug.BuildSetting
		for i := 0; i+1 < len(kv); i += 2 {
			out = append(out, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	for _, c := range []struct {
		name string
		bi   *debug.BuildInfo
		want string
	}{
		{"no build information", nil, "devel"},
		{"tagged module", &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}, Settings: vcs("vcs.revision", rev)}, "v1.4.0"},
		{"pseudo-version", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20250101120000-0123456789ab+dirty"}}, "v0.0.0-20250101120000-0123456789ab+dirty"},
		{"devel with revision", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("vcs", "git", "vcs.revision", rev, "vcs.modified", "false")}, "devel+0123456789ab"},
		{"devel with revision, modified", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("vcs.modified", "true", "vcs.revision", rev)}, "devel+0123456789ab-dirty"},
		{"short revision", &debug.BuildInfo{Settings: vcs("vcs.revision", "abc")}, "devel+abc"},
		{"devel without VCS (-buildvcs=false)", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("-buildvcs", "false")}, "devel"},
		{"empty version, no VCS", &debug.BuildInfo{}, "devel"},
		{"modified without revision", &debug.BuildInfo{Settings: vcs("vcs.modified", "true")}, "devel"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := fromBuildInfo(c.bi); got != c.want {
				t.Errorf("fromBuildInfo = %q, want %q", got, c.want)
			}
		})
	}
}

// TestString checks that the running test binary names some version.
func TestString(t *testing.T) {
	v := String()
	if v == "" || strings.ContainsAny(v, " \n") {
		t.Errorf("String() = %q, want a version without spaces", v)
	}
}
