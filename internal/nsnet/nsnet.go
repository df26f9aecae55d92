// Package nsnet runs network operations inside a named Linux network
// namespace. A socket belongs to the namespace of the thread that created
// it, so a listener or connection made here keeps working there after the
// thread has gone back. The empty name means the caller's own namespace and
// costs nothing.
//
// Several hosts of one test process each hold their virtual address and run
// their backend in their own namespace through this package; in production
// the name is empty.
package nsnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"

	"github.com/vishvananda/netns"
)

// ErrNamespace is a namespace that cannot be entered.
var ErrNamespace = errors.New("network namespace unavailable")

// Do runs fn on an OS thread inside the namespace name ("" = the caller's
// own; a name with a slash is a path, otherwise a name under
// /var/run/netns). fn must not start goroutines that expect the namespace:
// only the calling goroutine is moved.
func Do(name string, fn func() error) error {
	if name == "" {
		return fn()
	}
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("cannot read the current network namespace: %w: %w", ErrNamespace, err)
	}
	defer orig.Close()
	target, err := open(name)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("cannot open network namespace %q: %w: %w", name, ErrNamespace, err)
	}
	defer target.Close()
	if err := netns.Set(target); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("cannot enter network namespace %q: %w: %w", name, ErrNamespace, err)
	}
	defer func() {
		// A thread that cannot go back stays locked, so the runtime ends
		// it with this goroutine instead of reusing it elsewhere.
		if netns.Set(orig) == nil {
			runtime.UnlockOSThread()
		}
	}()
	return fn()
}

func open(name string) (netns.NsHandle, error) {
	if strings.Contains(name, "/") {
		return netns.GetFromPath(name)
	}
	return netns.GetFromName(name)
}

// Listen listens on addr inside the namespace name.
func Listen(name, network, addr string) (net.Listener, error) {
	var l net.Listener
	err := Do(name, func() (err error) {
		l, err = net.Listen(network, addr)
		return err
	})
	return l, err
}

// DialContext connects to addr from inside the namespace name. addr should
// hold an IP address: a name is resolved on goroutines outside it.
func DialContext(ctx context.Context, name, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := Do(name, func() (err error) {
		var d net.Dialer
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// Dialer returns DialContext bound to the namespace name, in the shape
// http.Transport and health checks take.
func Dialer(name string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		return DialContext(ctx, name, network, addr)
	}
}
