// Package version names the ftpdiag build that is running, for what it
// writes about itself (the section header of an annotated capture).
package version

import (
	"runtime/debug"
	"strings"
)

// revisionLen is how many hex digits of a VCS revision are kept.
const revisionLen = 12

// String returns the version of the ftpdiag module the running binary was
// built from: the module version when the build knows one ("v1.4.0", or
// the pseudo-version the go command derives from the VCS), else
// "devel+" and the first 12 digits of the VCS revision, with "-dirty"
// when the working tree had changes ("devel+0123456789ab-dirty"), else
// "devel" (go run, or a build with -buildvcs=false).
func String() string {
	bi, _ := debug.ReadBuildInfo()
	return fromBuildInfo(bi)
}

// fromBuildInfo is String for the build information bi (nil: none).
func fromBuildInfo(bi *debug.BuildInfo) string {
	if bi == nil {
		return "devel"
	}
	if v := strings.TrimSpace(bi.Main.Version); v != "" && v != "(devel)" {
		return v
	}
	var revision string
	var dirty bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = strings.TrimSpace(s.Value)
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if revision == "" {
		return "devel"
	}
	v := "devel+" + revision[:min(len(revision), revisionLen)]
	if dirty {
		v += "-dirty"
	}
	return v
}
