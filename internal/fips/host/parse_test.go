package host

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseMaps(t *testing.T) {
	data := "55d0c0a00000-55d0c0a01000 r--p 00000000 fd:00 123 /usr/bin/app\n" +
		"7f0000000000-7f0000100000 r-xp 00000000 fd:00 456 /usr/lib64/libcrypto.so.3.0.7\n" +
		"7f0000100000-7f0000200000 r--p 00100000 fd:00 456 /usr/lib64/libcrypto.so.3.0.7\n" +
		"7f0000200000-7f0000300000 r-xp 00000000 fd:00 789 /usr/lib64/ossl-modules/fips.so (deleted)\n" +
		"7f0000300000-7f0000400000 r-xp 00000000 fd:00 790 /opt/my app/lib/libssl.so.3\n" +
		"7f0000400000-7f0000500000 r-xp 00000000 fd:00 791 /usr/lib64/ossl-modules/legacy.so\n" +
		"7f0000500000-7f0000600000 r-xp 00000000 fd:00 792 /usr/lib/fips.so\n" +
		"7f0000600000-7f0000700000 rw-p 00000000 00:00 0 \n" +
		"7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]\n" +
		"garbage line\n" +
		"7f0000800000-7f0000900000 r-xp 00000000 fd:00 793 /usr/lib/x86_64-linux-gnu/libgnutls.so.30.37.1"
	got := ParseMaps([]byte(data))
	want := []Mapped{
		{Path: "/usr/lib64/libcrypto.so.3.0.7", Role: "libcrypto"},
		{Path: "/usr/lib64/ossl-modules/fips.so", Role: "fips-provider", Deleted: true},
		{Path: "/opt/my app/lib/libssl.so.3", Role: "libssl"},
		{Path: "/usr/lib64/ossl-modules/legacy.so", Role: "legacy-provider"},
		{Path: "/usr/lib/fips.so", Role: "fips-provider"},
		{Path: "/usr/lib/x86_64-linux-gnu/libgnutls.so.30.37.1", Role: "gnutls"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestParseEnviron(t *testing.T) {
	got := ParseEnviron([]byte("PATH=/bin\x00GODEBUG=x=1,fips140=off\x00GODEBUG=fips140=on\x00OPENSSL_FORCE_FIPS_MODE=\x00=odd\x00noequals\x00GOFIPS=0"))
	if got["GODEBUG"] != "x=1,fips140=off" || got["GOFIPS"] != "0" || len(got) != 3 {
		t.Errorf("got %v", got)
	}
	if v, ok := got["OPENSSL_FORCE_FIPS_MODE"]; !ok || v != "" {
		t.Errorf("OPENSSL_FORCE_FIPS_MODE set but empty must be kept (presence decides on RHEL): %v", got)
	}
}

func TestParseCgroup(t *testing.T) {
	id := strings.Repeat("0123456789abcdef", 4)
	for _, c := range []struct{ in, id, pod, rt string }{
		{"0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod3f8e2c1a_5b6d_4e7f_8a9b_0c1d2e3f4a5b.slice/cri-containerd-" + id + ".scope\n", id, "3f8e2c1a-5b6d-4e7f-8a9b-0c1d2e3f4a5b", "containerd"},
		{"12:memory:/kubepods/burstable/pod3f8e2c1a-5b6d-4e7f-8a9b-0c1d2e3f4a5b/" + id + "\n", id, "3f8e2c1a-5b6d-4e7f-8a9b-0c1d2e3f4a5b", ""},
		{"0::/kubepods.slice/kubepods-pod3f8e2c1a_5b6d_4e7f_8a9b_0c1d2e3f4a5b.slice/crio-" + id + ".scope\n", id, "3f8e2c1a-5b6d-4e7f-8a9b-0c1d2e3f4a5b", "cri-o"},
		{"0::/system.slice/docker-" + id + ".scope\n", id, "", "docker"},
		{"4:cpu:/docker/" + id + "\n", id, "", "docker"},
		{"0::/machine.slice/libpod-" + id + ".scope/container\n", id, "", "podman"},
		{"0::/user.slice/user-1000.slice/session-2.scope\n", "", "", ""},
		{"0::/init.scope", "", "", ""},
	} {
		got := ParseCgroup([]byte(c.in))
		if got.ContainerID != c.id || got.PodUID != c.pod || got.Runtime != c.rt {
			t.Errorf("%q: got %+v, want id %q pod %q runtime %q", c.in, got, c.id, c.pod, c.rt)
		}
	}
}

func TestParseCmdline(t *testing.T) {
	for _, c := range []struct {
		in   string
		fips string
		on   bool
		boot string
	}{
		{"ro root=/dev/sda1 fips=1 boot=UUID=abc", "1", true, "UUID=abc"},
		{"fips=0", "0", false, ""},
		{"fips=1 fips=0", "0", false, ""},
		{"fips=0x1", "0x1", true, ""},
		{"fips=01", "01", true, ""},
		{"fips=08", "08", false, ""}, // octal: 8 is not a digit
		{"fips=yes", "yes", false, ""},
		{`foo="a fips=1 b" quiet`, "", false, ""},
		{"nofips=1 xfips=1", "", false, ""},
	} {
		got := ParseCmdline(c.in)
		if got.FIPS != c.fips || got.FIPSOn() != c.on || got.Boot != c.boot {
			t.Errorf("%q: got %+v on=%v", c.in, got, got.FIPSOn())
		}
	}
}

func TestOSSLConf(t *testing.T) {
	c := parseOSSLConf([]byte(`
config_diagnostics = 1
openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
alg_section = algs
[algs]
default_properties = "fips=yes"
[provider_sect]
fips = fips_sect
base = base_sect
[base_sect]
activate = 1
[fips_sect]
activate = 1 # comment
module-mac = AA:BB
`))
	p := c.providers()
	if !p.FIPSActive || !p.DefaultFIPS || p.FIPSSection != "fips_sect" || c.Sections["fips_sect"]["module-mac"] != "AA:BB" {
		t.Errorf("got %+v %v", p, c.Sections)
	}
	// RHEL's file: fips commented out.
	c = parseOSSLConf([]byte("openssl_conf = openssl_init\n[openssl_init]\nproviders = provider_sect\n[provider_sect]\ndefault = default_sect\n##fips = fips_sect\n[default_sect]\nactivate = 1\n"))
	if p := c.providers(); p.FIPSActive || len(p.Activated) != 1 {
		t.Errorf("RHEL layout: %+v", p)
	}
}

func FuzzParseMaps(f *testing.F) {
	f.Add([]byte("7f0000000000-7f0000100000 r-xp 00000000 fd:00 456 /usr/lib64/libcrypto.so.3\n"))
	f.Add([]byte("a b c d e /usr/lib/ossl-modules/fips.so (deleted)\n\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ms := ParseMaps(data)
		if len(ms) > maxMapped {
			t.Fatalf("%d mappings kept", len(ms))
		}
		for _, m := range ms {
			if m.Role == "" || !strings.HasPrefix(m.Path, "/") {
				t.Fatalf("bad mapping %+v", m)
			}
		}
	})
}

func FuzzParseEnviron(f *testing.F) {
	f.Add([]byte("GODEBUG=fips140=on\x00GOFIPS=1\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for k, v := range ParseEnviron(data) {
			if len(v) > 4096 || k == "" {
				t.Fatalf("%q=%q", k, v)
			}
		}
	})
}

func FuzzParseCgroup(f *testing.F) {
	f.Add([]byte("0::/kubepods.slice/kubepods-pod3f8e2c1a_5b6d_4e7f_8a9b_0c1d2e3f4a5b.slice/crio-" + strings.Repeat("ab", 32) + ".scope\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := ParseCgroup(data)
		if c.ContainerID != "" && len(c.ContainerID) != 64 {
			t.Fatalf("id %q", c.ContainerID)
		}
		if c.PodUID != "" && len(c.PodUID) != 36 {
			t.Fatalf("pod %q", c.PodUID)
		}
	})
}

func FuzzParseCmdline(f *testing.F) {
	f.Add("ro fips=1 boot=UUID=x")
	f.Add(`a="fips=1`)
	f.Fuzz(func(t *testing.T, s string) {
		c := ParseCmdline(s)
		if !strings.Contains(s, "fips=") && c.FIPS != "" {
			t.Fatalf("fips %q from %q", c.FIPS, s)
		}
		_ = c.FIPSOn()
	})
}

func FuzzOSSLConf(f *testing.F) {
	f.Add([]byte("openssl_conf = a\n[a]\nproviders = p\n[p]\nfips = s\n[s]\nactivate = 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := parseOSSLConf(data).providers()
		if p.FIPSActive && p.FIPSSection == "" {
			t.Fatal("active without a section")
		}
		_ = utf8.Valid(data)
	})
}
