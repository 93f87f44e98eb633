package main

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kensa-project/kensa/internal/egress/reach/reachtest"
	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	setups = append(setups, setupEgressCheck)
}

// setupEgressCheck gives the egress_check*.txtar scripts a small network
// on loopback (generated now, never committed): a DNS server ($DNS,
// UDP and TCP) that answers ok.test, reset.test and azfw.test with
// 127.0.0.1, refuses refused.test and answers NXDOMAIN for anything
// else; an HTTPS origin ($OK, certificate for ok.test and 127.0.0.1 from
// the root in $WORK/ca.pem); a firewall that accepts TCP and resets after
// the ClientHello ($RESET); Azure Firewall's plain-HTTP deny page ($AZFW);
// and a closed port ($CLOSED).
func setupEgressCheck(e *testscript.Env) error {
	if !strings.Contains(filepath.Base(e.WorkDir), "egress_check") {
		return nil
	}
	dns := reachtest.NewDNS()
	for _, n := range []string{"ok.test", "reset.test", "azfw.test"} {
		dns.Add(n, "127.0.0.1")
	}
	dns.Refused["refused.test"] = true
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	e.Defer(func() { pc.Close() })
	tl, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		return err
	}
	e.Defer(func() { tl.Close() })
	go dns.ServeUDP(pc)
	go dns.ServeTCP(tl)
	e.Setenv("DNS", pc.LocalAddr().String())

	pki := reachtest.NewPKI("Kensa Egress Test Root")
	if err := os.WriteFile(filepath.Join(e.WorkDir, "ca.pem"), pki.PEM(), 0o644); err != nil {
		return err
	}
	serve := func(env string, f func(net.Listener)) error {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		e.Defer(func() { l.Close() })
		go f(l)
		e.Setenv(env, strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
		return nil
	}
	cert := pki.Cert("ok.test", "127.0.0.1")
	for _, s := range []struct {
		env string
		f   func(net.Listener)
	}{
		{"OK", func(l net.Listener) { reachtest.ServeHTTPS(l, cert, "hello") }},
		{"RESET", func(l net.Listener) { reachtest.ResetAfterHello(l, true) }},
		{"AZFW", reachtest.AzureFirewallHTTP},
		{"CLOSED", func(l net.Listener) { l.Close() }},
	} {
		if err := serve(s.env, s.f); err != nil {
			return err
		}
	}
	return nil
}
