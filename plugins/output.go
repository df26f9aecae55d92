package plugins

import (
	"bytes"
	"log/slog"
	"strings"
)

// Bounds on what a guest's stdout and stderr can cost the host: a guest
// may print without end, so lines are cut and each call gets a budget.
const (
	maxLineBytes    = 4096 // longer lines are split
	maxLinesPerCall = 256  // further lines are counted, not logged
	keptLines       = 4    // first stderr lines kept to explain a failure
	keptLineBytes   = 256  // of each kept line
)

// lineWriter turns a guest's stdout or stderr into log lines. It belongs to
// one instance and is written by the goroutine running that instance's
// call, so it needs no lock.
type lineWriter struct {
	log     *slog.Logger
	partial []byte
	lines   int      // logged during the current call
	dropped int      // over budget during the current call
	kept    []string // first lines of the current call
	oom     bool     // a line of the current call reported memory exhaustion
}

func newLineWriter(log *slog.Logger, stream string) *lineWriter {
	return &lineWriter{log: log.With("stream", stream)}
}

// Write implements io.Writer for wazero's fd_write.
func (w *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk = p[:i]
		}
		room := maxLineBytes - len(w.partial)
		if len(chunk) >= room {
			// Too long: emit what fits, continue with the rest as a
			// new line.
			w.partial = append(w.partial, chunk[:room]...)
			w.flush()
			p = p[room:]
			continue
		}
		w.partial = append(w.partial, chunk...)
		if i < 0 {
			break
		}
		w.flush()
		p = p[i+1:]
	}
	return n, nil
}

// flush emits the partial line, if any.
func (w *lineWriter) flush() {
	if len(w.partial) == 0 {
		return
	}
	line := string(w.partial)
	w.partial = w.partial[:0]
	if strings.Contains(line, "out of memory") || strings.Contains(line, "memory allocation of") {
		w.oom = true
	}
	if len(w.kept) < keptLines && strings.TrimSpace(line) != "" {
		w.kept = append(w.kept, line[:min(len(line), keptLineBytes)])
	}
	if w.lines >= maxLinesPerCall {
		w.dropped++
		return
	}
	w.lines++
	w.log.Info("guest output", "line", line)
}

func (w *lineWriter) begin() {
	w.lines, w.dropped, w.oom = 0, 0, false
	clear(w.kept)
	w.kept = w.kept[:0]
}

// end emits an unfinished line so it is not glued to the next call's
// output, and reports what was dropped.
func (w *lineWriter) end() {
	w.flush()
	if w.dropped > 0 {
		w.log.Warn("guest output over budget; lines dropped", "dropped", w.dropped, "budget", maxLinesPerCall)
		w.dropped = 0
	}
}

// tail formats the kept lines for an error message.
func (w *lineWriter) tail() string {
	var b strings.Builder
	for _, l := range w.kept {
		l = strings.TrimSpace(l)
		if b.Len() == 0 {
			b.WriteString(" (stderr: ")
		} else {
			b.WriteString(" | ")
		}
		b.WriteString(l)
	}
	if b.Len() > 0 {
		b.WriteString(")")
	}
	return b.String()
}
