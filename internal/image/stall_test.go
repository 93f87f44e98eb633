package image

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/kensa-project/kensa/internal/image/imagetest"
)

// TestRegistryStall: a registry that never answers, or that sends a
// blob's first bytes and then nothing, fails the image within the stall
// window instead of holding the scan forever.
func TestRegistryStall(t *testing.T) {
	// Accepts connections and never answers.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()

	// Serves manifests, and the first bytes of each blob, then stalls.
	host, _ := testImages(t)
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	drip := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/blobs/") {
			reg.ServeHTTP(w, r)
			return
		}
		w.WriteHeader(http.StatusOK)
		w.Write([]byte{0x1f})
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(drip.Close)
	dripHost := strings.TrimPrefix(drip.URL, "http://")
	imagetest.Push(t, dripHost+"/app:1", host)

	for _, ref := range []string{"registry:" + silent.Addr().String() + "/app:1", "registry:" + dripHost + "/app:1"} {
		t.Run(ref, func(t *testing.T) {
			r, _, _ := ParseReference(ref)
			// Without the guard the scan would wait for this deadline.
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err := func() error {
				imgs, err := Open(ctx, r, Options{Stall: 300 * time.Millisecond})
				if err != nil {
					return err
				}
				_, err = imgs[0].Flatten(ctx, FlattenOptions{})
				return err
			}()
			if err == nil || !strings.Contains(err.Error(), "stalled") {
				t.Errorf("error %v, want a stall", err)
			}
		})
	}
}
