package cluster

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kensa-project/kensa/internal/fips/cluster/clustertest"
)

// seen is what a test server saw of one request.
type seen struct {
	auth, user, host string
	groups           []string
	clientCN         string
}

// recorder is a TLS API server (a real TLS handshake, asking for a client
// certificate) that records each request, answers an empty NodeList, and
// 401 to the tokens in reject.
type recorder struct {
	srv    *httptest.Server
	mu     sync.Mutex
	seen   []seen
	reject map[string]bool
}

func newRecorder(t *testing.T, useTLS bool) *recorder {
	r := &recorder{reject: map[string]bool{}}
	h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s := seen{auth: req.Header.Get("Authorization"), user: req.Header.Get("Impersonate-User"),
			groups: req.Header.Values("Impersonate-Group"), host: req.Host}
		if req.TLS != nil && len(req.TLS.PeerCertificates) > 0 {
			s.clientCN = req.TLS.PeerCertificates[0].Subject.CommonName
		}
		r.mu.Lock()
		r.seen = append(r.seen, s)
		rejected := r.reject[strings.TrimPrefix(s.auth, "Bearer ")]
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if rejected {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}`)
			return
		}
		fmt.Fprint(w, `{"kind":"NodeList","apiVersion":"v1","metadata":{},"items":[]}`)
	})
	if !useTLS {
		r.srv = httptest.NewServer(h)
	} else {
		r.srv = httptest.NewUnstartedServer(h)
		r.srv.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
		r.srv.StartTLS()
	}
	t.Cleanup(r.srv.Close)
	return r
}

func (r *recorder) last() seen {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.seen) == 0 {
		return seen{}
	}
	return r.seen[len(r.seen)-1]
}

func (r *recorder) caPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.srv.Certificate().Raw})
}

// clientCert makes a self-signed client certificate and key (PEM).
func clientCert(t *testing.T, cn string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}

// kubeconfigFile writes a kubeconfig of one context "c" (cluster and
// user given as YAML mappings, indented by 4) into dir.
func kubeconfigFile(t *testing.T, dir, cluster, user string) string {
	t.Helper()
	p := filepath.Join(dir, "config")
	doc := "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: cl\n  cluster:\n" + cluster +
		"users:\n- name: u\n  user:\n" + user + "contexts:\n- name: c\n  context: {cluster: cl, user: u}\n"
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func writeTestFile(t *testing.T, p string, b []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(p, b, mode); err != nil {
		t.Fatal(err)
	}
}

// call lists nodes through api.
func call(api *API) error {
	var l list[apiNode]
	return api.get(context.Background(), "/api/v1/nodes", &l)
}

// TestKubeconfigAuth: each way a kubeconfig names its server and user
// reaches a real TLS server as it says: CA data and file (relative to the
// kubeconfig), insecure-skip-tls-verify, tls-server-name, token,
// tokenFile, basic auth, client certificate data and files,
// impersonation; and the wrong CA or server name fails.
func TestKubeconfigAuth(t *testing.T) {
	r := newRecorder(t, true)
	ca := r.caPEM()
	cert, key := clientCert(t, "kensa-test")
	server := "    server: " + r.srv.URL + "\n"
	caData := "    certificate-authority-data: " + b64(ca) + "\n"
	wrongCA, _ := clientCert(t, "another CA") // self-signed, not the server's
	for _, tc := range []struct {
		name, cluster, user string
		files               map[string][]byte
		want                seen
		err                 string
	}{
		{name: "token", cluster: server + caData, user: "    token: t1\n", want: seen{auth: "Bearer t1"}},
		{name: "ca file relative", cluster: server + "    certificate-authority: pki/ca.crt\n", user: "    token: t2\n",
			files: map[string][]byte{"pki/ca.crt": ca}, want: seen{auth: "Bearer t2"}},
		{name: "wrong ca", cluster: server + "    certificate-authority-data: " + b64(wrongCA) + "\n", user: "    token: t\n",
			err: "certificate"},
		{name: "no ca", cluster: server, user: "    token: t\n", err: "certificate"},
		{name: "insecure", cluster: server + "    insecure-skip-tls-verify: true\n", user: "    token: t3\n", want: seen{auth: "Bearer t3"}},
		{name: "tls-server-name", cluster: server + caData + "    tls-server-name: example.com\n", user: "    token: t4\n", want: seen{auth: "Bearer t4"}},
		{name: "wrong tls-server-name", cluster: server + caData + "    tls-server-name: wrong.test\n", user: "    token: t\n", err: "wrong.test"},
		{name: "token file", cluster: server + caData, user: "    tokenFile: tok\n", files: map[string][]byte{"tok": []byte("tf1\n")}, want: seen{auth: "Bearer tf1"}},
		{name: "basic", cluster: server + caData, user: "    username: ann\n    password: pw\n", want: seen{auth: "Basic " + b64([]byte("ann:pw"))}},
		{name: "client cert data", cluster: server + caData, user: "    client-certificate-data: " + b64(cert) + "\n    client-key-data: " + b64(key) + "\n",
			want: seen{clientCN: "kensa-test"}},
		{name: "client cert files", cluster: server + caData, user: "    client-certificate: c.crt\n    client-key: c.key\n",
			files: map[string][]byte{"c.crt": cert, "c.key": key}, want: seen{clientCN: "kensa-test"}},
		{name: "impersonation", cluster: server + caData, user: "    token: t5\n    as: bob\n    as-groups: [ops, audit]\n",
			want: seen{auth: "Bearer t5", user: "bob", groups: []string{"ops", "audit"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, b := range tc.files {
				if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o700); err != nil {
					t.Fatal(err)
				}
				writeTestFile(t, filepath.Join(dir, name), b, 0o600)
			}
			api, err := Config(kubeconfigFile(t, dir, tc.cluster, tc.user), "")
			if err != nil {
				t.Fatal(err)
			}
			err = call(api)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("err %v, want one naming %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := r.last()
			if got.auth != tc.want.auth || got.user != tc.want.user || got.clientCN != tc.want.clientCN ||
				strings.Join(got.groups, ",") != strings.Join(tc.want.groups, ",") {
				t.Errorf("server saw %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestKubeconfigTokenFileReread: a token file is read again once its
// minute is over (the kubelet rotates service-account tokens).
func TestKubeconfigTokenFileReread(t *testing.T) {
	r := newRecorder(t, true)
	dir := t.TempDir()
	tok := filepath.Join(dir, "tok")
	writeTestFile(t, tok, []byte("first"), 0o600)
	api, err := Config(kubeconfigFile(t, dir, "    server: "+r.srv.URL+"\n    certificate-authority-data: "+b64(r.caPEM())+"\n", "    tokenFile: "+tok+"\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, tok, []byte("second"), 0o600)
	if err := call(api); err != nil || r.last().auth != "Bearer first" {
		t.Fatalf("within the minute: %v, %q", err, r.last().auth)
	}
	api.hc.Transport.(*authTransport).file.at = time.Now().Add(-tokenFileTTL)
	if err := call(api); err != nil || r.last().auth != "Bearer second" {
		t.Errorf("after the minute: %v, %q", err, r.last().auth)
	}
}

// execPluginScript writes a credential plugin (a shell script) that logs
// each run's KUBERNETES_EXEC_INFO, arguments and FOO to log and answers
// an ExecCredential of apiVersion with token "exec-N" (N its run count),
// or the output given.
func execPluginScript(t *testing.T, dir, apiVersion, output string) (script, log string) {
	t.Helper()
	script, log = filepath.Join(dir, "plugin.sh"), filepath.Join(dir, "plugin.log")
	if output == "" {
		output = fmt.Sprintf(`{"apiVersion":%q,"kind":"ExecCredential","status":{"token":"exec-$n"}}`, apiVersion)
	}
	writeTestFile(t, script, []byte(fmt.Sprintf(`#!/bin/sh
printf '%%s args=%%s foo=%%s\n' "$KUBERNETES_EXEC_INFO" "$*" "$FOO" >> %q
n=$(wc -l < %q | tr -d ' ')
cat <<EOF
%s
EOF
`, log, log, output)), 0o700)
	return script, log
}

// TestKubeconfigExec: exec credential plugins of both API versions run
// with their args and env and KUBERNETES_EXEC_INFO (cluster info when
// asked, never interactive); the credential is kept, and asked again once
// the server answers 401. Bad plugins are errors, never a silent anonymous
// request.
func TestKubeconfigExec(t *testing.T) {
	r := newRecorder(t, true)
	cluster := "    server: " + r.srv.URL + "\n    certificate-authority-data: " + b64(r.caPEM()) + "\n"
	for _, v := range []string{execV1, execV1beta1} {
		t.Run(v, func(t *testing.T) {
			dir := t.TempDir()
			script, log := execPluginScript(t, dir, v, "")
			user := fmt.Sprintf("    exec:\n      apiVersion: %s\n      command: ./plugin.sh\n      args: [get-token, --x]\n      env: [{name: FOO, value: bar}]\n      provideClusterInfo: true\n      interactiveMode: Never\n", v)
			_ = script
			api, err := Config(kubeconfigFile(t, dir, cluster, user), "")
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if err := call(api); err != nil {
					t.Fatal(err)
				}
			}
			if got := r.last().auth; got != "Bearer exec-1" {
				t.Errorf("token %q, want exec-1 (the plugin run once for two calls)", got)
			}
			b, _ := os.ReadFile(log)
			line := string(b)
			for _, w := range []string{`"apiVersion":"` + v + `"`, `"kind":"ExecCredential"`, `"interactive":false`, `"server":"` + r.srv.URL + `"`, "args=get-token --x", "foo=bar"} {
				if !strings.Contains(line, w) {
					t.Errorf("plugin run %q lacks %q", line, w)
				}
			}
			// The credential is revoked: that call fails, the next one
			// runs the plugin again.
			r.mu.Lock()
			r.reject["exec-1"] = true
			r.mu.Unlock()
			if err := call(api); !IsUnauthorized(err) {
				t.Errorf("call with a revoked credential: %v, want unauthorized", err)
			}
			if err := call(api); err != nil || r.last().auth != "Bearer exec-2" {
				t.Errorf("after a 401: %v, token %q, want exec-2", err, r.last().auth)
			}
			r.mu.Lock()
			delete(r.reject, "exec-1")
			r.mu.Unlock()
		})
	}

	for _, tc := range []struct {
		name, exec, output, configErr, callErr string
	}{
		{name: "interactive always", exec: "      apiVersion: " + execV1 + "\n      command: ./plugin.sh\n      interactiveMode: Always\n", configErr: "not interactive"},
		{name: "unknown version", exec: "      apiVersion: client.authentication.k8s.io/v1alpha1\n      command: ./plugin.sh\n", configErr: "v1alpha1"},
		{name: "missing command", exec: "      apiVersion: " + execV1 + "\n      command: kensa-no-such-plugin\n      installHint: install it with brew\n", callErr: "install it with brew"},
		{name: "wrong answer version", exec: "      apiVersion: " + execV1 + "\n      command: ./plugin.sh\n",
			output: `{"apiVersion":"` + execV1beta1 + `","kind":"ExecCredential","status":{"token":"x"}}`, callErr: "not ExecCredential"},
		{name: "no credential", exec: "      apiVersion: " + execV1 + "\n      command: ./plugin.sh\n",
			output: `{"apiVersion":"` + execV1 + `","kind":"ExecCredential","status":{}}`, callErr: "neither a token"},
		{name: "not json", exec: "      apiVersion: " + execV1 + "\n      command: ./plugin.sh\n", output: "token", callErr: "not an ExecCredential"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			execPluginScript(t, dir, execV1, tc.output)
			n := len(r.seen)
			api, err := Config(kubeconfigFile(t, dir, cluster, "    exec:\n"+tc.exec), "")
			if tc.configErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.configErr) {
					t.Errorf("Config: %v, want an error naming %q", err, tc.configErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := call(api); err == nil || !strings.Contains(err.Error(), tc.callErr) {
				t.Errorf("call: %v, want an error naming %q", err, tc.callErr)
			}
			if len(r.seen) != n {
				t.Errorf("a request reached the server without a credential")
			}
		})
	}
}

// TestKubeconfigProxy: proxy-url sends the requests through the proxy.
func TestKubeconfigProxy(t *testing.T) {
	proxy := newRecorder(t, false) // answers as the API server would
	dir := t.TempDir()
	api, err := Config(kubeconfigFile(t, dir, "    server: http://kube.invalid:6443\n    proxy-url: "+proxy.srv.URL+"\n", "    token: tp\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := call(api); err != nil {
		t.Fatal(err)
	}
	if got := proxy.last(); got.host != "kube.invalid:6443" || got.auth != "Bearer tp" {
		t.Errorf("the proxy saw %+v", got)
	}
	if _, err := Config(kubeconfigFile(t, dir, "    server: http://kube.invalid\n    proxy-url: ftp://p\n", ""), ""); err == nil {
		t.Error("an ftp proxy-url was accepted")
	}
}

// TestKubeconfigMerge: KUBECONFIG's files merge as kubectl merges them
// (the first file to define a name or current-context wins; missing files
// are skipped), --context picks another context, --kubeconfig reads its
// file alone; a missing context, cluster or user is an error.
func TestKubeconfigMerge(t *testing.T) {
	dir := t.TempDir()
	first := filepath.Join(dir, "a")
	second := filepath.Join(dir, "b")
	writeTestFile(t, first, []byte(`current-context: one
clusters:
- {name: c, cluster: {server: "https://one.test"}}
users:
- {name: u, user: {token: t-one}}
contexts:
- {name: one, context: {cluster: c, user: u}}
- {name: broken, context: {cluster: nowhere, user: u}}
- {name: nouser, context: {cluster: c, user: nobody}}
`), 0o600)
	writeTestFile(t, second, []byte(`current-context: two
clusters:
- {name: c, cluster: {server: "https://ignored.test"}}
- {name: c2, cluster: {server: "https://two.test:8443/prefix"}}
users:
- {name: u, user: {token: ignored}}
contexts:
- {name: one, context: {cluster: c2, user: u}}
- {name: two, context: {cluster: c2, user: u}}
`), 0o600)
	t.Setenv("KUBECONFIG", first+string(filepath.ListSeparator)+filepath.Join(dir, "missing")+string(filepath.ListSeparator)+second)
	for _, tc := range []struct {
		explicit, context, host, err string
	}{
		{"", "", "https://one.test", ""},
		{"", "two", "https://two.test:8443/prefix", ""},
		{second, "", "https://two.test:8443/prefix", ""},
		{second, "one", "https://two.test:8443/prefix", ""},
		{"", "nope", "", `context "nope" does not exist`},
		{"", "broken", "", `cluster "nowhere"`},
		{"", "nouser", "", `user "nobody"`},
		{filepath.Join(dir, "missing"), "", "", "no such file"},
	} {
		api, err := Config(tc.explicit, tc.context)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Config(%q, %q): %v, want an error naming %q", tc.explicit, tc.context, err, tc.err)
			}
			continue
		}
		if err != nil || api.Host != tc.host {
			t.Errorf("Config(%q, %q): %v, %v; want host %s", tc.explicit, tc.context, api, err, tc.host)
		}
	}
	if got := ContextName("", ""); got != "one" {
		t.Errorf("ContextName = %q, want one", got)
	}
	if got := ContextName(second, ""); got != "two" {
		t.Errorf("ContextName(second) = %q, want two", got)
	}
	// The server's path prefix is kept.
	api, _ := Config("", "two")
	if u := api.base.JoinPath("/api/v1/nodes"); u.String() != "https://two.test:8443/prefix/api/v1/nodes" {
		t.Errorf("request URL %s", u)
	}
	// No kubeconfig anywhere and not in a pod.
	t.Setenv("KUBECONFIG", "")
	t.Setenv("HOME", t.TempDir())
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	if _, err := Config("", ""); err == nil || !strings.Contains(err.Error(), "no kubeconfig found") {
		t.Errorf("Config with nothing: %v", err)
	}
}

// TestConfigAPIServer: against a real kube-apiserver, the in-cluster
// service account (KUBERNETES_SERVICE_HOST/PORT, its CA and token, the
// token read again after its minute, as the kubelet rotates it) and an
// exec credential plugin authenticate; a token the server does not know is
// unauthorized (IsUnauthorized, as the cli tells the user).
func TestConfigAPIServer(t *testing.T) {
	cp := clustertest.Start(t, clustertest.Options{})
	u, err := url.Parse(cp.URL)
	if err != nil {
		t.Fatal(err)
	}
	sa := t.TempDir()
	ca, err := os.ReadFile(cp.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, filepath.Join(sa, "ca.crt"), ca, 0o600)
	writeTestFile(t, filepath.Join(sa, "token"), []byte(cp.AdminToken+"\n"), 0o600)
	old := serviceAccountDir
	serviceAccountDir = sa
	t.Cleanup(func() { serviceAccountDir = old })
	t.Setenv("KUBECONFIG", "")
	t.Setenv("HOME", t.TempDir())
	t.Setenv("KUBERNETES_SERVICE_HOST", u.Hostname())
	t.Setenv("KUBERNETES_SERVICE_PORT", u.Port())
	api, err := Config("", "")
	if err != nil {
		t.Fatal(err)
	}
	if api.Host != cp.URL {
		t.Errorf("in-cluster host %s, want %s", api.Host, cp.URL)
	}
	ctx := context.Background()
	if _, err := ListInputs(ctx, api, ""); err != nil {
		t.Fatalf("in-cluster: %v", err)
	}
	writeTestFile(t, filepath.Join(sa, "token"), []byte("rotated-away"), 0o600)
	api.hc.Transport.(*authTransport).file.at = time.Time{}
	if _, err := ListInputs(ctx, api, ""); !IsUnauthorized(err) {
		t.Errorf("with a token the server does not know: %v, want unauthorized", err)
	}
	// --context in a pod without a kubeconfig is an error, not the
	// service account.
	if _, err := Config("", "prod"); err == nil {
		t.Error("--context without a kubeconfig used the service account")
	}

	dir := t.TempDir()
	execPluginScript(t, dir, execV1, fmt.Sprintf(`{"apiVersion":%q,"kind":"ExecCredential","status":{"token":%q,"expirationTimestamp":%q}}`,
		execV1, cp.AdminToken, time.Now().Add(time.Hour).UTC().Format(time.RFC3339)))
	kc := kubeconfigFile(t, dir, "    server: "+cp.URL+"\n    certificate-authority: "+cp.CAFile+"\n",
		"    exec:\n      apiVersion: "+execV1+"\n      command: "+filepath.Join(dir, "plugin.sh")+"\n      interactiveMode: Never\n")
	api, err = Config(kc, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ListInputs(ctx, api, ""); err != nil {
		t.Errorf("exec plugin: %v", err)
	}
}

// FuzzParseKubeconfig: any kubeconfig content is parsed or refused, and
// whatever parses builds a client or an error, never a panic.
func FuzzParseKubeconfig(f *testing.F) {
	f.Add([]byte("current-context: c\nclusters:\n- {name: x, cluster: {server: https://a, certificate-authority-data: Zm9v}}\nusers:\n- {name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: x}}}\ncontexts:\n- {name: c, context: {cluster: x, user: u}}\n"))
	f.Add([]byte("clusters: 1\n"))
	f.Add([]byte("users:\n- user: {as-groups: [a, b], tokenFile: t}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		kc, err := parseKubeconfig(b, "/nonexistent")
		if err != nil {
			return
		}
		for _, c := range kc.Clusters {
			for _, u := range kc.Users {
				_, _ = newAPI(c.Cluster.Server, c.Cluster, u.User, "c")
			}
		}
	})
}

// TestResourcePathEscaped: a name with a slash or dots stays one path
// segment of the request.
func TestResourcePathEscaped(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.EscapedPath()
		fmt.Fprint(w, `{}`)
	}))
	t.Cleanup(srv.Close)
	api, err := newAPI(srv.URL+"/prefix/", kcCluster{}, kcUser{}, "")
	if err != nil {
		t.Fatal(err)
	}
	var n apiNode
	if err := api.get(context.Background(), corePath("", "nodes", "../secrets/x"), &n); err != nil {
		t.Fatal(err)
	}
	if got != "/prefix/api/v1/nodes/..%2Fsecrets%2Fx" {
		t.Errorf("request path %q", got)
	}
}
