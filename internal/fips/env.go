package fips

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/kensa-project/kensa/internal/rootfs"
)

// The environment a program starts with can change its FIPS posture, and
// an image's configuration (its Env) is that environment for the
// container's processes. The variables and what they do:
//
//   - GODEBUG=fips140=on|only|debug|off: upstream Go (1.24+) reads it at
//     start-up and it overrides the DefaultGODEBUG compiled in; on, only
//     and debug turn FIPS 140-3 mode on, off turns it off. Upstream Go
//     panics on any other value ("fips140: unknown GODEBUG setting");
//     Red Hat's Go 1.27 accepts "auto" (follow the host). Microsoft Go
//     honours on|only|debug, and off since 1.27 (1.26.3-1, 1.25.10-1).
//     Within GODEBUG the last setting of a key wins.
//   - GOFIPS (Microsoft Go) and GOLANG_FIPS (Red Hat golang-fips and
//     Microsoft Go): 1 requires FIPS mode (the program stops if OpenSSL
//     cannot enter it). golang-fips treats 0 as an opt-out that turns
//     FIPS mode off even on a FIPS host; Microsoft Go before 1.27 treats
//     every value but 1 as "off" and skips the host's FIPS flag (fixed in
//     1.27, microsoft/go#2244).
//   - OPENSSL_FORCE_FIPS_MODE: Red Hat builds of OpenSSL enter FIPS mode
//     when it is set, whatever the host.
//   - OPENSSL_CONF: the configuration file OpenSSL loads instead of the
//     default openssl.cnf; whether the FIPS provider is activated then
//     depends on that file.

// EnvMap turns NAME=value strings (an image configuration's Env) into a
// map. The first entry for a name wins: containerd and docker pass an
// image's Env to the process as it is, duplicates included, and both
// the Go runtime and the C library's getenv return the first match.
func EnvMap(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if _, dup := m[k]; !dup {
			m[k] = v
		}
	}
	return m
}

// godebugValue returns the value of key in a GODEBUG string, the last
// setting winning, and whether it is set. It parses as Go does
// (internal/godebug): comma-separated key=value pairs, nothing trimmed,
// so " fips140=off" sets a key Go does not know.
func godebugValue(godebug, key string) (string, bool) {
	val, found := "", false
	for kv := range strings.SplitSeq(godebug, ",") {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			val, found = v, true
		}
	}
	return val, found
}

// ApplyEnv adjusts r, the result Classify gave for a file with facts f,
// to the environment env its process starts with (an image's Env). A
// setting that turns FIPS mode off makes the file noncompliant and the
// first reason says so; settings that turn it on or require it are
// recorded in the reasons. Files without crypto are left alone.
func ApplyEnv(r *Result, f *Facts, env map[string]string) {
	applyEnv(r, f, env)
}

// ApplyEnv is [ApplyEnv] with the root filesystem at hand: it also reads
// the file OPENSSL_CONF names, inside the root.
func (c *Classifier) ApplyEnv(r *Result, f *Facts, env map[string]string) {
	applyEnv(r, f, env)
	conf, ok := env["OPENSSL_CONF"]
	if !ok || !usesOpenSSL(r) {
		return
	}
	where := "image Env OPENSSL_CONF=" + conf
	if !path.IsAbs(conf) {
		addReason(r, where+" is a relative path: what OpenSSL loads depends on the working directory")
		return
	}
	data, err := c.readSmall(conf, maxConfBytes)
	switch {
	case err != nil && isNotExist(c.root, conf):
		downgrade(r, where+" names a file that is not in the image: OpenSSL loads no configuration, so no FIPS provider is activated",
			"remove OPENSSL_CONF from the image's Env, or point it at a configuration in the image that activates the FIPS provider")
	case err != nil:
		addReason(r, fmt.Sprintf("%s could not be read (%v): the FIPS configuration was not checked", where, err))
	case !reFIPSConf.Match(data):
		downgrade(r, where+" replaces the default configuration and does not mention the FIPS provider",
			"remove OPENSSL_CONF from the image's Env, or make the file it names activate the FIPS provider")
	default:
		addReason(r, where+": OpenSSL takes its configuration from there, and it mentions the FIPS provider")
	}
}

func isNotExist(root rootfs.FS, name string) bool {
	p, err := rootfs.Resolve(root, name)
	if err != nil {
		return true
	}
	_, err = root.Lstat(p)
	return err != nil
}

func usesOpenSSL(r *Result) bool {
	return slices.Contains(r.Crypto, BackendOpenSSL) || slices.Contains(r.Crypto, BackendGoOpenSSL)
}

// downgrade makes r noncompliant because of reason, put first; fix is
// the remediation (the environment setting to change).
func downgrade(r *Result, reason, fix string) {
	if r.Verdict != Noncompliant {
		r.Verdict = Noncompliant
	}
	r.envFix = fix
	r.Reasons = append([]string{reason}, slices.DeleteFunc(r.Reasons, func(s string) bool { return s == reason })...)
}

func addReason(r *Result, reason string) {
	if !slices.Contains(r.Reasons, reason) {
		r.Reasons = append(r.Reasons, reason)
	}
}

// The runtime reminder goFIPS140Hit adds when nothing is known about the
// environment; an image scan knows it.
const envReminder = "a runtime GODEBUG=fips140=off would turn FIPS mode off: check the environment"

func applyEnv(r *Result, f *Facts, env map[string]string) {
	if r.Verdict == NotApplicable || len(r.Crypto) == 0 {
		return
	}
	if f.IsGo() {
		applyGoEnv(r, f.Go, env)
	}
	if v, ok := env["OPENSSL_FORCE_FIPS_MODE"]; ok && usesOpenSSL(r) {
		addReason(r, fmt.Sprintf("image Env OPENSSL_FORCE_FIPS_MODE=%s: a Red Hat build of OpenSSL enters FIPS mode whatever the host; other builds ignore it", v))
	}
}

func applyGoEnv(r *Result, g *GoFacts, env map[string]string) {
	backend := goBackend(g)
	microsoft := g.MicrosoftOpenSSL || g.HasExperiment("systemcrypto") || g.HasExperiment("opensslcrypto")
	if v, _ := g.Setting("microsoft_systemcrypto"); v == "1" {
		microsoft = true
	}
	mode, set := godebugValue(env["GODEBUG"], "fips140")
	if set {
		where := "image Env GODEBUG=fips140=" + mode
		r.Reasons = slices.DeleteFunc(r.Reasons, func(s string) bool { return s == envReminder })
		fix := "remove fips140=off from GODEBUG in the image's Env (ENV in the Dockerfile, env in the pod spec): the binary itself is built for FIPS mode"
		switch mode {
		case "off":
			switch backend {
			case BackendGoFIPS140:
				if r.Verdict == Noncompliant {
					// Already noncompliant for its module: the setting is
					// one more reason, not the fix.
					addReason(r, where+" turns FIPS 140-3 mode off as well")
					break
				}
				downgrade(r, where+" turns FIPS 140-3 mode off: the Go Cryptographic Module runs outside FIPS mode", fix)
			case BackendGoOpenSSL:
				if microsoft {
					if r.Verdict == Noncompliant {
						addReason(r, where+" turns FIPS mode off as well")
						break
					}
					downgrade(r, where+" turns FIPS mode off in Microsoft Go (1.25.10-1, 1.26.3-1, 1.27 and later), whatever the host", fix)
				}
			}
		case "on", "only", "debug":
			switch backend {
			case BackendGoStd:
				addReason(r, where+" turns FIPS 140-3 mode on, but with the toolchain's in-tree module, which is not validated")
			case BackendGoFIPS140:
				addReason(r, where+" keeps FIPS 140-3 mode on")
			case BackendGoOpenSSL:
				addReason(r, where+" requires FIPS mode: the program stops unless OpenSSL can enter it")
			}
			if mode == "only" {
				addReason(r, "fips140=only is documented upstream as not intended for production")
			}
		case "auto":
			if strings.Contains(g.Vendor, "Red Hat") {
				if r.Verdict == Compliant {
					r.Verdict = Conditional
				}
				addReason(r, where+": FIPS mode follows the host's FIPS flag")
				break
			}
			addReason(r, where+" is not a value upstream Go accepts: the program panics at start-up")
		default:
			addReason(r, where+" is not a value Go accepts: the program panics at start-up")
		}
	}
	if backend != BackendGoOpenSSL {
		return
	}
	for _, name := range []string{"GOLANG_FIPS", "GOFIPS"} {
		v, ok := env[name]
		if !ok || (name == "GOFIPS" && !microsoft) {
			continue
		}
		where := "image Env " + name + "=" + v
		switch {
		case v == "1":
			addReason(r, where+" requires FIPS mode: the program stops unless OpenSSL can enter it")
		case !microsoft && v == "0":
			downgrade(r, where+" opts out of FIPS mode (golang-fips), even on a FIPS host",
				"remove "+name+"=0 from the image's Env (or set it to 1)")
		case microsoft && GoMinor(g.Release) < 27:
			downgrade(r, fmt.Sprintf("%s: Microsoft Go before 1.27 takes any value but 1 as FIPS mode off and skips the host's FIPS flag (microsoft/go#2244)", where),
				"remove "+name+" from the image's Env, or set it to 1")
		}
	}
}

// GoMinor returns the minor version of a Go release ("go1.26.8" → 26),
// or 0.
func GoMinor(release string) int {
	s, ok := strings.CutPrefix(release, "go1.")
	if !ok {
		return 0
	}
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}
