package vip

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/ozanturksever/go-cluster/internal/netnstest"
	"github.com/ozanturksever/go-cluster/internal/nsnet"
)

// unprivilegedEnv makes the test binary act as the unprivileged child of
// TestPermission instead of running tests: "ADDRESS INTERFACE".
const unprivilegedEnv = "GOCLUSTER_VIP_UNPRIVILEGED"

func TestMain(m *testing.M) {
	if spec := os.Getenv(unprivilegedEnv); spec != "" {
		os.Exit(unprivileged(spec))
	}
	os.Exit(m.Run())
}

// unprivileged tries to acquire a VIP without CAP_NET_ADMIN and exits 0 if
// that fails with ErrPermission.
func unprivileged(spec string) int {
	var addr, iface string
	if _, err := fmt.Sscan(spec, &addr, &iface); err != nil {
		fmt.Println(err)
		return 2
	}
	v, err := New(Config{Address: netip.MustParsePrefix(addr), Interface: iface})
	if err != nil {
		fmt.Println(err)
		return 2
	}
	ns, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		fmt.Println(err)
		return 2
	}
	fmt.Println(ns)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = v.Acquire(ctx)
	fmt.Println(err)
	if errors.Is(err, ErrPermission) && strings.Contains(err.Error(), "CAP_NET_ADMIN") {
		return 0
	}
	return 1
}

// TestPermission runs a child inside a host's network namespace but in a
// user namespace of its own: root there, yet without CAP_NET_ADMIN over
// the network namespace, which belongs to the initial user namespace.
func TestPermission(t *testing.T) {
	top := netnstest.New(t, 1)
	h, addr := top.Hosts[0], top.FreeAddr()
	cmd := exec.Command(os.Args[0])
	// The race detector otherwise lingers a second at exit.
	cmd.Env = append(os.Environ(), unprivilegedEnv+"="+addr.String()+" "+h.Iface, "GORACE=atexit_sleep_ms=0")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}},
	}
	// A child starts in the network namespace of the thread that forks it.
	if err := nsnet.Do(h.Name, cmd.Start); err != nil {
		t.Skipf("SKIPPED: cannot start a child in a user namespace here (%v); TestClassify covers the error mapping", err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child without CAP_NET_ADMIN: %v\n%s", err, out.String())
	}
	t.Logf("child without CAP_NET_ADMIN: %s", strings.TrimSpace(out.String()))
	var want string
	if err := nsnet.Do(h.Name, func() (err error) {
		want, err = os.Readlink("/proc/thread-self/ns/net")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := strings.Cut(out.String(), "\n"); got != want {
		t.Errorf("the child ran in network namespace %s, want %s (%s)", got, want, h.Name)
	}
	if ok, err := h.HasAddr(addr); err != nil || ok {
		t.Errorf("the unprivileged child added the address (%v, %v)", ok, err)
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want error // nil: neither package error
	}{
		{"nil", nil, nil},
		{"EPERM", syscall.EPERM, ErrPermission},
		{"EACCES", syscall.EACCES, ErrPermission},
		{"wrapped EPERM", fmt.Errorf("cannot enter network namespace: %w", syscall.EPERM), ErrPermission},
		{"netlink message", fmt.Errorf("%w: not allowed", syscall.EPERM), ErrPermission},
		{"no link", netlink.LinkNotFoundError{}, ErrInterface},
		{"other", syscall.EINVAL, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := classify("eth9", tc.err)
			if tc.err == nil {
				if got != nil {
					t.Fatalf("classify(nil) = %v", got)
				}
				return
			}
			for _, e := range []error{ErrPermission, ErrInterface} {
				if errors.Is(got, e) != (e == tc.want) {
					t.Errorf("classify(%v) = %v: errors.Is(%v) = %v", tc.err, got, e, !(e == tc.want))
				}
			}
			if !errors.Is(got, tc.err) && tc.want != ErrInterface {
				t.Errorf("classify(%v) = %v lost the cause", tc.err, got)
			}
			switch tc.want {
			case ErrPermission:
				if !strings.Contains(got.Error(), "root or CAP_NET_ADMIN") {
					t.Errorf("message %q does not say what is needed", got)
				}
			case ErrInterface:
				if !strings.Contains(got.Error(), `"eth9"`) {
					t.Errorf("message %q does not name the interface", got)
				}
			}
		})
	}
}
