//go:build linux

package netnstest

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// ServeName listens on addr inside the node's namespace and answers every
// connection with name and a newline, so that a client can tell which
// machine it reached (the one holding a VIP, say). The listener is closed
// and its goroutine awaited in tb's cleanup.
func (n *Node) ServeName(tb testing.TB, network, addr, name string) {
	tb.Helper()
	l, err := n.Listen(network, addr)
	if err != nil {
		tb.Fatal(err)
	}
	var served sync.WaitGroup
	served.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fmt.Fprintln(c, name)
			c.Close()
		}
	})
	tb.Cleanup(func() {
		l.Close()
		served.Wait()
	})
}

// Ask connects to addr from the node and returns the line a ServeName
// listener answered, within ctx and at most timeout.
func (n *Node) Ask(ctx context.Context, network, addr string, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := n.Dial(ctx, network, addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}
