package main

import (
	"runtime/debug"
	"strings"
)

// versionString describes the build from what the Go toolchain embedded:
// the module version (a tag with `go install ...@v1.2.3`, "(devel)" from a
// checkout) and the VCS revision, time and dirty flag of a `go build` in a
// git work tree.
func versionString() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "herald worker (no build info)"
	}
	return formatVersion(bi)
}

func formatVersion(bi *debug.BuildInfo) string {
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	var b strings.Builder
	b.WriteString("herald worker ")
	b.WriteString(bi.Main.Version)
	if rev := settings["vcs.revision"]; rev != "" {
		b.WriteString(" revision " + rev)
		if settings["vcs.modified"] == "true" {
			b.WriteString(" (modified)")
		}
		if t := settings["vcs.time"]; t != "" {
			b.WriteString(" committed " + t)
		}
	}
	b.WriteString(" " + bi.GoVersion)
	return b.String()
}
