package fips

// Statically linked GnuTLS, BusyBox's own TLS client and Haskell's crypto
// library.
//
// Both are found the way an embedded OpenSSL is: by evidence that only a
// copy of the code carries, taken together, never by a mention.
//
//   - GnuTLS: its version string ("Enabled GnuTLS 3.7.9 logging...",
//     which lib/global.c always links in) with source paths of its own
//     tree in the assertion messages gnutls_assert() keeps
//     ("../../lib/x509/…", "../../lib/nettle/…", "../../lib/tls13/…"),
//     or, in a file that keeps its symbol table, many defined gnutls_
//     functions. A program that links libgnutls.so dynamically defines
//     none of them and carries none of those paths.
//   - BusyBox: its banner ("BusyBox v1.35.0 (Debian …)") with the
//     messages of networking/tls.c, the TLS 1.2 client that busybox's
//     wget (https://) and ssl_client applets use, with busybox's own
//     AES, SHA and elliptic-curve code. A busybox built without it keeps
//     the banner and none of the messages.
//   - Haskell: cryptonite, and crypton (its maintained fork), implement
//     their algorithms in Haskell and their own C, and the tls package
//     builds TLS on them. GHC keeps every package's unit id with its
//     module names ("cryptonite-0.29-4IC9gCHtg2RL8OkLfwxocI:Crypto.Error.Types",
//     "tls-1.5.8-6Ejz…:Network.TLS…") for Typeable and exceptions, so a
//     Haskell program that links them says so, with versions, even
//     stripped (pandoc, git-annex, hledger-web …).

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/kensa-project/kensa/internal/elfx"
	"github.com/kensa-project/kensa/internal/lazyre"
)

// BackendBusyBoxTLS is BusyBox's own TLS client (networking/tls.c).
const BackendBusyBoxTLS = "busybox-tls"

// BackendHaskellCrypton is Haskell's cryptonite or crypton library (and
// the tls package on it).
const BackendHaskellCrypton = "haskell-crypton"

// EmbeddedFacts is the evidence of a static GnuTLS or a BusyBox TLS
// client in a file.
type EmbeddedFacts struct {
	// GnuTLSVersion is GnuTLS's version ("3.7.9") from its logging
	// banner; GnuTLSSourceDirs counts the distinct GnuTLS source
	// directories its assertion messages name; GnuTLSSymbols the gnutls_
	// functions the file defines.
	GnuTLSVersion    string
	GnuTLSSourceDirs int
	GnuTLSSymbols    int
	// BusyBoxVersion is busybox's version ("1.35.0") from its banner;
	// BusyBoxTLSMarkers counts the distinct messages of its TLS client;
	// BusyBoxNoCertCheck: the client says it does not validate
	// certificates.
	BusyBoxVersion     string
	BusyBoxTLSMarkers  int
	BusyBoxNoCertCheck bool
	// HaskellCrypto is "cryptonite" or "crypton" with its version
	// ("cryptonite 0.29") from a GHC unit id; HaskellTLS the tls
	// package's version when it is linked too.
	HaskellCrypto string
	HaskellTLS    string
	// LibraryVersion is a libgcrypt or NSS library's own version
	// ("1.10.1", "3.87.1"; distro.go).
	LibraryVersion string
}

var (
	anchorGnuTLS  = []byte("GnuTLS ")
	anchorBusyBox = []byte("BusyBox v")
	reGnuTLSVer   = lazyre.New(`^GnuTLS (\d+\.\d+\.\d+) logging`)
	reBusyBoxVer  = lazyre.New(`^BusyBox v(\d+\.\d+\.\d+)`)
	// GHC unit ids: <package>-<version>-<hash>:<Module>.
	anchorCrypton = []byte("crypton")
	reCrypton     = lazyre.New(`^(crypton(?:ite)?)-(\d+(?:\.\d+)*)-[0-9A-Za-z]{6,40}:Crypto\.`)
	haskellTLS    = [][]byte{[]byte("tls-1."), []byte("tls-2.")}
	reHaskellTLS  = lazyre.New(`^tls-(\d+(?:\.\d+)+)-[0-9A-Za-z]{6,40}:Network\.TLS`)

	// GnuTLS's own source directories, as gnutls_assert() names them.
	gnutlsPaths = [][]byte{
		[]byte("lib/x509/"), []byte("lib/nettle/"), []byte("lib/tls13/"), []byte("lib/auth/"),
		[]byte("lib/accelerated/"), []byte("lib/algorithms/"), []byte("lib/ext/"),
	}
	// Messages of busybox's networking/tls.c.
	busyboxTLSMarkers = [][]byte{
		[]byte("got bad TLS record"),
		[]byte("from peer (alert code"),
		[]byte("TLS certificate validation not implemented"),
		[]byte("tls error at line"),
	}
)

// noteEmbedded records what a hit of anchorGnuTLS (i == 0),
// anchorBusyBox (i == 1) or anchorCrypton (i == 2) says.
func (e *EmbeddedFacts) noteEmbedded(i int, at []byte) {
	switch i {
	case 2:
		if m := reCrypton.FindSubmatch(at); m != nil && e.HaskellCrypto == "" {
			e.HaskellCrypto = string(m[1]) + " " + string(m[2])
		}
	case 0:
		if m := reGnuTLSVer.FindSubmatch(at); m != nil && e.GnuTLSVersion == "" {
			e.GnuTLSVersion = string(m[1])
		}
	case 1:
		if m := reBusyBoxVer.FindSubmatch(at); m != nil && e.BusyBoxVersion == "" {
			e.BusyBoxVersion = string(m[1])
		}
	}
}

// scanEmbedded looks for the rest of the evidence once a version string
// was found: a second pass over read-only data, for the few files that
// carry one.
func (e *EmbeddedFacts) scanEmbedded(ef *elfx.File) {
	if e.GnuTLSVersion != "" {
		seen := make([]bool, len(gnutlsPaths))
		_ = ef.ScanStrings(gnutlsPaths, maxScan, func(i int, _ []byte) bool {
			if !seen[i] {
				seen[i] = true
				e.GnuTLSSourceDirs++
			}
			return e.GnuTLSSourceDirs < len(gnutlsPaths)
		})
		_ = ef.Symbols(true, func(name []byte, _ bool) bool {
			if bytes.HasPrefix(name, []byte("gnutls_")) {
				e.GnuTLSSymbols++
			}
			return true
		})
	}
	if e.HaskellCrypto != "" {
		_ = ef.ScanStrings(haskellTLS, maxScan, func(_ int, at []byte) bool {
			if m := reHaskellTLS.FindSubmatch(at); m != nil {
				e.HaskellTLS = string(m[1])
				return false
			}
			return true
		})
	}
	if e.BusyBoxVersion != "" {
		seen := make([]bool, len(busyboxTLSMarkers))
		_ = ef.ScanStrings(busyboxTLSMarkers, maxScan, func(i int, _ []byte) bool {
			if !seen[i] {
				seen[i] = true
				e.BusyBoxTLSMarkers++
				e.BusyBoxNoCertCheck = e.BusyBoxNoCertCheck || i == 2
			}
			return e.BusyBoxTLSMarkers < len(busyboxTLSMarkers)
		})
	}
}

// StaticGnuTLS reports whether the file carries a copy of GnuTLS: its
// version string with at least three of its source directories, or at
// least 50 gnutls_ functions defined (a symbol table kept).
func (e *EmbeddedFacts) StaticGnuTLS() bool {
	return e.GnuTLSVersion != "" && (e.GnuTLSSourceDirs >= 3 || e.GnuTLSSymbols >= 50)
}

// BusyBoxTLS reports whether the file is a busybox with its own TLS
// client: the banner and at least two of the client's messages.
func (e *EmbeddedFacts) BusyBoxTLS() bool {
	return e.BusyBoxVersion != "" && e.BusyBoxTLSMarkers >= 2
}

// embeddedHits are the hits of a static GnuTLS and of busybox's TLS
// client. ownFamily is the family of the file itself (libgnutls.so is
// GnuTLS, not a copy of it).
func embeddedHits(f *Facts, ownFamily, via string) []hit {
	e := &f.Embedded
	var hits []hit
	if ownFamily != BackendGnuTLS && e.StaticGnuTLS() {
		var ev []string
		if e.GnuTLSSourceDirs > 0 {
			ev = append(ev, fmt.Sprintf("%d GnuTLS source directories in its strings", e.GnuTLSSourceDirs))
		}
		if e.GnuTLSSymbols > 0 {
			ev = append(ev, fmt.Sprintf("%d gnutls_ functions defined", e.GnuTLSSymbols))
		}
		hits = append(hits, hit{
			backend: BackendGnuTLS,
			module:  Module{Backend: BackendGnuTLS, Name: "GnuTLS (linked in statically)", Version: e.GnuTLSVersion, Status: StatusNotValidated},
			verdict: Noncompliant,
			reasons: []string{fmt.Sprintf("%sembeds its own copy of GnuTLS %s (static link, %s): not a validated module (a validated GnuTLS is a distribution's shared library, checked by its integrity HMAC on a host in FIPS mode)",
				viaPrefix(via), e.GnuTLSVersion, strings.Join(ev, ", "))},
			via: via,
		})
	}
	if e.HaskellCrypto != "" {
		reason := fmt.Sprintf("%slinks the Haskell crypto library %s (from its GHC unit id), with its own Haskell and C implementations: not a validated module", viaPrefix(via), e.HaskellCrypto)
		if e.HaskellTLS != "" {
			reason += fmt.Sprintf("; its TLS is the Haskell tls %s package on it", e.HaskellTLS)
		}
		hits = append(hits, hit{
			backend: BackendHaskellCrypton,
			module:  Module{Backend: BackendHaskellCrypton, Name: "Haskell " + e.HaskellCrypto, Status: StatusNotValidated},
			verdict: Noncompliant,
			reasons: []string{reason},
			via:     via,
		})
	}
	if e.BusyBoxTLS() {
		reason := fmt.Sprintf("%sBusyBox %s has its own TLS client (networking/tls.c, used by wget https:// and ssl_client; %d of its messages found), with busybox's own AES, SHA and elliptic-curve code: not a validated module",
			viaPrefix(via), e.BusyBoxVersion, e.BusyBoxTLSMarkers)
		reasons := []string{reason}
		if e.BusyBoxNoCertCheck {
			reasons = append(reasons, "its TLS client says \"TLS certificate validation not implemented\": it does not check the server's certificate")
		}
		hits = append(hits, hit{
			backend: BackendBusyBoxTLS,
			module:  Module{Backend: BackendBusyBoxTLS, Name: "BusyBox TLS client", Version: e.BusyBoxVersion, Status: StatusNotValidated},
			verdict: Noncompliant,
			reasons: reasons,
			via:     via,
		})
	}
	return hits
}
