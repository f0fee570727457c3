//go:build !linux

package redistest

import "os/exec"

// dieWithParent does nothing where the kernel cannot tie a child to its
// parent's life: a test process that dies unstopped leaves its servers.
func dieWithParent(*exec.Cmd) {}
