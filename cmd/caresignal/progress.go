package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// progress shows the advance of one long step on stderr. On a terminal it
// redraws a bar in place; elsewhere (CI logs, files) it prints a line at
// most every five seconds, so logs stay readable.
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	tty      bool
	label    string
	unit     string
	start    time.Time
	lastDraw time.Time
	done     bool
	stop     chan struct{}
	what     string // what Tick shows
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func newProgress(w io.Writer, label, unit string) *progress {
	return &progress{w: w, tty: isTerminal(w), label: label, unit: unit, start: time.Now()}
}

// Set reports done of total units (total 0 when unknown).
func (p *progress) Set(done, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if p.done || (p.tty && now.Sub(p.lastDraw) < 100*time.Millisecond) || (!p.tty && now.Sub(p.lastDraw) < 5*time.Second) {
		return
	}
	if !p.tty && now.Sub(p.start) < time.Second {
		return // short steps print nothing in logs
	}
	p.lastDraw = now
	p.draw(done, total, now)
}

func (p *progress) draw(done, total int, now time.Time) {
	el := now.Sub(p.start).Seconds()
	var line string
	if total > 0 {
		frac := float64(done) / float64(total)
		const width = 28
		n := int(frac * width)
		line = fmt.Sprintf("  %s [%s%s] %3.0f%% %s/%s %s  %.1fs", p.label, strings.Repeat("#", n), strings.Repeat(".", width-n),
			100*frac, count(done), count(total), p.unit, el)
	} else {
		line = fmt.Sprintf("  %s %s %s  %.1fs", p.label, count(done), p.unit, el)
	}
	p.write(line)
}

// write shows line: in place on a terminal, as a new line elsewhere.
func (p *progress) write(line string) {
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", line)
	} else {
		fmt.Fprintln(p.w, line)
	}
}

// Tick shows elapsed time while a step with no countable units runs (one
// long SQL statement), until Finish.
func (p *progress) Tick(what string) {
	p.mu.Lock()
	p.what = what
	p.mu.Unlock()
	stop := make(chan struct{})
	p.stop = stop
	go func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-t.C:
				p.mu.Lock()
				if p.done {
					p.mu.Unlock()
					return
				}
				if p.tty || now.Sub(p.lastDraw) >= 5*time.Second && now.Sub(p.start) >= time.Second {
					p.lastDraw = now
					p.write(fmt.Sprintf("  %s %s… %.1fs", p.label, p.what, now.Sub(p.start).Seconds()))
				}
				p.mu.Unlock()
			}
		}
	}()
}

// Note shows what a step with stages is doing now, as Tick does; the
// first call starts the ticking.
func (p *progress) Note(what string) {
	if p.stop == nil {
		p.Tick(what)
		return
	}
	p.mu.Lock()
	p.what = what
	p.mu.Unlock()
}

// Finish clears the bar; the caller prints the step's result line.
func (p *progress) Finish() time.Duration {
	if p.stop != nil {
		close(p.stop)
		p.stop = nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done = true
	if p.tty && !p.lastDraw.IsZero() {
		fmt.Fprint(p.w, "\r\033[K")
	}
	return time.Since(p.start)
}

// count formats n with thousands separators.
func count(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + count(-n)
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
