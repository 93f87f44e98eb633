// Package explain reads what a user has when a deploy fails behind an
// egress firewall — Kudu's deployment log, az webapp deploy or func
// publish output, pip, npm, NuGet, Maven or docker pull errors — and
// names the destinations the failing step needed.
//
// It knows error signatures, each from its source (the tool's code or an
// issue that shows its output; see [Signatures]): Kudu's
// HttpRequestException "An error occurred while sending the request." on
// its call to the app's own SCM site, Oryx's TaskCanceledException in
// SdkStorageVersionProviderBase (the SDK list on oryx-cdn.microsoft.io),
// pip's retries and "from versions: none", npm's ETIMEDOUT/ECONNRESET with
// the registry URL, NuGet's NU1301, Maven's "Could not transfer
// artifact", docker's "Client.Timeout exceeded". A signature gives the
// destinations: from the log when it names the host (a URL, host='…'),
// else the tool's documented default (pip → pypi.org and
// files.pythonhosted.org), each with its service in the catalog.
//
// A log in which no signature matches is reported as unrecognised, never
// as "nothing wrong": kensa knows only the errors it has signatures for.
package explain

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/kensa-project/kensa/internal/egress"
	"github.com/kensa-project/kensa/internal/lazyre"
	"github.com/kensa-project/kensa/internal/report"
)

// MaxLogBytes bounds the log read; MaxLineBytes one line (longer lines
// are read in pieces of that size).
const (
	MaxLogBytes  = 64 << 20
	MaxLineBytes = 1 << 20
)

// Signature is one recognisable failure.
type Signature struct {
	ID string
	// Tool is what failed, in the user's terms ("pip", "Kudu").
	Tool string
	// Meaning says what the failure means for egress.
	Meaning string
	// Source is where the error text comes from.
	Source string
	// Match finds the signature in a line.
	Match *lazyre.Regexp
	// Requires, when set, must also appear somewhere in the log (the
	// context that makes Match specific: a Kudu deploy, an Oryx build).
	Requires *lazyre.Regexp
	// HostFrom extracts the destination from the matching line (first
	// capture group: a URL or a host); else Defaults apply.
	HostFrom *lazyre.Regexp
	// Defaults are the destinations when the line names none, as
	// "host:port"; "{app}" is the app's name when the log shows it.
	Defaults []string
	// Companions are added to a host found in the line (pip's
	// files.pythonhosted.org beside pypi.org).
	Companions map[string][]string
	// Note is added when the signature means something other than a
	// plain deny (TLS inspection, a proxy's answer, DNS).
	Note string
}

var (
	urlHost = lazyre.New(`https?://([A-Za-z0-9.-]+)(?::(\d+))?`)
)

// Signatures are the failures kensa recognises, most specific first.
var Signatures = []Signature{
	{ID: "kudu-self-call", Tool: "Kudu (deployment)",
		Meaning:  "after the deploy Kudu calls the app's own SCM site (restart, deployment status; for Functions also the site's /admin/host/synctriggers) through the VNet, and the firewall stopped it: the deploy fails with HTTP 500",
		Source:   "projectkudu/kudu Kudu.Core/Helpers/PostDeploymentHelper.cs@7e7e310d; .NET SR.net_http_client_execution_error; field report: App Service deploys through Azure Firewall failing with HTTP 500",
		Match:    lazyre.New(`An error occurred while sending the request`),
		Requires: lazyre.New(`(?i)HttpRequestException|Status code 500|"Message":"An error has occurred\."|scm\.azurewebsites\.net|kudu`),
		Defaults: []string{"{app}.scm.azurewebsites.net:443", "{app}.azurewebsites.net:443"}},
	{ID: "oryx-sdk-list", Tool: "Oryx (App Service build)",
		Meaning:  "Oryx could not list the SDK versions on its CDN (the request timed out): the build stops before it starts",
		Source:   "microsoft/Oryx src/BuildScriptGenerator/SdkStorageVersionProviderBase.cs, SdkStorageConstants.cs@d91d836e; field report: App Service deploys through Azure Firewall failing with HTTP 500",
		Match:    lazyre.New(`SdkStorageVersionProvider\w*\.GetAvailableVersionsFromStorage|Http request to retrieve the SDKs available to download from '([^']+)' failed`),
		HostFrom: lazyre.New(`download from '(https?://[^']+)'`),
		Defaults: []string{"oryx-cdn.microsoft.io:443"}},
	{ID: "oryx-unexpected", Tool: "Oryx (App Service build)",
		Meaning:  "Oryx failed with a cancelled task, which is how its SDK download shows a blocked oryx-cdn.microsoft.io",
		Source:   "microsoft/Oryx src/BuildScriptGeneratorCli/Constants.cs@d91d836e (\"Oops... An unexpected error has occurred.\"); microsoft/Oryx#557, #971, #997",
		Match:    lazyre.New(`TaskCanceledException|A task was canceled`),
		Requires: lazyre.New(`Oops\.\.\. An unexpected error has occurred`),
		Defaults: []string{"oryx-cdn.microsoft.io:443"}},
	{ID: "pip-proxy", Tool: "pip",
		Meaning:    "the proxy refused pip's CONNECT: an allowlist proxy denied the host",
		Source:     "pypa/pip vendored urllib3 connection.py@6d309205 (\"Tunnel connection failed: <code> <msg>\")",
		Match:      lazyre.New(`Tunnel connection failed: (\d+)`),
		HostFrom:   lazyre.New(`host='([^']+)'`),
		Defaults:   []string{"pypi.org:443", "files.pythonhosted.org:443"},
		Companions: map[string][]string{"pypi.org": {"files.pythonhosted.org:443"}},
		Note:       "a proxy answered (403 is a deny; 407 asks for credentials, which no allow rule fixes)"},
	{ID: "pip-ssl", Tool: "pip",
		Meaning:  "pip could not verify the certificate: TLS inspection (or an intercepting proxy) re-signs the connection",
		Source:   "pypa/pip src/pip/_internal/index/collector.py@6d309205 (\"There was a problem confirming the ssl certificate\")",
		Match:    lazyre.New(`problem confirming the ssl certificate|CERTIFICATE_VERIFY_FAILED`),
		HostFrom: lazyre.New(`host='([^']+)'`),
		Defaults: []string{"pypi.org:443"},
		Note:     "not a deny: the connection was intercepted; trust the inspecting CA (pip --cert, PIP_CERT) or exempt the host from TLS inspection"},
	{ID: "pip-retry", Tool: "pip",
		Meaning:    "pip's connections to the index broke or timed out and it gave up",
		Source:     "pypa/pip vendored urllib3 connectionpool.py@6d309205 (\"Retrying (%r) after connection broken by '%r': %s\"); microsoft/Oryx#2260",
		Match:      lazyre.New(`Retrying \(Retry\(total=\d+.*after connection broken by`),
		HostFrom:   lazyre.New(`host='([^']+)'|Connection to ([A-Za-z0-9.-]+) timed out`),
		Defaults:   []string{"pypi.org:443", "files.pythonhosted.org:443"},
		Companions: map[string][]string{"pypi.org": {"files.pythonhosted.org:443"}, "files.pythonhosted.org": {"pypi.org:443"}}},
	{ID: "pip-no-versions", Tool: "pip",
		Meaning:  "pip found no version of a package: after network errors this means the index was unreachable, not that the package is missing",
		Source:   "pypa/pip src/pip/_internal/resolution/resolvelib/factory.py@6d309205",
		Match:    lazyre.New(`Could not find a version that satisfies the requirement .*\(from versions: none\)|No matching distribution found for`),
		Defaults: []string{"pypi.org:443", "files.pythonhosted.org:443"}},
	{ID: "npm-network", Tool: "npm",
		Meaning:  "npm could not reach the registry",
		Source:   "npm/cli lib/utils/error-message.js@780afc50 (\"network request to … failed, reason:\"; \"This is a problem related to network connectivity.\")",
		Match:    lazyre.New(`(?:npm (?:error|ERR!) )?(?:network )?request to (https?://\S+) failed, reason:|npm (?:error|ERR!) code (?:ETIMEDOUT|ECONNRESET|ENOTFOUND|ERR_SOCKET_TIMEOUT|EAI_FAIL|ECONNREFUSED)`),
		HostFrom: lazyre.New(`request to (https?://\S+) failed`),
		Defaults: []string{"registry.npmjs.org:443"}},
	{ID: "nuget-service-index", Tool: "NuGet (dotnet restore)",
		Meaning:    "dotnet restore could not load the package source's service index",
		Source:     "NuGet/Home#12535, #14587, #5358 (error NU1301)",
		Match:      lazyre.New(`NU1301|Unable to load the service index for source`),
		HostFrom:   lazyre.New(`for source (https?://\S+?)\.?\s*$|for source (https?://\S+)`),
		Defaults:   []string{"api.nuget.org:443"},
		Companions: map[string][]string{"api.nuget.org": {"globalcdn.nuget.org:443"}}},
	{ID: "maven-transfer", Tool: "Maven",
		Meaning:  "Maven could not download from the repository",
		Source:   "apache/maven-resolver#790; apache/camel-quarkus#4842 (\"Could not transfer artifact … from/to central\")",
		Match:    lazyre.New(`Could not (?:transfer|resolve) (?:artifact|dependencies)|Connect to \S+:\d+ .*failed: Connect(?:ion)? timed out`),
		HostFrom: lazyre.New(`\((https?://[^)\s]+)\)|Connect to ([A-Za-z0-9.-]+):\d+`),
		Defaults: []string{"repo.maven.apache.org:443"}},
	{ID: "maven-pkix", Tool: "Maven / Java",
		Meaning:  "Java could not verify the certificate: TLS inspection re-signs the connection",
		Source:   "redhat-developer/vscode-java#2453 (\"PKIX path building failed\")",
		Match:    lazyre.New(`PKIX path building failed`),
		HostFrom: lazyre.New(`(https?://[^)\s"']+)`),
		Defaults: []string{"repo.maven.apache.org:443"},
		Note:     "not a deny: the connection was intercepted; import the inspecting CA into the JDK trust store or exempt the host from TLS inspection"},
	{ID: "docker-pull", Tool: "docker pull",
		Meaning:  "the Docker daemon could not reach the registry",
		Source:   "moby/moby#37532, #22635 (Error response from daemon: Get … Client.Timeout exceeded / connection reset by peer / proxyconnect)",
		Match:    lazyre.New(`Error response from daemon: (?:Get|Head) "?(https?://[^"\s]+)"?: .*(?:Client\.Timeout exceeded|request canceled|connection reset by peer|i/o timeout|proxyconnect tcp|connection refused|EOF)`),
		HostFrom: lazyre.New(`(?:Get|Head) "?(https?://[^"\s]+)"?:`),
		Defaults: []string{"registry-1.docker.io:443"}},
	{ID: "http-timeout", Tool: ".NET HttpClient",
		Meaning:  "an HTTP request of the deployment timed out",
		Source:   ".NET HttpClient (\"The request was canceled due to the configured HttpClient.Timeout of N seconds elapsing.\")",
		Match:    lazyre.New(`configured HttpClient\.Timeout of \d+ seconds elapsing`),
		HostFrom: lazyre.New(`(https?://[^\s'"]+)`)},
	{ID: "azfw-deny", Tool: "Azure Firewall",
		Meaning:  "the firewall's own answer or log line is in the output",
		Source:   "Azure Firewall application rule log (\"Action: Deny. No rule matched. Proceeding with default action\"); HTTP 470 body",
		Match:    lazyre.New(`request from \S+ to ([A-Za-z0-9.-]+:\d+)\. (?:Url: \S+\. )?Action: Deny|Action: Deny\. Reason: No rule matched`),
		HostFrom: lazyre.New(`request from \S+ to ([A-Za-z0-9.-]+:\d+)`)},
}

// Destination is a host a failing step needed.
type Destination struct {
	Host string `json:"host"`
	Port int    `json:"port"`
	// Placeholder is set when the log does not name the app ("{app}"
	// stayed in the host).
	Placeholder bool        `json:"placeholder,omitempty"`
	Service     *ServiceRef `json:"service"`
}

// ServiceRef is a catalog service.
type ServiceRef struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Source string `json:"source"`
	AsOf   string `json:"as_of"`
}

// Match is one signature found in the log.
type Match struct {
	Signature string `json:"signature"`
	Tool      string `json:"tool"`
	Meaning   string `json:"meaning"`
	Source    string `json:"source"`
	// Line is the first matching line's number; Count how many matched.
	Line         int           `json:"line"`
	Count        int           `json:"count"`
	Evidence     string        `json:"evidence"`
	Destinations []Destination `json:"destinations"`
	Note         string        `json:"note,omitempty"`
}

// Result is what a log shows.
type Result struct {
	Name    string  `json:"name"`
	Lines   int     `json:"lines"`
	Matches []Match `json:"matches"`
	// App is the app name the log shows ("" when none).
	App string `json:"app,omitempty"`
}

var scmHost = lazyre.New(`(?i)\b([a-z0-9][a-z0-9-]{0,59})\.scm\.azurewebsites\.net`)

// Explain reads one log. app, when set, names the App Service / Functions
// app (else the log's own mention of NAME.scm.azurewebsites.net is used).
func Explain(name string, r io.Reader, app string) (*Result, error) {
	res := &Result{Name: name}
	br := bufio.NewReaderSize(io.LimitReader(r, MaxLogBytes), 64<<10)
	// Per signature: the first matching line (its text cut for the
	// evidence), how many lines matched, and the host:port pairs named,
	// in order, at most maxHosts. Requires is settled at the end (the
	// context may come after the match). Memory stays bounded whatever
	// the log.
	const maxHosts = 20
	type state struct {
		line     int
		count    int
		evidence string
		hps      []string
		defaults bool
	}
	found := make([]*state, len(Signatures))
	requires := make([]bool, len(Signatures))
	lineNo := 0
	for {
		line, err := readLine(br)
		if len(line) > 0 || err == nil {
			lineNo++
			text := string(bytes.ToValidUTF8(line, []byte("?")))
			if app == "" && res.App == "" {
				if m := scmHost.FindStringSubmatch(text); m != nil {
					res.App = strings.ToLower(m[1])
				}
			}
			for i := range Signatures {
				s := &Signatures[i]
				if s.Requires != nil && !requires[i] && s.Requires.MatchString(text) {
					requires[i] = true
				}
				if !s.Match.MatchString(text) {
					continue
				}
				st := found[i]
				if st == nil {
					st = &state{line: lineNo, evidence: report.Printable(cut(strings.TrimSpace(text), 240))}
					found[i] = st
				}
				st.count++
				var hps []string
				if s.HostFrom != nil {
					if m := s.HostFrom.FindStringSubmatch(text); m != nil {
						for _, g := range m[1:] {
							if g == "" {
								continue
							}
							if hp := hostPort(g); hp != "" {
								hps = append(hps, hp)
								h, _, _ := strings.Cut(hp, ":")
								hps = append(hps, s.Companions[h]...)
							}
							break
						}
					}
				}
				if len(hps) == 0 {
					st.defaults = true
				}
				for _, hp := range hps {
					if len(st.hps) < maxHosts && !slices.Contains(st.hps, hp) {
						st.hps = append(st.hps, hp)
					}
				}
			}
		}
		if err != nil {
			if err != io.EOF {
				return nil, fmt.Errorf("reading %s: %w", name, err)
			}
			break
		}
	}
	res.Lines = lineNo
	if app != "" {
		res.App = strings.ToLower(app)
	}
	cat := egress.DefaultCatalog()
	for i, st := range found {
		s := &Signatures[i]
		if st == nil || (s.Requires != nil && !requires[i]) {
			continue
		}
		hps := st.hps
		if len(hps) == 0 && st.defaults {
			hps = s.Defaults
		}
		m := Match{Signature: s.ID, Tool: s.Tool, Meaning: s.Meaning, Source: s.Source, Line: st.line, Count: st.count,
			Evidence: st.evidence, Note: s.Note}
		for _, hp := range hps {
			m.Destinations = append(m.Destinations, destination(hp, res.App, cat))
		}
		res.Matches = append(res.Matches, m)
	}
	// A match that names only what a more specific match of the same
	// tool (earlier in Signatures) already named adds nothing; the generic
	// timeout without a host neither, beside any other match.
	// (res.Matches is in the order of Signatures, most specific first.)
	var keep []Match
	for i, m := range res.Matches {
		redundant := m.Signature == "http-timeout" && len(m.Destinations) == 0 && len(res.Matches) > 1
		for j := 0; j < i && !redundant; j++ {
			o := res.Matches[j]
			if o.Tool == m.Tool && covers(o.Destinations, m.Destinations) {
				redundant = true
			}
		}
		if !redundant {
			keep = append(keep, m)
		}
	}
	res.Matches = keep
	sort.SliceStable(res.Matches, func(i, j int) bool { return res.Matches[i].Line < res.Matches[j].Line })
	return res, nil
}

// readLine returns one line without its end, at most MaxLineBytes (the
// rest of a longer line comes as further lines).
func readLine(br *bufio.Reader) ([]byte, error) {
	var out []byte
	for {
		frag, err := br.ReadSlice('\n')
		out = append(out, frag...)
		if err == bufio.ErrBufferFull {
			if len(out) >= MaxLineBytes {
				return out, nil
			}
			continue
		}
		out = bytes.TrimRight(out, "\r\n")
		return out, err
	}
}

func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// hostPort turns a URL or "host:port" into "host:port".
func hostPort(s string) string {
	if m := urlHost.FindStringSubmatch(s); m != nil {
		port := m[2]
		if port == "" {
			port = "443"
			if strings.HasPrefix(strings.ToLower(s), "http://") {
				port = "80"
			}
		}
		h := strings.ToLower(strings.TrimSuffix(m[1], "."))
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || !validHost(h) {
			return ""
		}
		return h + ":" + port
	}
	h, p, ok := strings.Cut(s, ":")
	if !ok {
		p = "443"
	}
	if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 || !validHost(h) {
		return ""
	}
	return strings.ToLower(h) + ":" + p
}

func validHost(h string) bool {
	if h == "" || len(h) > 253 || !strings.Contains(h, ".") {
		return false
	}
	for _, c := range h {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

func destination(hp, app string, cat *egress.Catalog) Destination {
	h, p, _ := strings.Cut(hp, ":")
	port, _ := strconv.Atoi(p)
	d := Destination{Host: h, Port: port}
	if strings.Contains(h, "{app}") {
		if app != "" {
			d.Host = strings.ReplaceAll(h, "{app}", app)
		} else {
			d.Host = strings.ReplaceAll(h, "{app}", "<app>")
			d.Placeholder = true
		}
	}
	lookup := strings.ReplaceAll(d.Host, "<app>", "app")
	if m := cat.Match(lookup, port, "HTTPS"); m != nil {
		d.Service = &ServiceRef{ID: m.Service.ID, Name: m.Service.Name, Source: m.Service.Source, AsOf: m.Service.AsOf}
	}
	return d
}

func covers(a, b []Destination) bool {
	for _, x := range b {
		found := false
		for _, y := range a {
			found = found || (x.Host == y.Host && x.Port == y.Port)
		}
		if !found {
			return false
		}
	}
	return true
}
