package cluster

// kensa's own kubeconfig loader and API transport.
//
// Our own code where client-go's clientcmd and rest exist, on purpose,
// for speed: with only client-go's rest and clientcmd linked (and kensa's
// own JSON decoding of objects), `kensa fips scan /usr` still peaked at
// 29.0–31.1 MiB over 18 runs against 26.3–27.3 MiB with this loader
// (kensa version: 18.1–18.5 against 14.9 MiB), because rest brings
// apimachinery's scheme, serializers (JSON, YAML, CBOR, protobuf) and
// json-iterator, whose init functions run in every kensa command. What
// kensa needs of a kubeconfig is small and documented
// (kubernetes.io/docs/concepts/configuration/organize-cluster-access-kubeconfig/),
// and it is implemented here as kubectl reads it:
//
//   - files: --kubeconfig FILE alone (it must exist), else each file of
//     KUBECONFIG (a path list; missing files are skipped), else
//     ~/.kube/config. Files are merged as kubectl merges them: the first
//     file to name a cluster, user or context wins, and the first
//     current-context set wins. Relative file paths in a file are
//     relative to that file's directory.
//   - context: --context NAME, else current-context.
//   - cluster: server, certificate-authority (file) or
//     certificate-authority-data, insecure-skip-tls-verify,
//     tls-server-name, proxy-url (http, https, socks5; else the proxy
//     environment variables).
//   - user: client-certificate/client-key (files) or their -data, token,
//     tokenFile (re-read every minute), username/password, as/as-groups
//     (impersonation), and exec credential plugins
//     (client.authentication.k8s.io/v1 and v1beta1: command, args, env,
//     provideClusterInfo; kensa is never interactive, so a plugin whose
//     interactiveMode is Always is refused; the credential is kept until
//     its expirationTimestamp or until the server answers 401).
//     auth-provider (the removed gcp/azure/oidc plugins) is refused.
//   - in a pod with no kubeconfig at all: the service account
//     (KUBERNETES_SERVICE_HOST/PORT, its CA, and its token re-read every
//     minute, since the kubelet rotates it).

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/kensa-project/kensa/internal/limitio"
)

// maxKubeconfig bounds each kubeconfig file read, maxCredential the
// token, certificate and key files and an exec plugin's output.
const (
	maxKubeconfig = 8 << 20
	maxCredential = 1 << 20
)

// kubeconfig is the part of a kubeconfig file kensa reads.
type kubeconfig struct {
	CurrentContext string `yaml:"current-context"`
	Clusters       []struct {
		Name    string    `yaml:"name"`
		Cluster kcCluster `yaml:"cluster"`
	} `yaml:"clusters"`
	Users []struct {
		Name string `yaml:"name"`
		User kcUser `yaml:"user"`
	} `yaml:"users"`
	Contexts []struct {
		Name    string    `yaml:"name"`
		Context kcContext `yaml:"context"`
	} `yaml:"contexts"`
}

type kcCluster struct {
	Server                   string `yaml:"server"`
	CertificateAuthority     string `yaml:"certificate-authority"`
	CertificateAuthorityData string `yaml:"certificate-authority-data"`
	InsecureSkipTLSVerify    bool   `yaml:"insecure-skip-tls-verify"`
	TLSServerName            string `yaml:"tls-server-name"`
	ProxyURL                 string `yaml:"proxy-url"`
}

type kcUser struct {
	ClientCertificate     string    `yaml:"client-certificate"`
	ClientCertificateData string    `yaml:"client-certificate-data"`
	ClientKey             string    `yaml:"client-key"`
	ClientKeyData         string    `yaml:"client-key-data"`
	Token                 string    `yaml:"token"`
	TokenFile             string    `yaml:"tokenFile"`
	Username              string    `yaml:"username"`
	Password              string    `yaml:"password"`
	Impersonate           string    `yaml:"as"`
	ImpersonateGroups     []string  `yaml:"as-groups"`
	Exec                  *kcExec   `yaml:"exec"`
	AuthProvider          *struct{} `yaml:"auth-provider"`
}

type kcExec struct {
	APIVersion string   `yaml:"apiVersion"`
	Command    string   `yaml:"command"`
	Args       []string `yaml:"args"`
	Env        []struct {
		Name  string `yaml:"name"`
		Value string `yaml:"value"`
	} `yaml:"env"`
	InstallHint        string `yaml:"installHint"`
	ProvideClusterInfo bool   `yaml:"provideClusterInfo"`
	InteractiveMode    string `yaml:"interactiveMode"`
}

type kcContext struct {
	Cluster string `yaml:"cluster"`
	User    string `yaml:"user"`
}

// merged is the kubeconfig files merged: the first definition of each
// name wins.
type merged struct {
	currentContext string
	clusters       map[string]kcCluster
	users          map[string]kcUser
	contexts       map[string]kcContext
	files          []string // the files read
}

func (m *merged) empty() bool {
	return m.currentContext == "" && len(m.clusters) == 0 && len(m.users) == 0 && len(m.contexts) == 0
}

// parseKubeconfig reads one kubeconfig file's content; relative paths
// are made relative to dir.
func parseKubeconfig(b []byte, dir string) (*kubeconfig, error) {
	var kc kubeconfig
	if err := yaml.Unmarshal(b, &kc); err != nil {
		return nil, err
	}
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	for i := range kc.Clusters {
		abs(&kc.Clusters[i].Cluster.CertificateAuthority)
	}
	for i := range kc.Users {
		u := &kc.Users[i].User
		abs(&u.ClientCertificate)
		abs(&u.ClientKey)
		abs(&u.TokenFile)
		// An exec command with a path separator is relative to the
		// file too; a bare name is looked up in PATH.
		if u.Exec != nil && strings.ContainsRune(u.Exec.Command, filepath.Separator) {
			abs(&u.Exec.Command)
		}
	}
	return &kc, nil
}

// kubeconfigFiles are the files to read: explicit alone, else
// KUBECONFIG's, else ~/.kube/config.
func kubeconfigFiles(explicit string) (files []string, mustExist bool) {
	if explicit != "" {
		return []string{explicit}, true
	}
	if env := os.Getenv("KUBECONFIG"); env != "" {
		seen := map[string]bool{}
		for _, f := range filepath.SplitList(env) {
			if f != "" && !seen[f] {
				seen[f] = true
				files = append(files, f)
			}
		}
		return files, false
	}
	if home, err := os.UserHomeDir(); err == nil {
		return []string{filepath.Join(home, ".kube", "config")}, false
	}
	return nil, false
}

// loadKubeconfig reads and merges the kubeconfig files.
func loadKubeconfig(explicit string) (*merged, error) {
	m := &merged{clusters: map[string]kcCluster{}, users: map[string]kcUser{}, contexts: map[string]kcContext{}}
	files, mustExist := kubeconfigFiles(explicit)
	for _, f := range files {
		b, err := limitio.ReadFile(f, maxKubeconfig, "a kubeconfig")
		if err != nil {
			if errors.Is(err, os.ErrNotExist) && !mustExist {
				continue
			}
			return nil, err
		}
		dir, _ := filepath.Abs(filepath.Dir(f))
		kc, err := parseKubeconfig(b, dir)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		m.files = append(m.files, f)
		if m.currentContext == "" {
			m.currentContext = kc.CurrentContext
		}
		for _, c := range kc.Clusters {
			if _, ok := m.clusters[c.Name]; !ok {
				m.clusters[c.Name] = c.Cluster
			}
		}
		for _, u := range kc.Users {
			if _, ok := m.users[u.Name]; !ok {
				m.users[u.Name] = u.User
			}
		}
		for _, c := range kc.Contexts {
			if _, ok := m.contexts[c.Name]; !ok {
				m.contexts[c.Name] = c.Context
			}
		}
	}
	return m, nil
}

// serviceAccountDir is where a pod's service account is mounted (a
// variable for tests).
var serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// errNoConfig says there is neither a kubeconfig nor a service account.
var errNoConfig = errors.New("no kubeconfig found (KUBECONFIG, ~/.kube/config) and not in a pod")

// Config loads a client configuration the way kubectl does (see the top
// of this file): kubeconfig (the file given, else KUBECONFIG or
// ~/.kube/config) and context (the current one unless given), and in a
// pod without a kubeconfig the in-cluster service account.
func Config(kubeconfigPath, context string) (*API, error) {
	m, err := loadKubeconfig(kubeconfigPath)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	if m.empty() && kubeconfigPath == "" && context == "" {
		host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
		token := filepath.Join(serviceAccountDir, "token")
		if _, err := os.Stat(token); err != nil || host == "" || port == "" {
			return nil, fmt.Errorf("kubeconfig: %w", errNoConfig)
		}
		api, err := newAPI("https://"+net.JoinHostPort(host, port),
			kcCluster{CertificateAuthority: filepath.Join(serviceAccountDir, "ca.crt")}, kcUser{TokenFile: token}, "")
		if err != nil {
			return nil, fmt.Errorf("in-cluster configuration: %w", err)
		}
		return api, nil
	}
	name := context
	if name == "" {
		name = m.currentContext
	}
	if name == "" {
		return nil, fmt.Errorf("kubeconfig: no current context in %s and no --context", strings.Join(m.files, ", "))
	}
	ctx, ok := m.contexts[name]
	if !ok {
		return nil, fmt.Errorf("kubeconfig: context %q does not exist", name)
	}
	cl, ok := m.clusters[ctx.Cluster]
	if !ok {
		return nil, fmt.Errorf("kubeconfig: context %q names cluster %q, which does not exist", name, ctx.Cluster)
	}
	var u kcUser
	if ctx.User != "" {
		if u, ok = m.users[ctx.User]; !ok {
			return nil, fmt.Errorf("kubeconfig: context %q names user %q, which does not exist", name, ctx.User)
		}
	}
	if cl.Server == "" {
		return nil, fmt.Errorf("kubeconfig: cluster %q has no server", ctx.Cluster)
	}
	api, err := newAPI(cl.Server, cl, u, name)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: context %q: %w", name, err)
	}
	return api, nil
}

// ContextName is the kubeconfig context Config uses ("" in a pod with
// no kubeconfig).
func ContextName(kubeconfigPath, context string) string {
	if context != "" {
		return context
	}
	m, err := loadKubeconfig(kubeconfigPath)
	if err != nil {
		return ""
	}
	return m.currentContext
}

// dataOrFile is base64 data when given, else the file's content.
func dataOrFile(data, file, what string) ([]byte, error) {
	if data != "" {
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(data))
		if err != nil {
			return nil, fmt.Errorf("%s-data: %w", what, err)
		}
		return b, nil
	}
	if file == "" {
		return nil, nil
	}
	b, err := limitio.ReadFile(file, maxCredential, "a credential file")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return b, nil
}

// newAPI builds the API client of a server, its cluster and its user.
func newAPI(server string, cl kcCluster, u kcUser, contextName string) (*API, error) {
	ca, err := dataOrFile(cl.CertificateAuthorityData, cl.CertificateAuthority, "certificate-authority")
	if err != nil {
		return nil, err
	}
	cert, err := dataOrFile(u.ClientCertificateData, u.ClientCertificate, "client-certificate")
	if err != nil {
		return nil, err
	}
	key, err := dataOrFile(u.ClientKeyData, u.ClientKey, "client-key")
	if err != nil {
		return nil, err
	}
	if len(ca) > 0 && cl.InsecureSkipTLSVerify {
		return nil, errors.New("insecure-skip-tls-verify with a certificate-authority: give one of them")
	}
	if u.AuthProvider != nil {
		return nil, errors.New("auth-provider plugins are not supported (client-go removed them): use an exec credential plugin")
	}
	if (u.Token != "" || u.TokenFile != "") && u.Username != "" {
		return nil, errors.New("both a token and a username/password: give one of them")
	}
	// A server without a scheme is https when anything of TLS is
	// configured, as client-go decides.
	tlsSet := len(ca) > 0 || len(cert) > 0 || cl.InsecureSkipTLSVerify
	if !strings.Contains(server, "://") {
		if tlsSet {
			server = "https://" + server
		} else {
			server = "http://" + server
		}
	}
	base, err := url.Parse(server)
	if err != nil || base.Host == "" || (base.Scheme != "https" && base.Scheme != "http") {
		return nil, fmt.Errorf("server %q is not an http(s) URL", server)
	}

	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cl.TLSServerName, InsecureSkipVerify: cl.InsecureSkipTLSVerify} //nolint:gosec // the kubeconfig asks for it
	if len(ca) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return nil, errors.New("certificate-authority holds no PEM certificate")
		}
		tc.RootCAs = pool
	}
	if len(cert) > 0 || len(key) > 0 {
		kp, err := tls.X509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("client certificate and key: %w", err)
		}
		tc.Certificates = []tls.Certificate{kp}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	tr.ForceAttemptHTTP2 = true
	tr.TLSHandshakeTimeout = 10 * time.Second
	tr.MaxIdleConnsPerHost = 25
	if cl.ProxyURL != "" {
		p, err := url.Parse(cl.ProxyURL)
		if err != nil || p.Host == "" {
			return nil, fmt.Errorf("proxy-url %q is not a URL", cl.ProxyURL)
		}
		switch p.Scheme {
		case "http", "https", "socks5", "socks5h":
		default:
			return nil, fmt.Errorf("proxy-url %q: scheme %q is not http, https or socks5", cl.ProxyURL, p.Scheme)
		}
		tr.Proxy = http.ProxyURL(p)
	}
	auth := &authTransport{next: tr, user: u}
	switch {
	case u.Exec != nil:
		if u.Exec.Command == "" {
			return nil, errors.New("exec credential plugin without a command")
		}
		switch u.Exec.APIVersion {
		case execV1, execV1beta1:
		default:
			return nil, fmt.Errorf("exec credential plugin apiVersion %q: kensa speaks %s and %s", u.Exec.APIVersion, execV1, execV1beta1)
		}
		if u.Exec.InteractiveMode == "Always" {
			return nil, fmt.Errorf("exec credential plugin %s needs a terminal (interactiveMode Always) and kensa is not interactive", u.Exec.Command)
		}
		auth.exec = &execPlugin{cfg: *u.Exec, cluster: cl, server: server, ca: ca}
		// A plugin may return a client certificate.
		tc.GetClientCertificate = auth.exec.clientCertificate(tc.Certificates)
		tc.Certificates = nil
	case u.Token == "" && u.TokenFile != "":
		auth.file = &tokenFile{path: u.TokenFile}
		if _, err := auth.file.token(); err != nil {
			return nil, err
		}
	}
	return &API{Host: server, base: base, hc: &http.Client{Transport: auth}}, nil
}

// authTransport adds the user's credentials to each request.
type authTransport struct {
	next http.RoundTripper
	user kcUser
	file *tokenFile
	exec *execPlugin
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Set("User-Agent", "kensa")
	u := t.user
	switch {
	case t.exec != nil:
		c, err := t.exec.get(req.Context())
		if err != nil {
			return nil, err
		}
		if c.Token != "" {
			r.Header.Set("Authorization", "Bearer "+c.Token)
		}
	case u.Token != "":
		r.Header.Set("Authorization", "Bearer "+u.Token)
	case t.file != nil:
		tok, err := t.file.token()
		if err != nil {
			return nil, err
		}
		r.Header.Set("Authorization", "Bearer "+tok)
	case u.Username != "" || u.Password != "":
		r.SetBasicAuth(u.Username, u.Password)
	}
	if u.Impersonate != "" {
		r.Header.Set("Impersonate-User", u.Impersonate)
	}
	for _, g := range u.ImpersonateGroups {
		r.Header.Add("Impersonate-Group", g)
	}
	resp, err := t.next.RoundTrip(r)
	if err == nil && resp.StatusCode == http.StatusUnauthorized && t.exec != nil {
		// The credential was refused: the next request asks the plugin
		// again (as client-go does; this one fails).
		t.exec.forget()
	}
	return resp, err
}

// tokenFile is a bearer token read from a file, re-read every minute
// (the kubelet rotates projected service-account tokens).
type tokenFile struct {
	path string
	mu   sync.Mutex
	tok  string
	at   time.Time
}

const tokenFileTTL = time.Minute

func (f *tokenFile) token() (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tok != "" && time.Since(f.at) < tokenFileTTL {
		return f.tok, nil
	}
	b, err := limitio.ReadFile(f.path, maxCredential, "a credential file")
	if err != nil {
		if f.tok != "" {
			return f.tok, nil // keep the last one read
		}
		return "", fmt.Errorf("token file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("token file %s is empty", f.path)
	}
	f.tok, f.at = tok, time.Now()
	return tok, nil
}

// Exec credential plugin API versions.
const (
	execV1      = "client.authentication.k8s.io/v1"
	execV1beta1 = "client.authentication.k8s.io/v1beta1"
)

// execPlugin runs a kubeconfig's exec credential plugin and keeps its
// credential until it expires.
type execPlugin struct {
	cfg     kcExec
	cluster kcCluster
	server  string
	ca      []byte

	mu   sync.Mutex
	cred *execStatus
}

// execStatus is an ExecCredential's status.
type execStatus struct {
	ExpirationTimestamp   *time.Time `json:"expirationTimestamp"`
	Token                 string     `json:"token"`
	ClientCertificateData string     `json:"clientCertificateData"`
	ClientKeyData         string     `json:"clientKeyData"`
	cert                  *tls.Certificate
}

func (p *execPlugin) forget() {
	p.mu.Lock()
	p.cred = nil
	p.mu.Unlock()
}

// get returns the current credential, running the plugin when there is
// none or it expired.
func (p *execPlugin) get(ctx context.Context) (*execStatus, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c := p.cred; c != nil && (c.ExpirationTimestamp == nil || time.Now().Before(*c.ExpirationTimestamp)) {
		return c, nil
	}
	c, err := p.run(ctx)
	if err != nil {
		return nil, err
	}
	p.cred = c
	return c, nil
}

// execInfo is the ExecCredential kensa gives the plugin in
// KUBERNETES_EXEC_INFO.
type execInfo struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Spec       struct {
		Cluster     *execCluster `json:"cluster,omitempty"`
		Interactive bool         `json:"interactive"`
	} `json:"spec"`
}

type execCluster struct {
	Server                   string `json:"server"`
	TLSServerName            string `json:"tls-server-name,omitempty"`
	InsecureSkipTLSVerify    bool   `json:"insecure-skip-tls-verify,omitempty"`
	CertificateAuthorityData []byte `json:"certificate-authority-data,omitempty"`
	ProxyURL                 string `json:"proxy-url,omitempty"`
}

// execTimeout bounds one run of a credential plugin.
const execTimeout = 2 * time.Minute

func (p *execPlugin) run(ctx context.Context) (*execStatus, error) {
	info := execInfo{APIVersion: p.cfg.APIVersion, Kind: "ExecCredential"}
	if p.cfg.ProvideClusterInfo {
		info.Spec.Cluster = &execCluster{Server: p.server, TLSServerName: p.cluster.TLSServerName,
			InsecureSkipTLSVerify: p.cluster.InsecureSkipTLSVerify, CertificateAuthorityData: p.ca, ProxyURL: p.cluster.ProxyURL}
	}
	infoJSON, err := json.Marshal(info)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, execTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.cfg.Command, p.cfg.Args...)
	cmd.Env = append(os.Environ(), "KUBERNETES_EXEC_INFO="+string(infoJSON))
	for _, e := range p.cfg.Env {
		cmd.Env = append(cmd.Env, e.Name+"="+e.Value)
	}
	var out limitedBuffer
	out.limit = maxCredential
	var stderr limitedBuffer
	stderr.limit = 4 << 10
	// The plugin's messages (a device-code sign-in's instructions) reach
	// the user as with kubectl; the last of them go into an error.
	cmd.Stdout, cmd.Stderr = &out, io.MultiWriter(os.Stderr, &stderr)
	if err := cmd.Run(); err != nil {
		msg := fmt.Sprintf("exec credential plugin %s: %v", p.cfg.Command, err)
		if s := strings.TrimSpace(stderr.String()); s != "" {
			msg += ": " + s
		}
		if errors.Is(err, exec.ErrNotFound) && p.cfg.InstallHint != "" {
			msg += " (" + strings.TrimSpace(p.cfg.InstallHint) + ")"
		}
		return nil, errors.New(msg)
	}
	if out.over {
		return nil, fmt.Errorf("exec credential plugin %s: its output is larger than %d KiB", p.cfg.Command, maxCredential>>10)
	}
	var cred struct {
		APIVersion string      `json:"apiVersion"`
		Kind       string      `json:"kind"`
		Status     *execStatus `json:"status"`
	}
	if err := json.Unmarshal(out.Bytes(), &cred); err != nil {
		return nil, fmt.Errorf("exec credential plugin %s: its output is not an ExecCredential: %w", p.cfg.Command, err)
	}
	switch {
	case cred.Kind != "ExecCredential" || cred.APIVersion != p.cfg.APIVersion:
		return nil, fmt.Errorf("exec credential plugin %s answered %s %s, not ExecCredential %s", p.cfg.Command, cred.APIVersion, cred.Kind, p.cfg.APIVersion)
	case cred.Status == nil || (cred.Status.Token == "" && cred.Status.ClientCertificateData == ""):
		return nil, fmt.Errorf("exec credential plugin %s gave neither a token nor a client certificate", p.cfg.Command)
	}
	if s := cred.Status; s.ClientCertificateData != "" {
		kp, err := tls.X509KeyPair([]byte(s.ClientCertificateData), []byte(s.ClientKeyData))
		if err != nil {
			return nil, fmt.Errorf("exec credential plugin %s: client certificate: %w", p.cfg.Command, err)
		}
		s.cert = &kp
	}
	return cred.Status, nil
}

// clientCertificate is the TLS callback giving the plugin's client
// certificate (or the kubeconfig's own, static).
func (p *execPlugin) clientCertificate(static []tls.Certificate) func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
		c, err := p.get(cri.Context())
		if err == nil && c.cert != nil {
			return c.cert, nil
		}
		if len(static) > 0 {
			return &static[0], nil
		}
		return &tls.Certificate{}, nil
	}
}

// limitedBuffer keeps at most limit bytes and notes when more came.
type limitedBuffer struct {
	bytes.Buffer
	limit int
	over  bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.limit - b.Len(); len(p) > room {
		b.over = true
		if room > 0 {
			b.Buffer.Write(p[:room])
		}
		return len(p), nil
	}
	return b.Buffer.Write(p)
}
