package cli

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"
)

func isTerminal(f *os.File) bool {
	return term.IsTerminal(int(f.Fd()))
}

// terminalWidth is the width of the terminal f is, 0 when it is none.
func terminalWidth(f *os.File) int {
	if !isTerminal(f) {
		return 0
	}
	w, _, err := term.GetSize(int(f.Fd()))
	if err != nil || w <= 0 {
		return 0
	}
	return w
}

// progress prints a one-line status to a terminal, at most a few times a
// second, and erases it when done. On anything but a terminal it is silent.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	on    bool
	width int // runes a line may take
	last  time.Time
	shown bool
}

func newProgress(env *Env) *progress {
	width := 100
	if env.StderrWidth > 1 {
		width = min(width, env.StderrWidth-1)
	}
	return &progress{w: env.Stderr, on: env.StderrIsTerminal, width: width}
}

// update shows the status line; calls faster than 8 a second are dropped.
func (p *progress) update(format string, args ...any) {
	if p == nil || !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if now.Sub(p.last) < 125*time.Millisecond {
		return
	}
	p.last = now
	line := fmt.Sprintf(format, args...)
	if r := []rune(line); len(r) > p.width {
		line = string(r[:p.width-1]) + "…"
	}
	fmt.Fprintf(p.w, "\r\x1b[K%s", line)
	p.shown = true
}

// done erases the status line.
func (p *progress) done() {
	if p == nil || !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.shown = false
	}
}
