package cli

import (
	"archive/zip"
	"bytes"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/kensa-project/kensa/internal/image/imagetest"
	"github.com/kensa-project/kensa/internal/testenv"
)

// zipOf is a zip archive of entries (name, contents), in order.
func zipOf(t *testing.T, entries ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for i := 0; i+1 < len(entries); i += 2 {
		w, err := zw.Create(entries[i])
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(entries[i+1]))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestFipsScanImageJava: Java in an image is judged as in a directory:
// a JRE's conf/security/java.security (RHEL's with its fips.provider
// list: conditional; upstream's: noncompliant), Bouncy Castle jars
// (bc-fips by its version; bcprov in a fat jar and Debian's real
// bcprov jar: noncompliant), in the image's final filesystem (a jar
// deleted by an upper layer is gone), from a registry and from an OCI
// layout. A jar without Bouncy Castle gives no result.
func TestFipsScanImageJava(t *testing.T) {
	const debianBC = "/usr/share/java/bcprov-1.72.jar"
	testenv.NeedFile(t, debianBC, "libbcprov-java")
	host := "linux/" + runtime.GOARCH
	rhel := "security.provider.1=SUN\nsecurity.provider.2=SunRsaSign\nsecurity.useSystemPropertiesFile=true\n" +
		"fips.provider.1=SunPKCS11 ${java.home}/conf/security/nss.fips.cfg\nfips.provider.2=SUN\n"
	upstream := "# upstream\nsecurity.provider.1=SUN\nsecurity.provider.2=SunRsaSign\nsecurity.provider.3=SunEC\n"
	img := imagetest.Image(t, host, []string{"JAVA_HOME=/usr/lib/jvm/jre-17"},
		imagetest.Layer(t,
			imagetest.File("usr/lib/jvm/jre-17/conf/security/java.security", []byte(rhel)),
			imagetest.File("opt/jdk-21/conf/security/java.security", []byte(upstream)),
			imagetest.File("app/lib/bc-fips-2.1.0.jar", zipOf(t,
				"META-INF/maven/org.bouncycastle/bc-fips/pom.properties", "artifactId=bc-fips\nversion=2.1.0\n",
				"org/bouncycastle/crypto/fips/FipsStatus.class", "x")),
			imagetest.File("app/service.jar", zipOf(t,
				"BOOT-INF/lib/spring-core-6.1.0.jar", "nested",
				"BOOT-INF/lib/bcprov-jdk18on-1.78.1.jar", "nested")),
			imagetest.File("app/plain.jar", zipOf(t, "com/example/Main.class", "x")),
			imagetest.File("app/old/bcprov-jdk15on-1.70.jar", zipOf(t,
				"org/bouncycastle/jce/provider/BouncyCastleProvider.class", "x")),
			imagetest.HostFile("usr/share/java/bcprov-1.72.jar", debianBC),
		),
		imagetest.Layer(t, imagetest.Whiteout("app/old")),
	)
	reg := imagetest.Registry(t)
	imagetest.Push(t, reg+"/java:1", img)
	layout := filepath.Join(t.TempDir(), "layout")
	imagetest.Layout(t, layout, "java", img)

	want := []string{
		host + " /app/lib/bc-fips-2.1.0.jar conditional",
		host + " /app/service.jar noncompliant",
		host + " /opt/jdk-21/conf/security/java.security noncompliant",
		host + " /usr/lib/jvm/jre-17/conf/security/java.security conditional",
		host + " /usr/share/java/bcprov-1.72.jar noncompliant",
	}
	for _, tt := range []struct{ name, ref string }{
		{"registry", "registry:" + reg + "/java:1"},
		{"oci layout", "oci-layout:" + layout + ":java"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, rep, stderr := scanJSON(t, tt.ref)
			if code != 1 {
				t.Errorf("exit %d, want 1 (noncompliant results)\n%s", code, stderr)
			}
			if diff := cmp.Diff(want, rep.verdicts()); diff != "" {
				t.Errorf("results (-want +got):\n%s", diff)
			}
			kinds := map[string]string{}
			for _, r := range rep.Results {
				kinds[r.Path] = r.Kind
			}
			if kinds["/usr/lib/jvm/jre-17/conf/security/java.security"] != "java-runtime" || kinds["/app/service.jar"] != "jar" {
				t.Errorf("kinds %v: want java-runtime and jar", kinds)
			}
			for p, sub := range map[string]string{
				"/usr/lib/jvm/jre-17/conf/security/java.security": "nss.fips.cfg",
				"/app/lib/bc-fips-2.1.0.jar":                      "certificate #4943",
				"/app/service.jar":                                "bcprov 1.78.1",
				"/usr/share/java/bcprov-1.72.jar":                 "bcprov 1.72",
			} {
				if !bytes.Contains([]byte(rep.reasons(p)), []byte(sub)) {
					t.Errorf("%s: reasons %q, want %q", p, rep.reasons(p), sub)
				}
			}
		})
	}
}

// TestFipsScanImageDistribution: the image's os-release decides which
// distribution's rows place its GnuTLS: Debian's real libgnutls with an
// integrity file beside it is noncompliant in an image that says Debian
// (with the reason that Debian's builds are not validated) and, in one
// that says RHEL 9, is matched against RHEL 9's rows (which cover GnuTLS
// 3.7.6, not Debian's version).
func TestFipsScanImageDistribution(t *testing.T) {
	const lib = "/usr/lib/x86_64-linux-gnu/libgnutls.so.30"
	testenv.NeedFile(t, lib, "libgnutls30")
	host := "linux/" + runtime.GOARCH
	reg := imagetest.Registry(t)
	for _, tt := range []struct{ name, osRelease, reason string }{
		{"debian", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n", "Debian GNU/Linux 12 (bookworm) builds these libraries without a FIPS 140 validation"},
		{"rhel", "NAME=\"Red Hat Enterprise Linux\"\nID=\"rhel\"\nVERSION_ID=\"9.2\"\nPRETTY_NAME=\"Red Hat Enterprise Linux 9.2 (Plow)\"\n", "on Red Hat Enterprise Linux 9.2 (Plow) has its FIPS integrity file (.libgnutls.so.30.hmac), but kensa's module table places no Red Hat Enterprise Linux 9.2 (Plow) build of this version under a certificate (rows cover 3.7.6)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			img := imagetest.Image(t, host, nil, imagetest.Layer(t,
				imagetest.File("usr/lib/os-release", []byte(tt.osRelease)),
				imagetest.Symlink("etc/os-release", "../usr/lib/os-release"),
				imagetest.HostFile("usr/lib64/libgnutls.so.30", lib),
				imagetest.File("usr/lib64/.libgnutls.so.30.hmac", []byte("0123456789abcdef\n")),
			))
			imagetest.Push(t, reg+"/gnutls:"+tt.name, img)
			code, rep, stderr := scanJSON(t, "registry:"+reg+"/gnutls:"+tt.name)
			if code != 1 {
				t.Errorf("exit %d, want 1\n%s", code, stderr)
			}
			if got := rep.reasons("/usr/lib64/libgnutls.so.30"); !bytes.Contains([]byte(got), []byte(tt.reason)) {
				t.Errorf("reasons %q, want %q", got, tt.reason)
			}
		})
	}
}
