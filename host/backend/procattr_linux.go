package backend

import "syscall"

// procAttr puts a backend in its own process group (so Stop reaches its
// children) and has the kernel kill it when the host dies: a host that
// crashed must not leave a backend serving beside the next active. The
// kernel ties the signal to the thread that forked, and the Go runtime
// does not end its threads while the process lives, except one a
// goroutine locked and never unlocked, which never starts a backend.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
