//go:build !windows

package acme

import "syscall"

const noFollow = syscall.O_NOFOLLOW
