//go:build !unix

package daemon

import "os/exec"

func setGroup(*exec.Cmd)  {}
func killGroup(*exec.Cmd) {}
