package cli

import (
	"crypto/x509"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kensa-project/kensa/internal/cert/certtest"
	"github.com/kensa-project/kensa/internal/egress/reach/reachtest"
	"github.com/kensa-project/kensa/internal/fips/cluster"
	"github.com/kensa-project/kensa/internal/fips/cluster/clustertest"
	"github.com/kensa-project/kensa/internal/fips/host/hosttrees"
	"github.com/kensa-project/kensa/internal/fipstest"
	"github.com/kensa-project/kensa/internal/schematest"
)

// schemaCases are, for every command of the command table, runs on real
// input (arguments without --format) whose reports TestEveryCommandValidates
// checks against the schemas. A case makes its inputs in dir. Adding a
// command is adding its row: the test fails for a command without one.
//
// Between them a command's runs must give at least one result and one
// finding, so that the schema's definitions of both are exercised.
var schemaCases = map[string]func(t *testing.T, dir string) [][]string{
	// Go binaries built by the real toolchain: the standard library's
	// crypto (noncompliant) and the Go Cryptographic Module (compliant).
	"fips scan": func(t *testing.T, dir string) [][]string {
		s, err := fipstest.Build()
		if err != nil {
			t.Fatal(err)
		}
		return [][]string{{"fips", "scan", "--at", "2026-11-24", s.Path(t, "go_std"), s.Path(t, "go_fips_v100")}}
	},
	// Host trees of documented file contents: a FIPS node whose
	// containers load OpenSSL without the provider, and a RHEL 10 host.
	"fips host": func(t *testing.T, dir string) [][]string {
		var runs [][]string
		for _, name := range []string{"aks-fips-node", "rhel10-fips"} {
			root := filepath.Join(dir, name)
			if err := hosttrees.Write(root, name); err != nil {
				t.Fatal(err)
			}
			runs = append(runs, []string{"fips", "host", "--root", root})
		}
		return runs
	},
	// A real API server with two AKS-like FIPS nodes: one whose report
	// comes from fips host on a host tree (a file named after the node),
	// one that did not report (node-not-reported).
	"fips cluster": func(t *testing.T, dir string) [][]string {
		cp := clustertest.Start(t, clustertest.Options{})
		const name = "aks-fipspool-12345678-vmss000000"
		node := `{"apiVersion":"v1","kind":"Node","metadata":{"name":"` + name + `","labels":{"` + cluster.LabelAKSPool + `":"fipspool","` + cluster.LabelAKSFIPS + `":"true","` + cluster.LabelOS + `":"linux"}}}`
		for _, n := range []string{name, strings.TrimSuffix(name, "0") + "1"} {
			if out, err := cp.Kubectl(t, strings.ReplaceAll(node, name, n), "apply", "-f", "-"); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
		}
		root := filepath.Join(dir, "aks-fips-node")
		if err := hosttrees.Write(root, "aks-fips-node"); err != nil {
			t.Fatal(err)
		}
		rep := writeReport(t, dir, name+".json", "fips", "host", "--root", root)
		return [][]string{{"fips", "cluster", "--kubeconfig", cp.Kubeconfig, "--no-published", "--no-workloads", "--node-reports", rep}}
	},
	// A new certificate with the old key (key-mismatch).
	"cert check": func(t *testing.T, dir string) [][]string {
		p := certPKI(t, dir)
		return [][]string{{"cert", "check", "--at", "2026-06-01", "--roots", p.roots, "--cert", p.newCert, "--key", p.oldKey, "--chain", p.inter}}
	},
	// Real TLS servers on loopback: one serving the old certificate, one
	// the new without its intermediate.
	"cert probe": func(t *testing.T, dir string) [][]string {
		p := certPKI(t, dir)
		return [][]string{{"cert", "probe", "--at", "2026-06-01", "--roots", p.roots, "--expect", p.newCert,
			"--connect", p.stale, "--connect", p.nochain, "--servername", "example.com"}}
	},
	// One round over watchFleet's servers (expired, expiring, chain
	// incomplete, an endpoint whose addresses disagree), and one over a
	// directory of certificate files, one of them not a certificate.
	"cert watch": func(t *testing.T, dir string) [][]string {
		targets, roots := watchFleet(t, dir)
		p := certPKI(t, dir)
		certs := filepath.Join(dir, "certs")
		os.Mkdir(certs, 0o755)
		for name, from := range map[string]string{"new.crt": p.newCert, "inter.pem": p.inter} {
			data, err := os.ReadFile(from)
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(certs, name), data, 0o644)
		}
		os.WriteFile(filepath.Join(certs, "junk.pem"), []byte("-----BEGIN CERTIFICATE-----\nnot base64\n"), 0o644)
		return [][]string{
			{"cert", "watch", "--once", "--targets", targets, "--roots", roots},
			{"cert", "watch", "--once", "--at", "2026-06-01", "--dir", certs, "--roots", p.roots},
		}
	},
	// Saved AWS CLI output (internal/cert/testdata/inventory/README.md).
	"cert inventory": func(t *testing.T, dir string) [][]string {
		inv := filepath.Join("..", "cert", "testdata", "inventory")
		args := []string{"cert", "inventory", "--at", "2026-12-04", "--targets", filepath.Join(inv, "mine.yaml")}
		for _, f := range []string{"acm-describe.json", "acm-list.json", "elbv2.json", "listener-certs-f2f7dc8efc522ab2.json"} {
			args = append(args, "--aws", filepath.Join(inv, f))
		}
		return [][]string{args}
	},
	// Azure Firewall and Squid logs.
	"egress analyze": func(t *testing.T, dir string) [][]string {
		return [][]string{{"egress", "analyze", egressFixture("azfw.log"), egressFixture("access.log")}}
	},
	// Azure Firewall policies (ARM exports) against a profile and --dest.
	"egress whatif": func(t *testing.T, dir string) [][]string {
		td := filepath.Join("..", "egress", "policy", "testdata")
		return [][]string{{"egress", "whatif",
			"--policy", filepath.Join(td, "arm-policies.json"), "--policy", filepath.Join(td, "arm-rcg-hub.json"), "--policy", filepath.Join(td, "arm-rcg-app.json"),
			"--profile", "appservice-linux-python", "--app", "orders-api", "--dest", "api.contoso.example", "--dest", "paste.example.org",
			"--dest", "tcp://stordersapi.file.core.windows.net:445", "--source", "10.0.3.0/24"}}
	},
	// A failed func publish log, with the firewall policy that denied it.
	"egress explain": func(t *testing.T, dir string) [][]string {
		return [][]string{{"egress", "explain", "--app", "orders-api",
			"--policy", filepath.Join("..", "egress", "policy", "testdata", "az-rcg-list.json"), "--source", "10.0.2.0/24",
			filepath.Join("..", "egress", "explain", "testdata", "func-publish.txt")}}
	},
	// A DNS server and an HTTPS origin on loopback; a firewall resetting
	// after the ClientHello; a name that does not resolve.
	"egress check": func(t *testing.T, dir string) [][]string {
		resolver, ok, reset := reachNet(t)
		ca := filepath.Join(dir, "ca.pem")
		if err := os.WriteFile(ca, resolver.ca, 0o644); err != nil {
			t.Fatal(err)
		}
		return [][]string{{"egress", "check", "--resolver", resolver.addr, "--ca", ca,
			"--dest", "https://ok.test:" + ok, "--dest", "https://reset.test:" + reset, "--dest", "nx.test"}}
	},
	// Two egress analyze reports (each result keeps its source) and two
	// fips host reports (a DaemonSet's nodes).
	"report merge": func(t *testing.T, dir string) [][]string {
		a := writeReport(t, dir, "a.json", "egress", "analyze", egressFixture("azfw.log"))
		b := writeReport(t, dir, "b.json", "egress", "analyze", egressFixture("access.log"))
		var hosts []string
		for _, name := range []string{"aks-fips-node", "ubuntu-pro-fips"} {
			root := filepath.Join(dir, name)
			if err := hosttrees.Write(root, name); err != nil {
				t.Fatal(err)
			}
			hosts = append(hosts, writeReport(t, dir, name+".json", "fips", "host", "--root", root))
		}
		return [][]string{{"report", "merge", a, b}, append([]string{"report", "merge"}, hosts...)}
	},
	// A baseline of one log against a report of two: new and unchanged.
	"report diff": func(t *testing.T, dir string) [][]string {
		old := writeReport(t, dir, "old.json", "egress", "analyze", egressFixture("azfw.log"))
		cur := writeReport(t, dir, "new.json", "egress", "analyze", egressFixture("azfw.log"), egressFixture("access.log"))
		return [][]string{{"report", "diff", "--baseline", old, cur}}
	},
}

// TestEveryCommandValidates runs every command of the command table on
// real input (schemaCases) and validates what it writes: --format json
// against docs/kensa-v1.schema.json, where the command must have its own
// result and summary definitions (not the envelope only); --format sarif
// against the OASIS SARIF 2.1.0 schema; --format cyclonedx, for the
// commands that inventory crypto, against CycloneDX 1.6. Outside CI the
// test skips when ../shared/schemas is missing; under CI it fails.
func TestEveryCommandValidates(t *testing.T) {
	kensa := schematest.Kensa(t)
	sarif := schematest.Official(t, schematest.SARIF)
	cdx := schematest.Official(t, schematest.CycloneDX)
	defined := schemaCommands(t)
	for _, c := range commands {
		if c.name == "version" {
			continue
		}
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			mk, ok := schemaCases[c.name]
			if !ok {
				t.Fatalf("%s has no row in schemaCases (schemas_test.go): its reports are not validated", c.name)
			}
			var results, findings, sarifResults int
			for _, args := range mk(t, t.TempDir()) {
				code, out, stderr := run(t, append(args, "--format", "json")...)
				if code != ExitOK && code != ExitFindings {
					t.Fatalf("kensa %q --format json: exit %d\n%s", args, code, stderr)
				}
				schematest.Validate(t, kensa, "kensa "+strings.Join(args, " ")+" --format json", []byte(out))
				var rep struct {
					Command  string
					Results  []json.RawMessage
					Findings []json.RawMessage
				}
				if err := json.Unmarshal([]byte(out), &rep); err != nil {
					t.Fatal(err)
				}
				if rep.Command != c.name && c.name != "report merge" {
					t.Errorf("kensa %q wrote a report of command %q", args, rep.Command)
				}
				if !defined[rep.Command] {
					t.Errorf("docs/kensa-v1.schema.json has no allOf entry for %q: its results and summary are not checked", rep.Command)
				}
				results += len(rep.Results)
				findings += len(rep.Findings)

				code, out, stderr = run(t, append(args, "--format", "sarif")...)
				if code != ExitOK && code != ExitFindings {
					t.Fatalf("kensa %q --format sarif: exit %d\n%s", args, code, stderr)
				}
				schematest.Validate(t, sarif, "kensa "+strings.Join(args, " ")+" --format sarif", []byte(out))
				var log struct {
					Runs []struct{ Results []json.RawMessage }
				}
				if err := json.Unmarshal([]byte(out), &log); err != nil || len(log.Runs) != 1 {
					t.Fatalf("SARIF of %q: %v, %d runs", args, err, len(log.Runs))
				}
				sarifResults += len(log.Runs[0].Results)

				if domains[rep.Command].cyclonedx == nil {
					continue
				}
				code, out, stderr = run(t, append(args, "--format", "cyclonedx")...)
				if code != ExitOK && code != ExitFindings {
					t.Fatalf("kensa %q --format cyclonedx: exit %d\n%s", args, code, stderr)
				}
				schematest.Validate(t, cdx, "kensa "+strings.Join(args, " ")+" --format cyclonedx", []byte(out))
				var bom struct{ Components []json.RawMessage }
				if err := json.Unmarshal([]byte(out), &bom); err != nil || len(bom.Components) == 0 {
					t.Errorf("CBOM of %q: %v, %d components", args, err, len(bom.Components))
				}
			}
			if results == 0 || findings == 0 || sarifResults == 0 {
				t.Errorf("the case of %s gives %d results, %d findings, %d SARIF results: it must give some of each to exercise the schemas", c.name, results, findings, sarifResults)
			}
		})
	}
	for name := range schemaCases {
		if !slices.ContainsFunc(commands, func(c command) bool { return c.name == name }) {
			t.Errorf("schemaCases has a row for %q, which is not a command", name)
		}
	}
}

// schemaCommands returns the commands docs/kensa-v1.schema.json has an
// allOf entry for (results and summary of their own).
func schemaCommands(t *testing.T) map[string]bool {
	t.Helper()
	dir, err := schematest.KensaDir()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, schematest.KensaFile))
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		AllOf []struct {
			If struct {
				Properties struct {
					Command struct{ Const string }
				}
			}
			Then struct {
				Properties map[string]json.RawMessage
			}
		}
	}
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, e := range s.AllOf {
		if _, ok := e.Then.Properties["results"]; ok && e.If.Properties.Command.Const != "" {
			out[e.If.Properties.Command.Const] = true
		}
	}
	return out
}

// writeReport runs kensa with --format json and writes its report to
// dir/name for the report commands to read.
func writeReport(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	code, out, stderr := run(t, append(args, "--format", "json")...)
	if code != ExitOK && code != ExitFindings {
		t.Fatalf("kensa %q: exit %d\n%s", args, code, stderr)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// testPKI is a PKI in files (certificates dated around certtest.Now) and
// two TLS servers on loopback.
type testPKI struct {
	roots, inter, newCert, oldKey string
	stale, nochain                string
}

func certPKI(t *testing.T, dir string) testPKI {
	t.Helper()
	root := certtest.NewRoot("Schema Test Root", certtest.P256)
	inter := root.Intermediate("Schema Test CA", certtest.P256)
	names := []string{"example.com", "www.example.com"}
	newLeaf, newKey := inter.Issue(certtest.Leaf{DNS: names, KeyType: certtest.P256})
	oldLeaf, oldKey := inter.Issue(certtest.Leaf{DNS: append(names, "api.example.com"), KeyType: certtest.P256,
		NotBefore: certtest.Now.AddDate(0, -5, 0), Days: 200})
	p := testPKI{
		roots:   filepath.Join(dir, "root.pem"),
		inter:   filepath.Join(dir, "inter.pem"),
		newCert: filepath.Join(dir, "new.crt"),
		oldKey:  filepath.Join(dir, "old.key"),
	}
	for f, data := range map[string][]byte{p.roots: certtest.PEM(root.Cert), p.inter: certtest.PEM(inter.Cert),
		p.newCert: certtest.PEM(newLeaf), p.oldKey: certtest.KeyPEM(oldKey)} {
		if err := os.WriteFile(f, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var stop func()
	p.stale, stop = certtest.Serve(certtest.Served{Chain: []*x509.Certificate{oldLeaf, inter.Cert}, Key: oldKey}, nil)
	t.Cleanup(stop)
	p.nochain, stop = certtest.Serve(certtest.Served{Chain: []*x509.Certificate{newLeaf}, Key: newKey}, nil)
	t.Cleanup(stop)
	return p
}

// loopResolver is a DNS server on loopback and the root of the
// certificates its names are served with.
type loopResolver struct {
	addr string
	ca   []byte
}

// reachNet starts a DNS server answering ok.test and reset.test with
// 127.0.0.1 (NXDOMAIN otherwise), an HTTPS origin for ok.test and a
// firewall that resets after the ClientHello; it returns the resolver and
// the two ports.
func reachNet(t *testing.T) (r loopResolver, ok, reset string) {
	t.Helper()
	dns := reachtest.NewDNS()
	dns.Add("ok.test", "127.0.0.1")
	dns.Add("reset.test", "127.0.0.1")
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go dns.ServeUDP(pc)
	pki := reachtest.NewPKI("schema test root")
	listen := func(f func(net.Listener)) string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		go f(l)
		return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	}
	ok = listen(func(l net.Listener) { reachtest.ServeHTTPS(l, pki.Cert("ok.test"), "hi") })
	reset = listen(func(l net.Listener) { reachtest.ResetAfterHello(l, true) })
	return loopResolver{addr: pc.LocalAddr().String(), ca: pki.PEM()}, ok, reset
}
