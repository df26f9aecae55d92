package backend

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/ozanturksever/go-cluster/internal/nsnet"
	"github.com/ozanturksever/go-cluster/manifest"
)

// checker runs one health check; nil is healthy.
//
// Threading: safe for concurrent use; the supervisor runs one at a time.
type checker interface {
	check(ctx context.Context) error
}

var (
	_ checker = (*httpCheck)(nil)
	_ checker = (*tcpCheck)(nil)
	_ checker = (*execCheck)(nil)
)

// newChecker returns the check h describes, or nil without one. Network
// checks dial from inside netns, where the backend listens.
func newChecker(h *manifest.Health, netns, ip, dir string, env []string) checker {
	switch {
	case h == nil:
		return nil
	case h.HTTP != "":
		return &httpCheck{url: h.HTTP, client: &http.Client{
			Transport: &http.Transport{
				// No proxy: the check asks the backend itself. No
				// keep-alive: each check proves a fresh connection works,
				// and no idle connection outlives the supervisor.
				Proxy:             nil,
				DialContext:       nsnet.Dialer(netns),
				DisableKeepAlives: true,
			},
			// A redirect is an answer; following it would check something
			// else.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}}
	case h.TCP != "":
		return &tcpCheck{addr: h.TCP, dial: nsnet.Dialer(netns)}
	default:
		return &execCheck{argv: h.Exec, dir: dir, env: env, netns: netns, ip: ip}
	}
}

// httpCheck is healthy on a 2xx or 3xx answer to a GET.
type httpCheck struct {
	url    string
	client *http.Client
}

func (c *httpCheck) check(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 399 {
		return fmt.Errorf("GET %s: %s", c.url, resp.Status)
	}
	return nil
}

// tcpCheck is healthy when a connection succeeds.
type tcpCheck struct {
	addr string
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

func (c *tcpCheck) check(ctx context.Context) error {
	conn, err := c.dial(ctx, "tcp", c.addr)
	if err != nil {
		return err
	}
	return conn.Close()
}

// execCheck is healthy when the command exits 0. It runs in the backend's
// directory, environment and namespace, in its own process group so that a
// timeout kills whatever it started.
type execCheck struct {
	argv  []string
	dir   string
	env   []string
	netns string
	ip    string
}

func (c *execCheck) check(ctx context.Context) error {
	path, err := resolve(c.argv[0], c.dir, c.env)
	if err != nil {
		return err
	}
	argv, err := inNetNS(c.ip, c.netns, append([]string{path}, c.argv[1:]...))
	if err != nil {
		return err
	}
	var out limitedBuffer
	out.max = 512
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = c.dir, c.env
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = toolWaitDelay
	err = cmd.Run()
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (%w)", ctx.Err(), err)
	}
	msg := strings.TrimSpace(out.String())
	if msg != "" {
		return fmt.Errorf("%s: %w: %s", strings.Join(c.argv, " "), err, msg)
	}
	return fmt.Errorf("%s: %w", strings.Join(c.argv, " "), err)
}

// probe runs c once within timeout.
func probe(ctx context.Context, c checker, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := c.check(ctx)
	if err != nil && errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("no answer within %s: %w", timeout, err)
	}
	return err
}
