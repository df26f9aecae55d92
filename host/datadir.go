package host

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
)

// ErrDataDirInUse is a data directory another running host holds.
var ErrDataDirInUse = errors.New("data directory in use by another go-cluster host")

// lockDataDir takes an exclusive lock on the data directory for the life of
// the process: two hosts must never share a store, and only with this lock
// may a host treat the instance id it finds there as its own dead
// predecessor's.
func lockDataDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(dir+"/lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("cannot lock data dir: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("cannot use %s: %w (give each host its own --data)", dir, ErrDataDirInUse)
	}
	return f, nil
}

// instanceID returns the id this host's leases are held under: the one a
// previous run on this data directory left, so that a host restarted after
// a crash takes its membership and roles straight back instead of waiting
// for them to expire, or a new one.
func instanceID(dir string) (string, error) {
	path := dir + "/instance"
	if b, err := os.ReadFile(path); err == nil {
		if id := strings.TrimSpace(string(b)); id != "" {
			return id, nil
		}
	}
	id := newInstanceID()
	if err := writeFileAtomic(path, []byte(id+"\n")); err != nil {
		return "", fmt.Errorf("cannot record the instance id: %w", err)
	}
	return id, nil
}
