package fips

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/kensa-project/kensa/internal/elfx"
)

// Rust programs have no build information like Go's, but they say which
// crates they link in three ways, used together:
//
//   - the .dep-v0 section cargo-auditable embeds: the whole crate list
//     with versions (build-only crates are left out);
//   - the source paths of panic messages and debug assertions, which name
//     each crate's registry directory: …/index.crates.io-<hash>/ring-0.17.14/src/…,
//     …/github.com-1ecc6299db9ec823/ring-0.16.20/…, or Debian's
//     /usr/share/cargo/registry/ring-0.17.8/…;
//   - the Rust standard library's own paths (/rustc/<hash>/library/…),
//     which say the file is Rust.
//
// Crates that carry crypto, by backend:
//
//   - rust-ring: ring (BoringSSL-derived primitives, never validated);
//   - rust-rustls: rustls, a TLS library whose crypto is its provider's
//     (ring, or aws-lc-rs; FIPS only with aws-lc-rs's FIPS build and
//     rustls' fips feature);
//   - aws-lc: aws-lc-sys (not a FIPS build) and aws-lc-fips-sys (the
//     FIPS build, judged by the module table with the "AWS-LC FIPS x.y.z"
//     version string it carries);
//   - rustcrypto: the pure-Rust RustCrypto and dalek crates and libcrux
//     (not validated modules);
//   - openssl-sys / native-tls link OpenSSL, dynamically (a DT_NEEDED the
//     dependency walk judges) or vendored through openssl-src (the static
//     OpenSSL detection sees it).

// Backends of Rust crypto crates.
const (
	BackendRustRing   = "rust-ring"
	BackendRustRustls = "rust-rustls"
	BackendRustCrypto = "rustcrypto"
)

// rustCryptoCrates are pure-Rust crypto crates: RustCrypto's, dalek,
// libcrux, and the independent crates of crates.io's cryptography
// category that implement an algorithm themselves (argon2-rust, blake3,
// the old rust-crypto, orion, the fips20x ML-KEM/ML-DSA/SLH-DSA crates
// …). Trait-only crates (digest, cipher, signature, password-hash) and
// big-number crates are left out: they carry no algorithm. A crate
// missing here makes a Rust program "no crypto", so the list errs on
// the side of completeness.
var rustCryptoCrates = map[string]bool{
	// Hashes and XOFs.
	"sha1": true, "sha-1": true, "sha1_smol": true, "sha1-checked": true, "sha2": true, "sha3": true, "md-5": true,
	"md5": true, "md4": true, "md2": true, "ripemd": true, "blake2": true, "blake2b_simd": true, "blake2s_simd": true,
	"blake2-rfc": true, "blake3": true, "keccak": true, "tiny-keccak": true, "k12": true, "sm3": true, "whirlpool": true,
	"streebog": true, "gost94": true, "groestl": true, "skein": true, "tiger": true, "ascon-hash": true,
	// Ciphers, modes and AEADs.
	"aes": true, "aes-gcm": true, "aes-gcm-siv": true, "aes-siv": true, "ccm": true, "eax": true, "ocb3": true,
	"chacha20": true, "chacha20poly1305": true, "poly1305": true, "salsa20": true, "xsalsa20poly1305": true,
	"des": true, "cbc": true, "ctr": true, "ofb": true, "cfb-mode": true, "xts-mode": true, "ghash": true, "polyval": true,
	"blowfish": true, "twofish": true, "camellia": true, "cast5": true, "idea": true, "rc2": true, "rc4": true,
	"serpent": true, "threefish": true, "kuznyechik": true, "magma": true, "sm4": true, "aria": true, "ascon-aead": true,
	"deoxys": true, "crypto_secretbox": true, "crypto_box": true,
	// MACs, KDFs and password hashes.
	"hmac": true, "cmac": true, "pmac": true, "hkdf": true, "pbkdf2": true, "scrypt": true, "argon2": true,
	"argon2-rust": true, "rust-argon2": true, "bcrypt": true, "bcrypt-pbkdf": true, "yescrypt": true, "balloon-hash": true,
	// Public-key algorithms.
	"rsa": true, "dsa": true, "ecdsa": true, "p224": true, "p256": true, "p384": true, "p521": true, "k256": true,
	"sm2": true, "elliptic-curve": true, "ed25519-dalek": true, "x25519-dalek": true, "curve25519-dalek": true,
	"curve25519-dalek-ng": true, "ed25519-compact": true, "ed25519-zebra": true, "ed448-goldilocks": true, "x448": true,
	"schnorrkel": true, "libsecp256k1": true, "hpke": true, "hpke-rs": true,
	// Post-quantum.
	"libcrux": true, "libcrux-ml-kem": true, "libcrux-ml-dsa": true, "libcrux-sha3": true, "ml-kem": true,
	"ml-dsa": true, "slh-dsa": true, "fips203": true, "fips204": true, "fips205": true, "pqc_kyber": true,
	"crystals-dilithium": true,
	// Whole libraries.
	"rust-crypto": true, "orion": true,
}

// rustCrate reports whether a crate name matters for crypto.
func rustCrate(name string) bool {
	switch name {
	case "ring", "rustls", "aws-lc-rs", "aws-lc-sys", "aws-lc-fips-sys", "openssl-sys", "openssl-src", "native-tls", "boring-sys":
		return true
	}
	return rustCryptoCrates[name]
}

// RustFacts is what a Rust binary says about its crates.
type RustFacts struct {
	// Crates are the crypto crates found, name → version ("" unknown).
	Crates map[string]string
	// FromCrateList: the crates come from cargo-auditable's .dep-v0.
	FromCrateList bool
	// Std: the Rust standard library's paths are in the strings.
	Std bool
	// FromSymbols: some crates were found only by their mangled symbols.
	FromSymbols bool
}

// rustSymbolCrate returns the crate a mangled Rust symbol belongs to, with
// '_' turned into '-' when the crate is known by its hyphenated name
// (aws_lc_rs → aws-lc-rs), or "". Legacy mangling: _ZN<len><crate>…;
// v0: _R…C[s<disambiguator>_]<len><crate>….
func rustSymbolCrate(sym []byte) string {
	var ident []byte
	switch {
	case bytes.HasPrefix(sym, []byte("_ZN")):
		ident = lenIdent(sym[3:])
	case bytes.HasPrefix(sym, []byte("_R")):
		i := bytes.IndexByte(sym[2:], 'C')
		if i < 0 {
			return ""
		}
		rest := sym[2+i+1:]
		if len(rest) > 0 && rest[0] == 's' {
			j := bytes.IndexByte(rest, '_')
			if j < 0 {
				return ""
			}
			rest = rest[j+1:]
		}
		ident = lenIdent(rest)
	}
	if len(ident) == 0 {
		return ""
	}
	name := string(ident)
	if rustCrate(name) {
		return name
	}
	if h := strings.ReplaceAll(name, "_", "-"); rustCrate(h) {
		return h
	}
	return ""
}

// lenIdent reads a <decimal length><identifier> token.
func lenIdent(b []byte) []byte {
	n, i := 0, 0
	for i < len(b) && i < 4 && b[i] >= '0' && b[i] <= '9' {
		n = n*10 + int(b[i]-'0')
		i++
	}
	if i == 0 || n == 0 || i+n > len(b) {
		return nil
	}
	return b[i : i+n]
}

var (
	// "/registry/" is in every registry path: …/registry/src/index.crates.io-<hash>/,
	// …/registry/src/github.com-1ecc6299db9ec823/ and Debian's
	// /usr/share/cargo/registry/. Two anchors keep the scan of every C
	// file cheap.
	anchorRegistry = []byte("/registry/")
	anchorRustStd  = []byte("/library/std/src/")
)

// noteString records what one match of anchorRegistry (i 0) or
// anchorRustStd (i 1) says;
// scanC calls it from its single pass over the read-only data.
func (rf *RustFacts) noteString(i int, at []byte) {
	if i == 1 {
		rf.Std = true
		return
	}
	rest := at[len(anchorRegistry):]
	if r, ok := bytes.CutPrefix(rest, []byte("src/")); ok {
		// src/<index directory>/<crate>-<version>/
		j := bytes.IndexByte(r, '/')
		if j < 0 || j > 64 {
			return
		}
		rest = r[j+1:]
	}
	end := bytes.IndexByte(rest, '/')
	if end <= 0 {
		return
	}
	name, ver := splitCrateDir(string(rest[:end]))
	if name != "" && rustCrate(name) {
		rf.Std = true
		if _, seen := rf.Crates[name]; !seen || rf.Crates[name] == "" {
			rf.Crates[name] = ver
		}
	}
}

// finishRust adds the cargo-auditable crate list and, when needed, the
// crates of mangled symbols to what the string scan found (rf), and
// records the result in f.
func finishRust(ef *elfx.File, f *Facts, rf *RustFacts) {
	if cs, err := ef.CrateList(); err == nil {
		rf.FromCrateList, rf.Std = true, true
		for _, c := range cs {
			if c.Kind != "build" && rustCrate(c.Name) {
				rf.Crates[c.Name] = c.Version
			}
		}
	}
	if rf.Std && len(rf.Crates) == 0 {
		// Mangled symbol names (legacy _ZN4ring…, v0 _RNv…Cs…_4ring…)
		// name crates that left no paths: read only when the paths
		// named none, and only the dynamic symbol table (what a
		// cdylib, a Node or Python extension, exports). Static tables
		// of Rust's big libraries (librustc_driver) cost tens of MiB.
		_ = ef.Symbols(false, func(name []byte, _ bool) bool {
			if c := rustSymbolCrate(name); c != "" && rustCrate(c) {
				if _, seen := rf.Crates[c]; !seen {
					rf.Crates[c] = ""
					rf.FromSymbols = true
				}
			}
			return true
		})
	}
	if rf.Std || len(rf.Crates) > 0 {
		f.Rust = rf
	}
	if _, ok := rf.Crates["aws-lc-fips-sys"]; ok && f.BoringSSL == "" {
		f.BoringSSL = "AWS-LC"
	} else if _, ok := rf.Crates["aws-lc-sys"]; ok && f.BoringSSL == "" {
		f.BoringSSL = "AWS-LC"
	}
}

// splitCrateDir splits a registry directory name "aws-lc-sys-0.30.0"
// into the crate name and version.
func splitCrateDir(dir string) (string, string) {
	for i := len(dir) - 1; i > 0; i-- {
		if dir[i] == '-' && i+1 < len(dir) && dir[i+1] >= '0' && dir[i+1] <= '9' {
			// The version starts at the first "-<digit>" that has
			// "x.y" after it.
			name, ver := dir[:i], dir[i+1:]
			if strings.Count(ver, ".") >= 2 && !strings.Contains(name, ".") {
				// Keep going left for names with digits after a dash
				// (none of the crates kensa cares about have them).
				return name, ver
			}
		}
	}
	return "", ""
}

// rustHits evaluates the crypto crates of a Rust binary.
func (c *Classifier) rustHits(f *Facts, via string) []hit {
	rf := f.Rust
	if rf == nil || len(rf.Crates) == 0 {
		return nil
	}
	src := "its crate paths"
	switch {
	case rf.FromCrateList:
		src = "its cargo-auditable crate list"
	case rf.FromSymbols:
		src = "its crate paths and symbols"
	}
	crate := func(n string) string {
		if v := rf.Crates[n]; v != "" {
			return n + " " + v
		}
		return n
	}
	has := func(n string) bool { _, ok := rf.Crates[n]; return ok }
	var hits []hit
	if has("ring") {
		hits = append(hits, hit{backend: BackendRustRing, verdict: Noncompliant, via: via,
			module:  Module{Backend: BackendRustRing, Name: "ring (Rust)", Version: rf.Crates["ring"], Status: StatusNotValidated},
			reasons: []string{fmt.Sprintf("%slinks the Rust crate %s (from %s): ring's crypto is not a validated module", viaPrefix(via), crate("ring"), src)}})
	}
	if has("rustls") {
		provider, v, reason := "ring", Noncompliant, ""
		switch {
		case has("aws-lc-fips-sys") && strings.HasPrefix(f.AWSLCVersion, "AWS-LC FIPS "):
			provider, v = "aws-lc-rs (FIPS build, "+f.AWSLCVersion+")", Conditional
			reason = "compliant only when rustls runs in FIPS mode (its fips feature; ClientConfig/ServerConfig::fips() true) and the AWS-LC release is under a certificate"
		case has("aws-lc-rs") || has("aws-lc-sys") || has("aws-lc-fips-sys"):
			provider, reason = "aws-lc-rs", "aws-lc-rs without its FIPS build is not a validated module"
		case has("ring"):
			reason = "the ring provider is not a validated module"
		default:
			provider, reason = "an unrecognised provider", "no validated provider found"
		}
		hits = append(hits, hit{backend: BackendRustRustls, verdict: v, via: via,
			module:  Module{Backend: BackendRustRustls, Name: "rustls (Rust TLS) with " + provider, Version: rf.Crates["rustls"], Status: StatusNotValidated},
			reasons: []string{fmt.Sprintf("%slinks %s with the %s crypto provider (from %s): %s", viaPrefix(via), crate("rustls"), provider, src, reason)}})
	}
	var rc []string
	for _, n := range slices.Sorted(maps.Keys(rf.Crates)) {
		if rustCryptoCrates[n] {
			rc = append(rc, crate(n))
		}
	}
	if len(rc) > 0 {
		shown := rc
		if len(shown) > 6 {
			shown = append(shown[:6:6], fmt.Sprintf("%d more", len(rc)-6))
		}
		hits = append(hits, hit{backend: BackendRustCrypto, verdict: Noncompliant, via: via,
			module:  Module{Backend: BackendRustCrypto, Name: "pure-Rust crypto crates", Status: StatusNotValidated},
			reasons: []string{fmt.Sprintf("%slinks pure-Rust crypto crates (%s; from %s): not a validated module", viaPrefix(via), strings.Join(shown, ", "), src)}})
	}
	return hits
}
