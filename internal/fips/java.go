package fips

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"github.com/kensa-project/kensa/internal/lazyre"
)

// Java is judged by what a JVM would load, read without running it:
//
//   - a JDK's security configuration (conf/security/java.security, or
//     lib/security/java.security before Java 9): which providers are
//     configured, and whether one is a FIPS provider (RHEL's
//     SunPKCS11-NSS-FIPS, Bouncy Castle's BouncyCastleFipsProvider),
//     first in the list (on by default) or in the fips.provider.N list
//     RHEL's OpenJDK switches to when the host runs in FIPS mode. Result
//     kind java-runtime, backend java-jdk.
//   - Bouncy Castle inside jars, wars, ears and fat jars (Spring Boot's
//     BOOT-INF/lib, WEB-INF/lib): the FIPS edition bc-fips (backend
//     bc-fips, placed by the module table by its version) or the ordinary
//     provider bcprov (backend bcprov, never validated). The zip central
//     directory is streamed one entry at a time (zipEntries; archive/zip
//     keeps every entry, tens of MiB for big fat jars); only
//     pom.properties entries are opened, capped; nested jars are judged
//     by their names. Result kind jar.

// Backends and kinds of Java results.
const (
	BackendJavaJDK = "java-jdk"
	BackendBCFIPS  = "bc-fips"
	BackendBCProv  = "bcprov"

	KindJavaRuntime = "java-runtime"
	KindJar         = "jar"
)

// Caps on Java archives.
const (
	maxJarSize    = 4 << 30
	maxJarEntries = 200000
	maxPomProps   = 4 << 10
	maxJavaSec    = 1 << 20
)

// javaKind names the Java result kind for a file name, or "".
func javaKind(name string) string {
	switch {
	case name == "java.security":
		return KindJavaRuntime
	case strings.HasSuffix(name, ".jar"), strings.HasSuffix(name, ".war"), strings.HasSuffix(name, ".ear"):
		return KindJar
	}
	return ""
}

var (
	reBCFIPSJar = lazyre.New(`(?:^|/)bc-fips-(\d+(?:\.\d+){1,3})\.jar$`)
	reBCProvJar = lazyre.New(`(?:^|/)bcprov-(?:ext-)?(?:jdk1\d+on|jdk18on|jdk15to18|jdk14|jdk16)?-?(\d+(?:\.\d+){0,3})\.jar$`)
)

// ClassifyJava classifies a jar/war/ear or a java.security file. ok is
// false for an archive with no Bouncy Castle in it, which a directory
// walk leaves out (unless named).
func (c *Classifier) ClassifyJava(shown string, r io.ReaderAt, size int64, kind string) (res Result, ok bool) {
	res = Result{Path: shown, Kind: kind, Language: "java", Crypto: []string{}, Modules: []Module{}, Reasons: []string{}}
	defer func() {
		if p := recover(); p != nil {
			res, ok = unreadableResult(shown, fmt.Sprintf("corrupt archive (%v)", p)), true
			res.Kind = KindUnreadable
		}
	}()
	if kind == KindJavaRuntime {
		return c.javaSecurity(res, r, size), true
	}
	if size > maxJarSize {
		return unreadableResult(shown, fmt.Sprintf("archive of %d bytes, more than kensa reads", size)), true
	}
	var fipsVers, provVers []string
	add := func(list *[]string, v string) {
		if !slices.Contains(*list, v) && len(*list) < 16 {
			*list = append(*list, v)
		}
	}
	// The archive's own name counts (bc-fips-2.1.0.jar scanned alone).
	own := ""
	if m := reBCFIPSJar.FindStringSubmatch(path.Base(shown)); m != nil {
		own = m[1]
	} else if m := reBCProvJar.FindStringSubmatch(path.Base(shown)); m != nil {
		own = m[1]
	}
	entries := 0
	err := zipEntries(r, size, maxJarEntries+1, func(nb []byte, open func() (io.Reader, error)) bool {
		if entries++; entries > maxJarEntries {
			res.Reasons = append(res.Reasons, fmt.Sprintf("only the first %d entries were read", maxJarEntries))
			return false
		}
		// Only names that can matter become strings: a fat jar has
		// 100,000 class files.
		if !bytes.HasPrefix(nb, []byte("META-INF/maven/org.bouncycastle/")) && !bytes.HasPrefix(nb, []byte("org/bouncycastle/")) &&
			!(bytes.HasSuffix(nb, []byte(".jar")) && bytes.Contains(nb, []byte("bc"))) {
			return true
		}
		n := string(nb)
		switch {
		case n == "META-INF/maven/org.bouncycastle/bc-fips/pom.properties":
			add(&fipsVers, pomVersion(open))
		case strings.HasPrefix(n, "META-INF/maven/org.bouncycastle/bcprov-") && strings.HasSuffix(n, "/pom.properties"):
			add(&provVers, pomVersion(open))
		case n == "org/bouncycastle/crypto/fips/FipsStatus.class":
			add(&fipsVers, own)
		case n == "org/bouncycastle/jce/provider/BouncyCastleProvider.class":
			add(&provVers, own)
		case strings.HasSuffix(n, ".jar"):
			if m := reBCFIPSJar.FindStringSubmatch(n); m != nil {
				add(&fipsVers, m[1])
			} else if m := reBCProvJar.FindStringSubmatch(n); m != nil {
				add(&provVers, m[1])
			}
		}
		return true
	})
	if err != nil {
		return unreadableResult(shown, "not a readable zip archive: "+err.Error()), true
	}
	fipsVers, provVers = dropEmpty(fipsVers), dropEmpty(provVers)
	if len(fipsVers) == 0 && len(provVers) == 0 {
		res.Verdict = NotApplicable
		res.Reasons = append([]string{"no Bouncy Castle provider in the archive (Java's own crypto is judged by the JDK's java.security)"}, res.Reasons...)
		return res, false
	}
	var hits []hit
	for _, v := range fipsVers {
		hits = append(hits, c.bcFIPSHit(v))
	}
	for _, v := range provVers {
		hits = append(hits, hit{backend: BackendBCProv, verdict: Noncompliant,
			module:  Module{Backend: BackendBCProv, Name: "Bouncy Castle provider (bcprov)", Version: v, Status: StatusNotValidated},
			reasons: []string{fmt.Sprintf("carries the ordinary Bouncy Castle provider bcprov%s: not a validated module (the FIPS edition is bc-fips)", verSuffix(v))}})
	}
	return finishHits(res, hits), true
}

func dropEmpty(vs []string) []string {
	if len(vs) > 1 {
		vs = slices.DeleteFunc(vs, func(s string) bool { return s == "" })
	}
	return vs
}

func verSuffix(v string) string {
	if v == "" {
		return ""
	}
	return " " + v
}

// pomVersion reads version= from a pom.properties entry (capped).
func pomVersion(open func() (io.Reader, error)) string {
	rc, err := open()
	if err != nil {
		return ""
	}
	data, _ := io.ReadAll(io.LimitReader(rc, maxPomProps))
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "version="); ok && len(v) < 40 {
			return v
		}
	}
	return ""
}

// bcFIPSHit places a bc-fips version by the module table.
func (c *Classifier) bcFIPSHit(v string) hit {
	h := hit{backend: BackendBCFIPS, verdict: Noncompliant,
		module: Module{Backend: BackendBCFIPS, Name: "Bouncy Castle FIPS Java API (bc-fips)", Version: v, Status: StatusUnknown}}
	row := lookupVersions(BackendBCFIPS, "", v)
	if row == nil {
		what := "of unknown version"
		if v != "" {
			what = v + ", a version kensa's module table places under no certificate"
		}
		h.reasons = []string{"carries bc-fips " + what + ": not a validated module kensa can name"}
		return h
	}
	m, verdict, reasons := c.evalRow(row, v)
	m.Backend = BackendBCFIPS
	h.module, h.reasons = m, reasons
	if verdict == Compliant {
		// BC-FJA runs its approved mode only when asked.
		h.verdict = Conditional
		h.reasons[0] = "carries " + h.reasons[0] + "; compliant when it is the JVM's provider in approved-only mode (-Dorg.bouncycastle.fips.approved_only=true)"
	} else {
		h.reasons[0] = "carries " + h.reasons[0]
	}
	return h
}

// finishHits fills res from hits, worst first (as Classify does).
func finishHits(res Result, hits []hit) Result {
	slices.SortStableFunc(hits, func(a, b hit) int { return b.verdict.Rank() - a.verdict.Rank() })
	res.Verdict = hits[0].verdict
	notes := res.Reasons
	res.Reasons = nil
	for _, h := range hits {
		if !slices.Contains(res.Crypto, h.backend) {
			res.Crypto = append(res.Crypto, h.backend)
		}
		res.Modules = append(res.Modules, h.module)
		for _, r := range h.reasons {
			if !slices.Contains(res.Reasons, r) {
				res.Reasons = append(res.Reasons, r)
			}
		}
	}
	slices.Sort(res.Crypto)
	res.Reasons = append(res.Reasons, notes...)
	return res
}

// javaSecurity judges a JDK's java.security.
func (c *Classifier) javaSecurity(res Result, r io.ReaderAt, size int64) Result {
	res.Crypto = []string{BackendJavaJDK}
	data := make([]byte, min(size, maxJavaSec))
	n, _ := r.ReadAt(data, 0)
	data = data[:n]
	var providers, fipsProviders []string
	sysProps := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch {
		case strings.HasPrefix(k, "security.provider.") && len(providers) < 64:
			providers = append(providers, v)
		case strings.HasPrefix(k, "fips.provider.") && len(fipsProviders) < 64:
			fipsProviders = append(fipsProviders, v)
		case k == "security.useSystemPropertiesFile":
			sysProps = v == "true"
		}
	}
	isFIPS := func(p string) bool {
		// SunPKCS11-NSS-FIPS, "SunPKCS11 ${java.home}/conf/security/nss.fips.cfg",
		// org.bouncycastle.jcajce.provider.BouncyCastleFipsProvider.
		return strings.Contains(strings.ToLower(p), "fips")
	}
	mod := Module{Backend: BackendJavaJDK, Name: "JDK security providers", Status: StatusNotValidated}
	switch {
	case len(providers) > 0 && isFIPS(providers[0]):
		mod.Name, mod.Status = firstField(providers[0]), StatusUnknown
		res.Verdict = Conditional
		res.Reasons = []string{fmt.Sprintf("the first security provider is a FIPS provider (%s), on by default: compliant when the module behind it (NSS softoken, bc-fips) is a validated build and the host runs in FIPS mode", providers[0])}
	case slices.ContainsFunc(fipsProviders, isFIPS):
		i := slices.IndexFunc(fipsProviders, isFIPS)
		mod.Name, mod.Status = firstField(fipsProviders[i]), StatusUnknown
		res.Verdict = Conditional
		why := "fips.provider list"
		if sysProps {
			why += " (security.useSystemPropertiesFile=true: the JDK follows the system crypto policy)"
		}
		res.Reasons = []string{fmt.Sprintf("the JDK switches to its %s, with the FIPS provider %s, only when the host runs in FIPS mode (RHEL's OpenJDK): compliant when the host runs in FIPS mode and the NSS build is a validated one", why, fipsProviders[i])}
	default:
		res.Verdict = Noncompliant
		shown := providers
		if len(shown) > 4 {
			shown = append(shown[:4:4], "…")
		}
		res.Reasons = []string{fmt.Sprintf("no FIPS provider is configured (providers: %s): the JDK's own providers are not a validated module", strings.Join(shown, ", "))}
	}
	res.Modules = []Module{mod}
	return res
}

func firstField(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return s
}
