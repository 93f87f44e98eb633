package main

import (
	"crypto"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kensa-project/kensa/internal/cert/certtest"
	"github.com/rogpeppe/go-internal/testscript"
	"software.sslmate.com/src/go-pkcs12"
)

func init() {
	setups = append(setups, setupCert)
}

// setupCert gives the cert_*.txtar scripts a PKI (generated now, never
// committed) and, for cert_probe*, real TLS servers on loopback. All
// certificates are dated around certtest.Now (2026-06-01): scripts pass
// --at 2026-06-01 so expiry results do not depend on the day they run.
//
// Files in $WORK: root.pem (the trust anchor), inter.pem (the right
// intermediate), inter-old.pem (same name, another key), other-inter.pem
// (another CA), new.crt/new.key (example.com, www.example.com),
// old.crt/old.key (the certificate in service: also api.example.com),
// fullchain.pem, new.pfx with pw.txt, expired.crt/.key, sha1.crt/.key,
// long.crt/.key (399 days, issued 2026-03-01), mixed-roots.pem (root and
// intermediate).
//
// Servers (cert_probe* and cert_watch* only): $FULL (new certificate, full chain),
// $NOCHAIN (new, leaf only), $STALE (old certificate), $WRONGHOST
// (another name), $STALL (accepts, never answers), $REFUSED (closed);
// targets.yaml lists $FULL and $STALE as two load balancers.
func setupCert(e *testscript.Env) error {
	base := filepath.Base(e.WorkDir)
	if !strings.Contains(base, "cert_") {
		return nil
	}
	root := certtest.NewRoot("Kensa Test Root", certtest.P256)
	inter := root.Intermediate("Kensa Test Issuing CA", certtest.P256)
	interOld := root.Intermediate("Kensa Test Issuing CA", certtest.P256)
	other := root.Intermediate("Another Issuing CA", certtest.P256)
	names := []string{"example.com", "www.example.com"}
	newLeaf, newKey := inter.Issue(certtest.Leaf{DNS: names, KeyType: certtest.RSA2048, AIA: []string{"http://127.0.0.1:9/issuer.crt"}})
	oldLeaf, oldKey := inter.Issue(certtest.Leaf{DNS: append(names, "api.example.com"), KeyType: certtest.P256,
		NotBefore: certtest.Now.AddDate(0, -5, 0), Days: 200})
	expired, expiredKey := inter.Issue(certtest.Leaf{DNS: names, KeyType: certtest.P256, NotBefore: certtest.Now.AddDate(0, 0, -100), Days: 90})
	rsaInter := root.Intermediate("Kensa Test RSA CA", certtest.RSA2048)
	sha1Leaf, sha1Key := rsaInter.Issue(certtest.Leaf{DNS: names, KeyType: certtest.P256, SHA1: true})
	long, longKey := inter.Issue(certtest.Leaf{DNS: names, KeyType: certtest.P256, NotBefore: certtest.Milestone200.AddDate(0, 0, -14), Days: 399})
	pfx, err := pkcs12.Modern2023.Encode(newKey, newLeaf, []*x509.Certificate{inter.Cert}, "correct horse")
	if err != nil {
		return err
	}
	files := map[string][]byte{
		"root.pem":        certtest.PEM(root.Cert),
		"inter.pem":       certtest.PEM(inter.Cert),
		"inter-old.pem":   certtest.PEM(interOld.Cert),
		"other-inter.pem": certtest.PEM(other.Cert),
		"rsa-inter.pem":   certtest.PEM(rsaInter.Cert),
		"mixed-roots.pem": certtest.PEM(root.Cert, inter.Cert),
		"new.crt":         certtest.PEM(newLeaf),
		"new.key":         certtest.KeyPEM(newKey),
		"old.crt":         certtest.PEM(oldLeaf),
		"old.key":         certtest.KeyPEM(oldKey),
		"fullchain.pem":   certtest.PEM(newLeaf, inter.Cert),
		"new.pfx":         pfx,
		"pw.txt":          []byte("correct horse\n"),
		"expired.crt":     certtest.PEM(expired),
		"expired.key":     certtest.KeyPEM(expiredKey),
		"sha1.crt":        certtest.PEM(sha1Leaf),
		"sha1.key":        certtest.KeyPEM(sha1Key),
		"long.crt":        certtest.PEM(long),
		"long.key":        certtest.KeyPEM(longKey),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(e.WorkDir, name), data, 0o600); err != nil {
			return err
		}
	}
	if !strings.Contains(base, "cert_probe") && !strings.Contains(base, "cert_watch") {
		return nil
	}
	otherLeaf, otherKey := inter.Issue(certtest.Leaf{DNS: []string{"other.example.net"}, KeyType: certtest.P256})
	for _, s := range []struct {
		v     string
		chain []*x509.Certificate
		key   crypto.Signer
	}{
		{"FULL", []*x509.Certificate{newLeaf, inter.Cert}, newKey},
		{"NOCHAIN", []*x509.Certificate{newLeaf}, newKey},
		{"STALE", []*x509.Certificate{oldLeaf, inter.Cert}, oldKey},
		{"WRONGHOST", []*x509.Certificate{otherLeaf, inter.Cert}, otherKey},
	} {
		addr, stop := certtest.Serve(certtest.Served{Chain: s.chain, Key: s.key}, nil)
		e.Setenv(s.v, addr)
		e.Defer(stop)
	}
	stall, stop := certtest.Stall()
	e.Setenv("STALL", stall)
	e.Defer(stop)
	refused, stop := certtest.Stall()
	stop()
	e.Setenv("REFUSED", refused)
	targets := fmt.Sprintf("endpoints:\n  - name: alb-1\n    addresses: [%q]\n    servernames: [example.com, www.example.com]\n  - name: alb-2\n    addresses: [%q]\n    servernames: [example.com, www.example.com]\n",
		e.Getenv("FULL"), e.Getenv("STALE"))
	return os.WriteFile(filepath.Join(e.WorkDir, "targets.yaml"), []byte(targets), 0o644)
}
