package host

import (
	"bytes"
	"path"
	"slices"
	"strings"

	"github.com/kensa-project/kensa/internal/lazyre"
)

// Bounds of what a scan reads from one process or file. A hostile process
// can have millions of mappings or a huge environment; kensa reads the
// first bytes only and says so.
const (
	maxMapsBytes    = 8 << 20 // /proc/PID/maps (about 60,000 mappings)
	maxEnvironBytes = 1 << 20 // /proc/PID/environ
	maxCgroupBytes  = 64 << 10
	maxSmallFile    = 256 << 10 // configuration files, os-release, cmdline
	maxMapped       = 256       // distinct crypto mappings kept per process
)

// mapRoles maps a mapped file's base name to its role. Order matters:
// the first match wins.
var mapRoles = []struct {
	role  string
	match func(dir, base string) bool
}{
	// fips.so anywhere: OPENSSL_MODULES or a config's module = path can
	// load the provider from any directory (judgeOpenSSL checks that the
	// file really is an OpenSSL provider).
	{"fips-provider", func(_, base string) bool { return base == "fips.so" }},
	{"symcrypt-provider", func(_, base string) bool { return base == "symcryptprovider.so" }},
	{"legacy-provider", func(dir, base string) bool { return base == "legacy.so" && path.Base(dir) == "ossl-modules" }},
	{"other-provider", func(dir, _ string) bool { return path.Base(dir) == "ossl-modules" }},
	{"symcrypt", func(_, base string) bool { return strings.HasPrefix(base, "libsymcrypt.so") }},
	{"libcrypto", func(_, base string) bool {
		return strings.HasPrefix(base, "libcrypto.so") || soPrefix(base, "libcrypto-")
	}},
	{"libssl", func(_, base string) bool { return strings.HasPrefix(base, "libssl.so") || soPrefix(base, "libssl-") }},
	{"gnutls", func(_, base string) bool { return strings.HasPrefix(base, "libgnutls.so") }},
	{"nettle", func(_, base string) bool {
		return strings.HasPrefix(base, "libnettle.so") || strings.HasPrefix(base, "libhogweed.so")
	}},
	{"nss-softokn", func(_, base string) bool { return strings.HasPrefix(base, "libsoftokn3.so") }},
	{"nss-freebl", func(_, base string) bool {
		return strings.HasPrefix(base, "libfreeblpriv3.so") || strings.HasPrefix(base, "libfreebl3.so")
	}},
	{"nss", func(_, base string) bool { return strings.HasPrefix(base, "libnss3.so") }},
	{"libgcrypt", func(_, base string) bool { return strings.HasPrefix(base, "libgcrypt.so") }},
	{"wolfssl", func(_, base string) bool { return strings.HasPrefix(base, "libwolfssl.so") }},
	{"mbedtls", func(_, base string) bool { return strings.HasPrefix(base, "libmbedcrypto.so") }},
}

// soPrefix matches vendored copies such as libcrypto-1a2b3c4d.so.3 (Python
// wheels) or libcrypto-3-x64.so.
func soPrefix(base, prefix string) bool {
	return strings.HasPrefix(base, prefix) && strings.Contains(base, ".so")
}

// mapRole returns the role of a mapped file path, or "".
func mapRole(p string) string {
	dir, base := path.Split(p)
	dir = strings.TrimSuffix(dir, "/")
	for _, r := range mapRoles {
		if r.match(dir, base) {
			return r.role
		}
	}
	return ""
}

// ParseMaps returns the crypto libraries and providers of a
// /proc/PID/maps text, once each, in the order first mapped. Lines are
// "start-end perms offset dev inode pathname"; the pathname may contain
// spaces and ends in " (deleted)" when the file was removed. Anything
// else (anonymous mappings, [heap], truncated lines) is ignored.
func ParseMaps(data []byte) []Mapped {
	var out []Mapped
	seen := map[string]bool{}
	for len(data) > 0 {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte{'\n'})
		p := mapsPath(line)
		if p == "" || p[0] != '/' {
			continue
		}
		deleted := false
		if s, ok := strings.CutSuffix(p, " (deleted)"); ok {
			p, deleted = s, true
		}
		if seen[p] {
			continue
		}
		role := mapRole(p)
		if role == "" {
			continue
		}
		seen[p] = true
		out = append(out, Mapped{Path: p, Role: role, Deleted: deleted})
		if len(out) >= maxMapped {
			break
		}
	}
	return out
}

// mapsPath returns the pathname field of one maps line: what follows the
// fifth field and the spaces after it.
func mapsPath(line []byte) string {
	rest := line
	for range 5 {
		rest = bytes.TrimLeft(rest, " ")
		i := bytes.IndexByte(rest, ' ')
		if i < 0 {
			return ""
		}
		rest = rest[i:]
	}
	return string(bytes.TrimLeft(rest, " \t"))
}

// envSwitches are the variables of a start environment that change a
// process's FIPS posture (see fips.EnvMap's notes and live-posture §4).
var envSwitches = []string{
	"GODEBUG", "GOFIPS", "GOLANG_FIPS", "GOLANG_NATIVE_HOSTFIPS_OVERRIDE", "GO_OPENSSL_VERSION_OVERRIDE",
	"OPENSSL_CONF", "OPENSSL_MODULES", "OPENSSL_FORCE_FIPS_MODE",
	"GNUTLS_FORCE_FIPS_MODE", "LIBGCRYPT_FORCE_FIPS_MODE", "NSS_FIPS",
}

// ParseEnviron returns the FIPS switches set in a /proc/PID/environ text
// (NUL-separated NAME=value entries). The first entry of a name wins, as
// getenv(3) and Go's os.Getenv read it. Values are kept up to 4 KiB.
func ParseEnviron(data []byte) map[string]string {
	var m map[string]string
	for len(data) > 0 {
		var kv []byte
		kv, data, _ = bytes.Cut(data, []byte{0})
		k, v, ok := bytes.Cut(kv, []byte{'='})
		if !ok || len(k) == 0 {
			continue
		}
		name := string(k)
		if !slices.Contains(envSwitches, name) {
			continue
		}
		if _, dup := m[name]; dup {
			continue
		}
		if m == nil {
			m = map[string]string{}
		}
		if len(v) > 4096 {
			v = v[:4096]
		}
		m[name] = string(v)
	}
	return m
}

// Cgroup is what a /proc/PID/cgroup text says about the container.
type Cgroup struct {
	ContainerID string
	PodUID      string
	Runtime     string
}

var (
	reHex64   = lazyre.New(`[0-9a-f]{64}`)
	rePodUID  = lazyre.New(`pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})`)
	reRuntime = lazyre.New(`(docker|cri-containerd|crio|libpod|containerd)[-:]?[0-9a-f]{64}`)
)

// ParseCgroup finds the container id and pod UID in a /proc/PID/cgroup
// text (cgroup v1 "hierarchy:controllers:path" lines or the v2 "0::path"
// line). Known shapes (neuvector's cgroup tests; kubelet's drivers):
//
//	/kubepods/burstable/pod<uid>/<id>                                  cgroupfs driver
//	/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod<uid_>.slice/cri-containerd-<id>.scope
//	/system.slice/docker-<id>.scope, /docker/<id>                      docker
//	/machine.slice/libpod-<id>.scope                                   podman
//
// A path without a 64-hex id is a host process.
func ParseCgroup(data []byte) Cgroup {
	var cg Cgroup
	for len(data) > 0 {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte{'\n'})
		_, rest, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			continue
		}
		_, p, ok := bytes.Cut(rest, []byte{':'})
		if !ok {
			continue
		}
		s := string(p)
		if cg.PodUID == "" {
			if m := rePodUID.FindStringSubmatch(s); m != nil {
				cg.PodUID = strings.ReplaceAll(m[1], "_", "-")
			}
		}
		if cg.ContainerID == "" {
			// The last 64-hex element is the container (a pod's pause
			// container id never precedes it in one path).
			ids := reHex64.FindAllString(s, -1)
			if len(ids) > 0 {
				cg.ContainerID = ids[len(ids)-1]
				if m := reRuntime.FindStringSubmatch(s); m != nil {
					cg.Runtime = runtimeName(m[1])
				} else if strings.Contains(s, "/docker/") {
					cg.Runtime = "docker"
				}
			}
		}
	}
	return cg
}

func runtimeName(s string) string {
	switch s {
	case "cri-containerd", "containerd":
		return "containerd"
	case "crio":
		return "cri-o"
	case "libpod":
		return "podman"
	}
	return s
}

// Cmdline is what a kernel command line says about FIPS.
type Cmdline struct {
	// FIPS is the value of the last fips= parameter, "" when absent.
	FIPS string
	// Boot is the value of boot=, "" when absent.
	Boot string
}

// FIPSOn reports whether the fips= value turns FIPS on as the kernel
// reads it (crypto/fips.c: !!simple_strtol(str, NULL, 0)): any number
// that is not zero.
func (c Cmdline) FIPSOn() bool { return strtolNonZero(c.FIPS) }

// ParseCmdline parses /proc/cmdline or a boot entry's options line.
// Parameters are space-separated; double quotes group (the kernel's
// next_arg); the last fips= wins as it does for __setup handlers.
func ParseCmdline(s string) Cmdline {
	var c Cmdline
	for _, arg := range splitArgs(s) {
		k, v, _ := strings.Cut(arg, "=")
		switch k {
		case "fips":
			c.FIPS = strings.Trim(v, `"`)
		case "boot":
			c.Boot = strings.Trim(v, `"`)
		}
	}
	return c
}

func splitArgs(s string) []string {
	var out []string
	var b strings.Builder
	inQ := false
	for _, r := range s {
		switch {
		case r == '"':
			inQ = !inQ
			b.WriteRune(r)
		case !inQ && (r == ' ' || r == '\t' || r == '\n'):
			if b.Len() > 0 {
				out = append(out, b.String())
				b.Reset()
			}
		default:
			b.WriteRune(r)
		}
		if len(out) > 4096 {
			break
		}
	}
	if b.Len() > 0 {
		out = append(out, b.String())
	}
	return out
}

// strtolNonZero mimics simple_strtol(s, NULL, 0) != 0: optional sign,
// 0x hex, leading 0 octal, else decimal; parsing stops at the first
// invalid digit.
func strtolNonZero(s string) bool {
	s = strings.TrimLeft(s, "+-")
	base := 10
	switch {
	case strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X"):
		s, base = s[2:], 16
	case strings.HasPrefix(s, "0"):
		base = 8
	}
	for _, r := range s {
		d := -1
		switch {
		case r >= '0' && r <= '9':
			d = int(r - '0')
		case r >= 'a' && r <= 'f':
			d = int(r-'a') + 10
		case r >= 'A' && r <= 'F':
			d = int(r-'A') + 10
		}
		if d < 0 || d >= base {
			return false
		}
		if d != 0 {
			return true
		}
	}
	return false
}

// ParseOSRelease parses os-release(5): KEY=value lines, values optionally
// quoted. Unknown lines are ignored.
func ParseOSRelease(data []byte) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		m[k] = v
	}
	return m
}
