//go:build !linux

package vip

// newLink fails: the address, the announcements and the probes all need
// Linux's rtnetlink and packet sockets.
func newLink(Config) (link, error) {
	return nil, ErrUnsupported
}
