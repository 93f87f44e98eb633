package fips

// Distribution builds of GnuTLS, NSS and libgcrypt.
//
// These libraries are validated as a distribution's build (Red Hat
// validates "Red Hat Enterprise Linux 9 gnutls" and so on), never as
// upstream releases, and Debian ships the same integrity files (.hmac,
// .chk) for builds that are not validated at all. Which build a library
// is comes from the root filesystem's os-release (ID, VERSION_ID: the
// distribution) and the library's own version string (GnuTLS's logging
// banner, "This is Libgcrypt 1.10.1", NSS's "Version: NSS 3.87.1"). A
// module table row with "distribution" set covers the builds of that
// distribution (ID, and VERSION_ID by "distribution_versions", exact or
// a prefix ending in "*") whose library version its "versions" list
// covers. Only a row with a certificate whose status is acceptable at
// --at makes such a library conditional; a row without a confirmed
// certificate says what is known and stays noncompliant.

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/kensa-project/kensa/internal/elfx"
	"github.com/kensa-project/kensa/internal/lazyre"
)

// OSRelease is the distribution of a root filesystem, from os-release:
// Dist is its ID ("rhel", "debian"), VersionID its VERSION_ID.
type OSRelease struct {
	Dist, VersionID, PrettyName string
}

// String names the distribution for reasons.
func (o OSRelease) String() string {
	if o.PrettyName != "" {
		return o.PrettyName
	}
	return strings.TrimSpace(o.Dist + " " + o.VersionID)
}

const maxOSRelease = 64 << 10

// parseOSRelease reads the fields kensa uses from an os-release file
// (shell-style KEY=value lines, values optionally quoted).
func parseOSRelease(r io.Reader) OSRelease {
	var o OSRelease
	sc := bufio.NewScanner(io.LimitReader(r, maxOSRelease))
	sc.Buffer(make([]byte, 4096), 4096)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		if len(v) > 200 {
			continue
		}
		switch k {
		case "ID":
			o.Dist = v
		case "VERSION_ID":
			o.VersionID = v
		case "PRETTY_NAME":
			o.PrettyName = v
		}
	}
	return o
}

// osRelease returns the root's distribution, read once: /etc/os-release,
// else /usr/lib/os-release (where /etc/os-release usually links to).
func (c *Classifier) osRelease() OSRelease {
	c.osOnce.Do(func() {
		for _, p := range []string{"/etc/os-release", "/usr/lib/os-release"} {
			f, err := c.root.Open(p)
			if err != nil {
				continue
			}
			c.osr = parseOSRelease(io.NewSectionReader(f, 0, min(f.Size(), maxOSRelease)))
			f.Close()
			if c.osr.Dist != "" {
				return
			}
		}
	})
	return c.osr
}

// covers reports whether the pattern list covers v (exact, or a prefix
// ending in "*").
func covers(patterns []string, v string) bool {
	for _, p := range patterns {
		if pre, ok := strings.CutSuffix(p, "*"); ok && strings.HasPrefix(v, pre) || p == v {
			return true
		}
	}
	return false
}

// distroRows are the module table rows for the builds of backend by the
// distribution o.
func distroRows(backend string, o OSRelease) []*ModuleRow {
	var rows []*ModuleRow
	if o.Dist == "" {
		return nil
	}
	for i := range table().Modules {
		m := &table().Modules[i]
		if m.Backend == backend && m.Distribution == o.Dist && covers(m.DistributionVersions, o.VersionID) {
			rows = append(rows, m)
		}
	}
	return rows
}

var (
	anchorGcryptVer = []byte("This is Libgcrypt ")
	reGcryptVer     = lazyre.New(`^This is Libgcrypt (\d+\.\d+\.\d+)`)
	anchorNSSVer    = []byte("Version: NSS ")
	reNSSVer        = lazyre.New(`^Version: NSS (\d+\.\d+(?:\.\d+)?)`)
)

// scanLibraryVersion reads the version string of a libgcrypt or NSS
// library (by its soname; GnuTLS's comes with its banner): one more pass
// over read-only data, for these few files only.
func (e *EmbeddedFacts) scanLibraryVersion(ef *elfx.File, soname string) {
	var anchor []byte
	var re *lazyre.Regexp
	switch fam := familyOf(soname); {
	case fam == BackendLibgcrypt:
		anchor, re = anchorGcryptVer, reGcryptVer
	case fam == BackendNSS:
		anchor, re = anchorNSSVer, reNSSVer
	default:
		return
	}
	_ = ef.ScanStrings([][]byte{anchor}, maxScan, func(_ int, at []byte) bool {
		if m := re.FindSubmatch(at); m != nil {
			e.LibraryVersion = string(m[1])
			return false
		}
		return true
	})
}

// libraryVersion is the upstream version of a GnuTLS, NSS or libgcrypt
// library from its facts, or "".
func libraryVersion(fam string, lf *Facts) string {
	if lf == nil {
		return ""
	}
	if fam == BackendGnuTLS {
		return lf.Embedded.GnuTLSVersion
	}
	return lf.Embedded.LibraryVersion
}

// distroHit places a GnuTLS, NSS or libgcrypt library that has its
// integrity file (found) by the module table's rows for the root's
// distribution. ok is false when the table has no row for the
// distribution: the caller's general reason stands.
func (c *Classifier) distroHit(fam, lib, base, found string, lf *Facts, via string) (hit, bool) {
	o := c.osRelease()
	rows := distroRows(fam, o)
	if len(rows) == 0 {
		return hit{}, false
	}
	ver := libraryVersion(fam, lf)
	m := Module{Backend: fam, Name: base, Version: ver, Status: StatusNotValidated, Path: lib}
	what := base
	if ver != "" {
		what = fmt.Sprintf("%s (%s %s)", base, fam, ver)
	}
	var row *ModuleRow
	var known []string
	for _, r := range rows {
		known = append(known, r.Versions...)
		if row == nil && ver != "" && covers(r.Versions, ver) {
			row = r
		}
	}
	if row == nil {
		why := "its version is unknown (no version string)"
		if ver != "" {
			why = "kensa's module table places no " + o.String() + " build of this version under a certificate (rows cover " + strings.Join(known, ", ") + ")"
		}
		return hit{backend: fam, module: m, verdict: Noncompliant, via: via,
			reasons: []string{fmt.Sprintf("%s on %s has its FIPS integrity file (%s), but %s: not a validated module", what, o, found, why)}}, true
	}
	if row.Certificate == "" {
		m.Name, m.AsOf = row.Name, row.AsOf
		return hit{backend: fam, module: m, verdict: Noncompliant, via: via,
			reasons: []string{fmt.Sprintf("%s on %s is the build %s published a FIPS security policy for (%s %s), but kensa's module table has no confirmed CMVP certificate for it (%s): not counted as validated",
				what, o, row.Name, row.Name, row.Version, firstNote(row))}}, true
	}
	mm, verdict, reasons := c.evalRow(row, ver)
	mm.Path = lib
	if verdict == Compliant {
		verdict = Conditional
		reasons[0] += "; compliant when the host runs in FIPS mode (the library checks its integrity file " + found + " then)"
	}
	reasons[0] = fmt.Sprintf("%s on %s: %s", what, o, reasons[0])
	return hit{backend: fam, module: mm, verdict: verdict, via: via, reasons: reasons}, true
}

func firstNote(r *ModuleRow) string {
	if len(r.Events) > 0 {
		return r.Events[0].Note
	}
	if len(r.Sources) > 0 {
		return "source: " + r.Sources[0]
	}
	return "no source"
}

// debianNote is added to a Debian library's reason: its integrity files
// are no validation.
func debianNote(o OSRelease) string {
	if o.Dist == "debian" {
		return o.String() + " builds these libraries without a FIPS 140 validation"
	}
	return ""
}
