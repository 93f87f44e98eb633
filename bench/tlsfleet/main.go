// Command tlsfleet serves one certificate chain on N loopback ports, for
// bench/cert_probe.sh and bench/cert_watch_soak.sh: a fleet of TLS
// endpoints in one process. It writes the addresses, one a line, to -addrs
// and serves until killed. With -flap K the first K listeners refuse every
// handshake (a TLS alert) for one -period, then serve for the next, and so
// on: endpoints that flap.
package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"log"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/kensa-project/kensa/internal/cert/certtest"
)

func main() {
	n := flag.Int("n", 500, "number of listeners")
	certFile := flag.String("cert", "", "PEM chain (leaf first)")
	keyFile := flag.String("key", "", "PEM private key")
	addrs := flag.String("addrs", "addrs.txt", "file to write the addresses to")
	flap := flag.Int("flap", 0, "number of listeners that flap")
	period := flag.Duration("period", 30*time.Second, "flapping half-period")
	flag.Parse()
	pair, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		log.Fatal(err)
	}
	var down atomic.Bool
	if *flap > 0 {
		go func() {
			for range time.Tick(*period) {
				down.Store(!down.Load())
			}
		}()
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{pair}}
	flapping := cfg.Clone()
	flapping.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		if down.Load() {
			return nil, errors.New("flapping: down")
		}
		return nil, nil
	}
	var list []string
	for i := range *n {
		c := cfg
		if i < *flap {
			c = flapping
		}
		addr, _ := certtest.ServeConfig(c)
		list = append(list, addr)
	}
	if err := os.WriteFile(*addrs, []byte(strings.Join(list, "\n")+"\n"), 0o644); err != nil {
		log.Fatal(err)
	}
	select {}
}
