//go:build !linux

package testenv

import "os/exec"

// DieWithParent does nothing where the parent-death signal does not exist.
func DieWithParent(cmd *exec.Cmd) {}
