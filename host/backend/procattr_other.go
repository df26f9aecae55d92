//go:build !linux

package backend

import "syscall"

// procAttr puts a backend in its own process group, so Stop reaches its
// children. Without Linux's parent-death signal a backend outlives a host
// that crashed.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
