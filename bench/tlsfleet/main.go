// Command tlsfleet serves one certificate chain on N loopback ports, for
// bench/cert_probe.sh: a fleet of TLS endpoints in one process. It writes
// the addresses, one a line, to -addrs and serves until killed.
package main

import (
	"crypto/tls"
	"flag"
	"log"
	"os"
	"strings"

	"github.com/kensa-project/kensa/internal/cert/certtest"
)

func main() {
	n := flag.Int("n", 500, "number of listeners")
	certFile := flag.String("cert", "", "PEM chain (leaf first)")
	keyFile := flag.String("key", "", "PEM private key")
	addrs := flag.String("addrs", "addrs.txt", "file to write the addresses to")
	flag.Parse()
	pair, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		log.Fatal(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{pair}}
	var list []string
	for range *n {
		addr, _ := certtest.ServeConfig(cfg)
		list = append(list, addr)
	}
	if err := os.WriteFile(*addrs, []byte(strings.Join(list, "\n")+"\n"), 0o644); err != nil {
		log.Fatal(err)
	}
	select {}
}
