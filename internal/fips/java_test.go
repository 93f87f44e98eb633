package fips

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/kensa-project/kensa/internal/rootfs"
	"github.com/kensa-project/kensa/internal/testenv"
)

// jar writes a zip archive with the given entries (name → contents).
func jar(t *testing.T, p string, entries map[string]string) {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, n := range slices.Sorted(func(yield func(string) bool) {
		for k := range entries {
			if !yield(k) {
				return
			}
		}
	}) {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(entries[n]))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestJava: jars, fat jars and java.security files found by a directory
// walk (they have no execute bit), with the verdict model of ELF files.
func TestJava(t *testing.T) {
	dir := t.TempDir()
	jar(t, filepath.Join(dir, "app/bc-fips-2.1.0.jar"), map[string]string{
		"META-INF/maven/org.bouncycastle/bc-fips/pom.properties": "artifactId=bc-fips\nversion=2.1.0\n",
		"org/bouncycastle/crypto/fips/FipsStatus.class":          "x",
	})
	jar(t, filepath.Join(dir, "app/service.jar"), map[string]string{ // a Spring Boot fat jar
		"BOOT-INF/lib/bcprov-jdk18on-1.78.1.jar": "nested",
		"BOOT-INF/lib/spring-core-6.1.0.jar":     "nested",
	})
	jar(t, filepath.Join(dir, "app/web.war"), map[string]string{
		"WEB-INF/lib/bc-fips-1.0.2.4.jar": "nested",
	})
	jar(t, filepath.Join(dir, "app/plain.jar"), map[string]string{"com/example/Main.class": "x"})
	os.WriteFile(filepath.Join(dir, "app/broken.jar"), []byte("PK\x03\x04 truncated"), 0o644)
	rhel := "security.provider.1=SUN\nsecurity.provider.2=SunRsaSign\nsecurity.useSystemPropertiesFile=true\n" +
		"fips.provider.1=SunPKCS11 ${java.home}/conf/security/nss.fips.cfg\nfips.provider.2=SUN\n"
	os.MkdirAll(filepath.Join(dir, "jdk-rhel/conf/security"), 0o755)
	os.WriteFile(filepath.Join(dir, "jdk-rhel/conf/security/java.security"), []byte(rhel), 0o644)
	os.MkdirAll(filepath.Join(dir, "jdk/conf/security"), 0o755)
	os.WriteFile(filepath.Join(dir, "jdk/conf/security/java.security"), []byte("# upstream\nsecurity.provider.1=SUN\nsecurity.provider.2=SunRsaSign\nsecurity.provider.3=SunEC\n"), 0o644)

	c := NewClassifier(rootfs.Dir(dir), Options{At: now})
	got := map[string]Result{}
	c.Walk(t.Context(), []string{dir}, WalkOptions{RootDir: dir}, func(r Result) {
		rel, _ := filepath.Rel(dir, r.Path)
		got[rel] = r
	}, func(e WalkError) { t.Errorf("walk error %v", e) })
	for _, tt := range []struct {
		path, kind string
		crypto     []string
		verdict    Verdict
		reason     string
	}{
		{"app/bc-fips-2.1.0.jar", KindJar, []string{BackendBCFIPS}, Conditional, "certificate #4943"},
		{"app/service.jar", KindJar, []string{BackendBCProv}, Noncompliant, "bcprov 1.78.1"},
		{"app/web.war", KindJar, []string{BackendBCFIPS}, Noncompliant, "on the CMVP Historical list since 2024-09-10"},
		{"app/broken.jar", KindUnreadable, []string{}, Unreadable, "not a readable zip archive"},
		{"jdk-rhel/conf/security/java.security", KindJavaRuntime, []string{BackendJavaJDK}, Conditional, "SunPKCS11 ${java.home}/conf/security/nss.fips.cfg"},
		{"jdk/conf/security/java.security", KindJavaRuntime, []string{BackendJavaJDK}, Noncompliant, "no FIPS provider is configured"},
	} {
		r, ok := got[tt.path]
		if !ok {
			t.Errorf("%s: no result", tt.path)
			continue
		}
		if r.Kind != tt.kind || r.Verdict != tt.verdict || !slices.Equal(r.Crypto, tt.crypto) || !hasReason(r, tt.reason) {
			t.Errorf("%s: kind %s, verdict %s, crypto %v, reasons %q; want %s, %s, %v, one containing %q", tt.path, r.Kind, r.Verdict, r.Crypto, r.Reasons, tt.kind, tt.verdict, tt.crypto, tt.reason)
		}
	}
	if _, ok := got["app/plain.jar"]; ok {
		t.Error("a jar without Bouncy Castle gave a result in a walk")
	}
}

// TestDebianBCProv: Debian's bcprov jar (libbcprov-java) is the ordinary
// provider, with its version from its name.
func TestDebianBCProv(t *testing.T) {
	p := "/usr/share/java/bcprov-1.72.jar"
	testenv.NeedFile(t, p, "libbcprov-java")
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	r, _ := NewClassifier(rootfs.Dir("/"), Options{At: now}).ClassifyJava(p, f, st.Size(), KindJar)
	if r.Verdict != Noncompliant || !slices.Equal(r.Crypto, []string{BackendBCProv}) || len(r.Modules) != 1 || r.Modules[0].Version != "1.72" {
		t.Errorf("verdict %s, crypto %v, modules %+v (%q)", r.Verdict, r.Crypto, r.Modules, r.Reasons)
	}
}

// FuzzJar: the zip central directory reader never panics on hostile
// archives (ClassifyJava recovers; a recovered panic is still a bug).
func FuzzJar(f *testing.F) {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, _ := zw.Create("META-INF/maven/org.bouncycastle/bc-fips/pom.properties")
	w.Write([]byte("version=2.1.0\n"))
	zw.Create("BOOT-INF/lib/bcprov-jdk18on-1.78.jar")
	zw.Close()
	f.Add(b.Bytes())
	f.Add([]byte("PK\x05\x06" + string(make([]byte, 18))))
	c := NewClassifier(rootfs.Dir(f.TempDir()), Options{At: now})
	f.Fuzz(func(t *testing.T, data []byte) {
		r, _ := c.ClassifyJava("x.jar", bytes.NewReader(data), int64(len(data)), KindJar)
		if len(r.Reasons) > 0 && bytes.HasPrefix([]byte(r.Reasons[0]), []byte("unreadable: corrupt archive (")) {
			t.Fatalf("ClassifyJava panicked: %s", r.Reasons[0])
		}
		c.ClassifyJava("java.security", bytes.NewReader(data), int64(len(data)), KindJavaRuntime)
	})
}

// FuzzZipEntries: the streaming central directory reader never panics
// and never visits more entries than asked.
func FuzzZipEntries(f *testing.F) {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, _ := zw.Create("META-INF/maven/org.bouncycastle/bc-fips/pom.properties")
	w.Write([]byte("version=2.1.0\n"))
	zw.Close()
	f.Add(b.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		n := 0
		zipEntries(bytes.NewReader(data), int64(len(data)), 100, func(_ []byte, open func() (io.Reader, error)) bool {
			n++
			if rd, err := open(); err == nil {
				io.Copy(io.Discard, io.LimitReader(rd, 1<<16))
			}
			return true
		})
		if n > 100 {
			t.Fatalf("%d entries", n)
		}
	})
}
