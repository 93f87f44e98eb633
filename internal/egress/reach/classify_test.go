package reach

import (
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClassifyHTTP(t *testing.T) {
	tests := []struct {
		name   string
		status int
		header http.Header
		body   string
		host   string
		kind   string
	}{
		{"azure firewall 470", 470, nil, "Action: Deny. Reason: No rule matched. Proceeding with default action.", "pypi.org", AnswerAzureFirewall},
		{"azure firewall old learn body", 403, nil, "HTTP request from 10.0.2.4:51234 to microsoft.com:80. Action: Deny. No rule matched. Proceeding with default action.", "microsoft.com", AnswerAzureFirewall},
		{"azure firewall 470 empty body", 470, nil, "", "x.test", AnswerAzureFirewall},
		{"deny text, any status", 200, nil, "  ACTION: DENY. Reason: web category", "x.test", AnswerAzureFirewall},
		{"a page that mentions it", 200, nil, "<html><body><p>Azure Firewall answers Action: Deny when…</p></body></html>", "x.test", AnswerOrigin},
		{"long body", 200, nil, "Action: Deny" + strings.Repeat(" ", 3000), "x.test", AnswerOrigin},
		{"squid 403", 403, http.Header{"X-Squid-Error": {"ERR_ACCESS_DENIED 0"}}, "<html>denied</html>", "x.test", AnswerSquidDeny},
		{"squid 503 dns", 503, http.Header{"X-Squid-Error": {"ERR_DNS_FAIL 0"}}, "", "x.test", AnswerSquidDeny},
		{"captive 511", 511, nil, "<html>sign in</html>", "x.test", AnswerCaptive},
		{"captive redirect", 302, http.Header{"Location": {"http://wifi.example.net/portal/login?orig=x"}}, "", "x.test", AnswerCaptive},
		{"redirect same site", 301, http.Header{"Location": {"https://www.x.test/login"}}, "", "x.test", AnswerOrigin},
		{"redirect to cdn", 302, http.Header{"Location": {"https://cdn.example.net/files/a.whl"}}, "", "x.test", AnswerOrigin},
		{"origin 401", 401, http.Header{"Www-Authenticate": {"Bearer"}}, "", "registry-1.docker.test", AnswerOrigin},
		{"origin 404", 404, nil, "not found", "x.test", AnswerOrigin},
		{"origin 200", 200, nil, "hello, no deny here", "x.test", AnswerOrigin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.header
			if h == nil {
				h = http.Header{}
			}
			a := ClassifyHTTP(tt.status, h, []byte(tt.body), tt.host)
			if a.Kind != tt.kind || a.Denied != (tt.kind != AnswerOrigin) {
				t.Errorf("ClassifyHTTP = %+v, want %s", a, tt.kind)
			}
			if a.Denied && a.Detail == "" {
				t.Error("a denial without a detail")
			}
		})
	}
	a := ClassifyHTTP(470, http.Header{}, []byte("x\r\nHTTP request from 10.0.2.4:1 to a.test:80. Action: Deny. No rule matched.\r\nmore"), "a.test")
	if !strings.Contains(a.Detail, `"HTTP request from 10.0.2.4:1 to a.test:80. Action: Deny. No rule matched."`) {
		t.Errorf("detail %q does not quote the deny line", a.Detail)
	}
}

func TestParseDest(t *testing.T) {
	tests := []struct {
		in, host, proto string
		port            int
		bad             bool
	}{
		{in: "pypi.org", host: "pypi.org", proto: "https", port: 443},
		{in: "PyPI.org.", host: "pypi.org", proto: "https", port: 443},
		{in: "registry.npmjs.org:443", host: "registry.npmjs.org", proto: "https", port: 443},
		{in: "example.com:80", host: "example.com", proto: "http", port: 80},
		{in: "db.example.com:5432", host: "db.example.com", proto: "tcp", port: 5432},
		{in: "https://pypi.org/simple/requests/", host: "pypi.org", proto: "https", port: 443},
		{in: "http://x.test:8080", host: "x.test", proto: "http", port: 8080},
		{in: "tls://x.test:8443", host: "x.test", proto: "tls", port: 8443},
		{in: "tcp://10.0.0.5:445", host: "10.0.0.5", proto: "tcp", port: 445},
		{in: "[2001:db8::1]:443", host: "2001:db8::1", proto: "https", port: 443},
		{in: "[2001:db8::1]", host: "2001:db8::1", proto: "https", port: 443},
		{in: "", bad: true},
		{in: "ftp://x.test", bad: true},
		{in: "tcp://x.test", bad: true},
		{in: "x.test:0", bad: true},
		{in: "x.test:70000", bad: true},
		{in: "*.x.test", bad: true},
		{in: "a b", bad: true},
		{in: "-x.test", bad: true},
	}
	for _, tt := range tests {
		got, err := ParseDest(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("ParseDest(%q) = %+v, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got.Host != tt.host || got.Protocol != tt.proto || got.Port != tt.port {
			t.Errorf("ParseDest(%q) = %+v, %v; want %s %s %d", tt.in, got, err, tt.host, tt.proto, tt.port)
		}
	}
}

func TestProxyRefusal(t *testing.T) {
	tests := []struct {
		status int
		squid  string
		class  string
	}{
		{403, "ERR_ACCESS_DENIED 0", ClassProxyDenied},
		{407, "ERR_CACHE_ACCESS_DENIED 0", ClassProxyDenied},
		{503, "ERR_DNS_FAIL 0", ClassDNSNXDomain},
		{503, "ERR_CONNECT_FAIL 111", ClassTCPRefused},
		{503, "ERR_CONNECT_FAIL 110", ClassTCPTimeout},
		{502, "", ClassProxyFailed},
	}
	for _, tt := range tests {
		class, detail, _ := proxyRefusal(tt.status, tt.squid, "http://proxy:3128")
		if class != tt.class || detail == "" {
			t.Errorf("proxyRefusal(%d, %q) = %s %q, want %s", tt.status, tt.squid, class, detail, tt.class)
		}
	}
}

// FuzzClassifyHTTP: the deny-page classifier never panics, stays within
// its bounds, and its detail is one printable line of bounded length
// whatever a hostile server answers.
func FuzzClassifyHTTP(f *testing.F) {
	f.Add(470, "", "", []byte("Action: Deny. Reason: No rule matched. Proceeding with default action."), "pypi.org")
	f.Add(403, "ERR_ACCESS_DENIED 0", "", []byte("<html>"), "x.test")
	f.Add(302, "", "http://portal.example/login", []byte{}, "x.test")
	f.Add(302, "", "http://[::1%25zone]:80/", []byte{}, "x.test")
	f.Add(200, "", "", []byte("\x1b[31mAction: Deny\x00\r\n"), "")
	f.Add(511, "\x1b]0;x\x07", "", []byte(strings.Repeat("a", 70000)), "x")
	f.Fuzz(func(t *testing.T, status int, squid, location string, body []byte, host string) {
		h := http.Header{}
		if squid != "" {
			h.Set("X-Squid-Error", squid)
		}
		if location != "" {
			h.Set("Location", location)
		}
		a := ClassifyHTTP(status, h, body, host)
		if a.Denied != (a.Kind != AnswerOrigin) {
			t.Fatalf("Denied %v with kind %s", a.Denied, a.Kind)
		}
		if utf8.RuneCountInString(a.Detail) > 500 {
			t.Fatalf("detail of %d runes", utf8.RuneCountInString(a.Detail))
		}
		for _, r := range a.Detail {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
				t.Fatalf("detail holds control character %q: %q", r, a.Detail)
			}
		}
	})
}

// FuzzParseDest: any --dest value is parsed or refused, never a panic;
// what is accepted round-trips through its address.
func FuzzParseDest(f *testing.F) {
	for _, s := range []string{"pypi.org", "https://x.test:8443/p", "[::1]:443", "tcp://10.0.0.1:1", "a:b:c", "http://[", "%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDest(s)
		if err != nil {
			return
		}
		if d.Port < 1 || d.Port > 65535 || !validHost(d.Host) {
			t.Fatalf("ParseDest(%q) = %+v", s, d)
		}
		again, err := ParseDest(d.Protocol + "://" + d.Address())
		if err != nil || again.Host != d.Host || again.Port != d.Port || again.Protocol != d.Protocol {
			t.Fatalf("ParseDest(%q) = %+v; round trip %+v, %v", s, d, again, err)
		}
	})
}
