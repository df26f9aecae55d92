package backend

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"
)

// maxLine bounds one logged line: a program that writes without newlines
// must not grow the host's memory, so longer lines are cut into pieces.
const maxLine = 4096

// LogLine is one line a process backend wrote.
type LogLine struct {
	At     time.Time
	Stream string // stdout or stderr
	Text   string
}

// tail keeps the last lines a backend wrote, across its restarts.
//
// Threading: safe for concurrent use.
type tail struct {
	mu    sync.Mutex
	lines []LogLine // ring: next is the oldest once full
	next  int
	full  bool
}

func newTail(n int) *tail { return &tail{lines: make([]LogLine, n)} }

func (t *tail) add(l LogLine) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) == 0 {
		return
	}
	t.lines[t.next] = l
	t.next = (t.next + 1) % len(t.lines)
	if t.next == 0 {
		t.full = true
	}
}

// snapshot returns the kept lines, oldest first.
func (t *tail) snapshot() []LogLine {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.full {
		return append([]LogLine(nil), t.lines[:t.next]...)
	}
	return append(append([]LogLine(nil), t.lines[t.next:]...), t.lines[:t.next]...)
}

// last returns up to n of the newest lines joined for an error message.
func (t *tail) last(n int) string {
	lines := t.snapshot()
	lines = lines[max(0, len(lines)-n):]
	texts := make([]string, len(lines))
	for i, l := range lines {
		texts[i] = l.Text
	}
	return strings.Join(texts, " | ")
}

// capture reads the process's output streams line by line into the logger
// and the tail, on goroutines it owns until wait returns.
type capture struct {
	wg      sync.WaitGroup
	readers []*os.File
	done    chan struct{} // closed once every copy has ended
}

// copy copies the read ends of the pipes, named by streams, until each
// reports EOF (every writer, grandchildren included, has closed it) or
// wait closes it.
func (c *capture) copy(readers []*os.File, streams []string, log *slog.Logger, t *tail) {
	c.readers, c.done = readers, make(chan struct{})
	for i, r := range readers {
		c.wg.Go(func() { copyLines(r, streams[i], log, t) })
	}
	go func() {
		c.wg.Wait()
		close(c.done)
	}()
}

// drain waits up to timeout for the copies to reach EOF, so that a
// process's last words are in the tail before its exit is reported.
func (c *capture) drain(timeout time.Duration) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-c.done:
	case <-t.C:
	}
}

// wait waits for the copies to reach EOF. A descendant that left the
// process group can hold a pipe open forever, so after timeout the read
// ends are closed, which ends the copies.
func (c *capture) wait(timeout time.Duration) {
	c.drain(timeout)
	for _, r := range c.readers {
		r.Close()
	}
	<-c.done
}

func copyLines(r io.Reader, stream string, log *slog.Logger, t *tail) {
	br := bufio.NewReaderSize(r, maxLine)
	for {
		b, err := br.ReadSlice('\n')
		if len(b) > 0 {
			text := string(bytes.TrimRight(b, "\r\n"))
			t.add(LogLine{At: time.Now(), Stream: stream, Text: text})
			log.LogAttrs(context.Background(), slog.LevelInfo, "backend output",
				slog.String("stream", stream), slog.String("line", text))
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}
