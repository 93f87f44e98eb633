package image

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// A registry that accepts a connection and never answers, or drips a
// byte now and then, would hold a scan forever: the HTTP client has no
// deadline of its own and a large layer may rightly take many minutes.
// stallGuard bounds what matters instead, progress: a request fails when
// the registry sends no response headers within the stall window, or
// when a body delivers less than [minProgress] bytes in a window (and is
// not finished).

// DefaultStall is the stall window of registry requests.
const DefaultStall = 60 * time.Second

// minProgress is the least a response body must deliver per stall window.
const minProgress = 16 << 10

type stallGuard struct {
	base  http.RoundTripper
	stall time.Duration
}

func (g stallGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(req.Context())
	w := &watch{cancel: cancel, stall: g.stall, host: req.URL.Host}
	w.timer = time.AfterFunc(g.stall, w.fire)
	resp, err := g.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		w.stop()
		return nil, w.explain(err)
	}
	w.progress(0, true)
	resp.Body = &stallBody{rc: resp.Body, w: w}
	return resp, nil
}

// watch cancels a request that makes too little progress.
type watch struct {
	mu     sync.Mutex
	timer  *time.Timer
	cancel context.CancelFunc
	stall  time.Duration
	host   string
	got    int // bytes since the window started
	fired  bool
}

func (w *watch) fire() {
	w.mu.Lock()
	w.fired = true
	w.mu.Unlock()
	w.cancel()
}

// progress counts n bytes, and starts a new window once enough came (or
// when restart says so: the headers arrived).
func (w *watch) progress(n int, restart bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.got += n
	if (restart || w.got >= minProgress) && !w.fired {
		w.got = 0
		w.timer.Reset(w.stall)
	}
}

func (w *watch) stop() {
	w.timer.Stop()
	w.cancel()
}

// explain replaces the cancellation error of a stalled request by one
// that says what happened.
func (w *watch) explain(err error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fired {
		return fmt.Errorf("registry %s stalled: no answer, or less than %d KiB, in %s", w.host, minProgress>>10, w.stall)
	}
	return err
}

type stallBody struct {
	rc io.ReadCloser
	w  *watch
}

func (b *stallBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.w.progress(n, false)
	if err != nil && err != io.EOF {
		err = b.w.explain(err)
	}
	return n, err
}

func (b *stallBody) Close() error {
	b.w.stop()
	return b.rc.Close()
}
