package cli

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/kensa-project/kensa/internal/cert"
	"github.com/kensa-project/kensa/internal/limitio"
	"github.com/kensa-project/kensa/internal/report"
)

const certCheckUsage = `Usage: kensa cert check --cert FILE [flags]

Checks a new certificate bundle before the change: that the key matches,
that the chain is complete with only the intermediates you supplied (no AIA
fetching, no platform verifier), that no name of the certificate in service
is dropped, that it is newer, and that its validity, key and signature pass
the CA/Browser Forum and NIST rules.

Examples:
    kensa cert check --cert new.crt --key new.key --chain intermediate.crt \
                     --current old.crt
    kensa cert check --cert new.pfx --password-file pw \
                     --current-endpoint lb.example.com:443
    kensa cert check --cert fullchain.pem --key new.key \
                     --servername example.com --servername www.example.com
    kensa cert check --cert internal.crt --roots corp-root.pem --private \
                     --format json

Inputs:
    --cert FILE            the new certificate: PEM, DER, a fullchain bundle, or
                           PKCS#12 (.pfx/.p12, leaf, key and chain in one file)
    --key FILE             its private key: PKCS#1, PKCS#8, SEC1, encrypted
                           PKCS#8 (never printed or written anywhere)
    --chain FILE           intermediates to serve with it (repeatable)
    --password-file FILE   password of an encrypted key or PKCS#12 file
                           (its first line)
    --password-env NAME    ... or from the environment variable NAME (never
                           a flag value: it would show in ps and shell history)

Compare with the certificate in service:
    --current FILE         the certificate in service now
    --current-endpoint HOST[:PORT]
                           ... or what HOST serves now (SNI: HOST, or the
                           first --servername)

Checks:
    --servername NAME      a name the certificate must cover (repeatable;
                           Unicode names such as 例え.jp are checked as their
                           A-labels, xn--r8jz45g.jp)
    --roots FILE           trust anchors, PEM (default: the system bundle read
                           as PEM; the Mozilla set where there is none)
    --min-remaining D|P%   warn when less validity is left (30d, 720h, 20%;
                           default a third of the lifetime; 0d: never)
    --private              a private PKI: skip the CA/B Forum maximum validity
                           and the public-CA key algorithms (Ed25519, Ed448)
    --timeout D            connection timeout for --current-endpoint
                           (default 10s)
    --record FILE          write the current and new certificates' facts (and
                           PEM, never a key) for the contingency plan

Output:
    --format text|json|sarif, --output FILE, --fail-on error|warning|never,
    --at TIME (evaluate expiry as of TIME)

Exit codes: 0 no finding at or above --fail-on (default error), 1 findings,
2 kensa could not read the inputs.
`

const certProbeUsage = `Usage: kensa cert probe [flags] [ADDRESS...]

Connects to every address × server name (every IP a name resolves to),
and checks what is served: the chain verified with only the served
intermediates, the name, the expiry, and that it is the certificate you
expect. An endpoint that cannot be reached is a finding (exit 1), never a
success. --record keeps what every endpoint serves; --baseline shows what
changed since, with the rollback plan.

Examples:
    kensa cert probe --expect new.crt \
                     --connect 10.0.0.5:443 --connect 10.0.0.6:443 \
                     --servername example.com --servername www.example.com
    kensa cert probe --targets endpoints.yaml --record before.json
    kensa cert probe --targets endpoints.yaml --expect new.crt \
                     --baseline before.json

Endpoints:
    --connect ADDR         HOST[:PORT] or IP[:PORT] to probe (repeatable; also
                           positional). Port 443 by default.
    --servername NAME      server name sent with SNI and checked (repeatable;
                           default the host of ADDR; Unicode names are sent
                           and checked as their A-labels)
    --no-sni               also handshake without SNI (what old clients get)
    --targets FILE         YAML list of endpoints:
                               endpoints:
                                 - name: public
                                   addresses: [10.0.0.5:443, lb2.example.com]
                                   servernames: [example.com, www.example.com]
                                   no_sni: true
                                   expect: [SHA256 of the certificate it serves]

Checks:
    --expect FILE|SHA256   the certificate every endpoint must serve
                           (repeatable; a targets file's "expect:" overrides
                           it per endpoint)
    --roots FILE           trust anchors, PEM (default as for cert check)
    --min-remaining D|P%   warn when less validity is left (default a third of
                           the lifetime)
    --tls-posture          also report the negotiated version, suite and key
                           exchange group, whether the endpoint accepts each
                           hybrid post-quantum group offered alone
                           (X25519MLKEM768, SecP256r1MLKEM768,
                           SecP384r1MLKEM1024) and whether a client in FIPS
                           140-3 mode could connect (4 more handshakes each)

Record and rollback:
    --record FILE          write what every endpoint serves (certificates and
                           PEM)
    --baseline FILE        compare with a record: what changed, and the
                           certificate each endpoint served before

Limits:
    --timeout D            per connection, dial and handshake (default 5s)
    --concurrency N        handshakes at once (default 32)

Output:
    --format text|json|sarif, --output FILE, --fail-on error|warning|never,
    --at TIME (evaluate expiry as of TIME)

Exit codes: 0 no finding at or above --fail-on (default error), 1 findings
(an endpoint that could not be reached is one), 2 kensa could not read the
inputs.
`

// refusePasswordArgs refuses a password given as a flag value (--password,
// --pass, --passin, -passwd and their "=" forms), before flag parsing so
// that no error message repeats the value.
func refusePasswordArgs(args []string) error {
	for _, a := range args {
		if a == "--" {
			return nil
		}
		if !strings.HasPrefix(a, "-") {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch name {
		case "password", "pass", "passin", "passwd", "pw":
			return usageErrorf("kensa takes no password as a flag value (--%s): it would show in ps and shell history", name).
				withHint("put it in a file readable only by you and give --password-file FILE, or export it and give --password-env NAME")
		}
	}
	return nil
}

func runCertCheck(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet("cert check")
	common := addCommon(fs, "error")
	var (
		certFile, keyFile, pwFile, pwEnv, current, currentEP, rootsFile, minRem, record string
		chains, names                                                                   stringList
		private                                                                         bool
		timeout                                                                         = 10 * time.Second
	)
	fs.StringVar(&certFile, "cert", "", "")
	fs.StringVar(&keyFile, "key", "", "")
	fs.Var(&chains, "chain", "")
	fs.StringVar(&pwFile, "password-file", "", "")
	fs.StringVar(&pwEnv, "password-env", "", "")
	fs.StringVar(&current, "current", "", "")
	fs.StringVar(&currentEP, "current-endpoint", "", "")
	fs.Var(&names, "servername", "")
	fs.StringVar(&rootsFile, "roots", "", "")
	fs.StringVar(&minRem, "min-remaining", "", "")
	fs.BoolVar(&private, "private", false, "")
	fs.DurationVar(&timeout, "timeout", timeout, "")
	fs.StringVar(&record, "record", "", "")
	if err := refusePasswordArgs(args); err != nil {
		return err
	}
	pos, err := parseCommand(env, fs, common, certCheckUsage+findingsHelp("docs/cert.md", cert.Checks), args)
	if err != nil || pos == nil {
		return err
	}
	if len(pos) > 0 {
		if certFile != "" || len(pos) > 1 {
			return usageErrorf("cert check: unexpected argument %q", pos[0]).withHint("give the certificate with --cert FILE and intermediates with --chain FILE")
		}
		certFile = pos[0]
	}
	if certFile == "" {
		return usageErrorf("cert check needs the new certificate").withHint("kensa cert check --cert new.crt --key new.key --chain intermediate.crt")
	}
	if err := checkOutput("--record", record); err != nil {
		return err
	}
	if current != "" && currentEP != "" {
		return usageErrorf("--current and --current-endpoint both name the certificate in service").withHint("give one of them")
	}
	if setFlags(fs)["timeout"] && currentEP == "" {
		return usageErrorf("--timeout bounds the connection of --current-endpoint, and --current-endpoint is not given").
			withHint("add --current-endpoint HOST[:PORT], or drop --timeout")
	}
	if err := checkTimeout(timeout); err != nil {
		return err
	}
	threshold, err := parseThresholdFlag(minRem)
	if err != nil {
		return err
	}
	if names, err = asciiServerNames(names, false); err != nil {
		return err
	}
	password, err := readPassword(env, pwFile, pwEnv)
	if err != nil {
		return err
	}
	roots, err := loadRoots(env, rootsFile)
	if err != nil {
		return err
	}

	in := cert.CheckInput{CertFrom: certFile, Roots: roots, At: common.at, ServerNames: names, Remaining: threshold, Private: private}
	b, err := loadBundle(certFile, password, "--cert")
	if err != nil {
		return err
	}
	if len(b.Certs) == 0 {
		return usageErrorf("%s holds a private key but no certificate", certFile).withHint("give the certificate with --cert and the key with --key")
	}
	in.Certs = b.Certs
	if b.Key != nil {
		in.Key, in.KeyFrom = b.Key, certFile
	}
	if keyFile != "" {
		kb, err := loadBundle(keyFile, password, "--key")
		if err != nil {
			return err
		}
		if kb.Key == nil {
			return usageErrorf("%s holds no private key", keyFile).withHint("--key takes a PEM or DER private key (PKCS#1, PKCS#8, SEC1, encrypted PKCS#8)")
		}
		in.Key, in.KeyFrom = kb.Key, keyFile
	}
	for _, c := range chains {
		cb, err := loadBundle(c, password, "--chain")
		if err != nil {
			return err
		}
		for i, x := range cb.Certs {
			from := c
			if len(cb.Certs) > 1 {
				from = fmt.Sprintf("%s #%d", c, i+1)
			}
			in.Chain = append(in.Chain, cert.Supplied{Cert: x, From: from})
		}
	}
	switch {
	case current != "":
		cb, err := loadBundle(current, password, "--current")
		if err != nil {
			return err
		}
		if len(cb.Certs) == 0 {
			return usageErrorf("%s holds no certificate", current)
		}
		in.Current, in.CurrentFrom = cb.Certs[0], current
		if i := firstLeaf(cb.Certs); i >= 0 {
			in.Current = cb.Certs[i]
		}
	case currentEP != "":
		c, err := fetchCurrent(ctx, currentEP, names, timeout, common.at)
		if err != nil {
			return err
		}
		in.Current, in.CurrentFrom = c, currentEP
	}

	res, findings := cert.Check(in)
	rep := newReport(env, "cert check", common.at)
	rep.Results = []cert.CheckResult{res}
	rep.Findings = append(rep.Findings, findings...)
	rep.Summary = cert.SummarizeCheck(rep.Findings)
	if record != "" {
		if err := writeRecord(env, record, cert.NewCheckRecord(res, common.at)); err != nil {
			return err
		}
	}
	warnRoots(env, roots)
	return finish(env, common, outcome{rep: rep, text: func(t *textWriter) { writeCheckText(t, res, rep) }})
}

// writeRecord writes a record. A record it replaces is kept as FILE.prev:
// the "before" command run again after the change must not destroy the
// only copy of the previous certificates.
func writeRecord(env *Env, path string, rec *cert.Record) error {
	// The facts are as of --at; recorded_at is when it was recorded.
	rec.RecordedAt = generatedAt(env).UTC()
	data, err := rec.Marshal()
	if err == nil {
		if _, serr := os.Stat(path); serr == nil {
			if err = os.Rename(path, path+".prev"); err == nil {
				fmt.Fprintf(env.Stderr, "kensa: note: %s existed; the record it held is kept as %s.prev\n", path, path)
			}
		}
	}
	if err == nil {
		err = writeFileAtomic(path, data)
	}
	if err != nil {
		return usageErrorf("writing the record to %s: %v", path, unwrapPath(err)).withHint("check that the directory of --record exists and is writable")
	}
	return nil
}

// checkTimeout bounds --timeout: zero or negative would fail every
// connection at once, more than ten minutes is a typo.
func checkTimeout(d time.Duration) error {
	if d <= 0 || d > 10*time.Minute {
		return usageErrorf("--timeout %s is outside 1ms..10m", d).withHint("write a duration such as 5s or 1m")
	}
	return nil
}

func firstLeaf(cs []*x509.Certificate) int {
	for i, c := range cs {
		if !c.IsCA {
			return i
		}
	}
	return -1
}

func parseThresholdFlag(s string) (cert.Threshold, error) {
	if s == "" {
		return cert.Threshold{}, nil
	}
	t, err := cert.ParseThreshold(s, parseDuration)
	if err != nil {
		return t, usageErrorf("--min-remaining: %v", err).withHint("write 30d, 720h or 20%%")
	}
	return t, nil
}

// readPassword reads the password from a file (its first line) or an
// environment variable. nil means none was given.
func readPassword(env *Env, file, envName string) ([]byte, error) {
	switch {
	case file != "" && envName != "":
		return nil, usageErrorf("--password-file and --password-env both give the password").withHint("give one of them")
	case file != "":
		data, err := limitio.ReadFile(file, 4096, "a password file")
		if err != nil {
			return nil, usageErrorf("reading the password: %v", err).withHint("--password-file takes a file whose first line is the password")
		}
		line, _, _ := strings.Cut(string(data), "\n")
		return []byte(strings.TrimSuffix(line, "\r")), nil
	case envName != "":
		v, ok := lookupEnv(env, envName)
		if !ok {
			return nil, usageErrorf("--password-env %s: the variable is not set, or empty", envName).withHint("export %s before running kensa, or use --password-file FILE", envName)
		}
		return []byte(v), nil
	}
	return nil, nil
}

// lookupEnv reads name; an empty value counts as unset (Env.Getenv cannot
// tell them apart, and an empty password is never meant).
func lookupEnv(env *Env, name string) (string, bool) {
	v := env.Getenv(name)
	return v, v != ""
}

func loadRoots(env *Env, file string) (*cert.Roots, error) {
	if file != "" {
		r, err := cert.LoadRoots(file)
		if err != nil {
			return nil, usageErrorf("%v", err).withHint("--roots takes a PEM file of root certificates")
		}
		return r, nil
	}
	r, err := cert.DefaultRoots(env.Getenv)
	if err != nil {
		return nil, usageErrorf("reading the system roots: %v", err).withHint("give trust anchors with --roots FILE")
	}
	return r, nil
}

// warnRoots says when the trust anchors hold certificates that are not
// self-signed roots: they make a missing intermediate look present.
func warnRoots(env *Env, r *cert.Roots) {
	if len(r.NotRoots) == 0 {
		return
	}
	var names []string
	for _, c := range r.NotRoots {
		names = append(names, fmt.Sprintf("%q", cert.ShortName(c)))
	}
	if len(names) > 5 {
		names = append(names[:5], fmt.Sprintf("and %d more", len(names)-5))
	}
	fmt.Fprintf(env.Stderr, "kensa: warning: the trust anchors (%s) hold certificates that are not self-signed roots (%d): %s\n",
		r.Source, len(r.NotRoots), strings.Join(names, ", "))
	fmt.Fprintf(env.Stderr, "kensa: hint: an intermediate among the roots hides a missing one; give --roots a file of roots only\n")
}

func loadBundle(file string, password []byte, flagName string) (*cert.Bundle, error) {
	data, err := readInput(file)
	if err != nil {
		return nil, usageErrorf("%s %s: %v", flagName, file, unwrapPath(err)).withHint("%s", inputHint(flagName))
	}
	b, err := cert.ParseBundle(data, password)
	switch {
	case errors.Is(err, cert.ErrPasswordRequired) && flagName == "--expect":
		return nil, usageErrorf("%s %s: %v", flagName, file, err).withHint("give --expect the certificate alone (openssl pkcs12 -in %s -nokeys -clcerts -out new.crt) or its SHA-256 fingerprint", file)
	case errors.Is(err, cert.ErrPasswordRequired):
		return nil, usageErrorf("%s %s: %v", flagName, file, err).withHint("give the password with --password-file FILE or --password-env NAME")
	case errors.Is(err, cert.ErrIncorrectPassword):
		return nil, usageErrorf("%s %s: %v", flagName, file, err).withHint("check the password file (its first line is the password) or the variable")
	case err != nil:
		return nil, usageErrorf("%s %s: %v", flagName, file, err).withHint("kensa reads PEM, DER and PKCS#12 certificates and PKCS#1, PKCS#8 and SEC1 keys")
	}
	return b, nil
}

// readInput reads a certificate, key or targets file, refusing one larger
// than any such file is.
// inputHint says what a file flag of the cert commands takes.
func inputHint(flagName string) string {
	switch flagName {
	case "--key":
		return "--key takes the private key file (PEM or DER: PKCS#1, PKCS#8, SEC1)"
	case "--chain":
		return "--chain takes a file of intermediate certificates (PEM), one --chain per file"
	case "--current":
		return "--current takes the certificate in service (PEM or DER); --current-endpoint HOST reads it from the server instead"
	case "--expect":
		return "give the new certificate's file, or its SHA-256 fingerprint"
	}
	return "--cert takes the new certificate: PEM, DER, a fullchain bundle or PKCS#12"
}

func readInput(file string) ([]byte, error) {
	return limitio.ReadFile(file, cert.MaxFileSize, "a certificate file")
}

// fetchCurrent gets the leaf an endpoint serves now.
func fetchCurrent(ctx context.Context, addr string, names []string, timeout time.Duration, at time.Time) (*x509.Certificate, error) {
	host, _, err := cert.SplitAddress(addr)
	if err != nil {
		return nil, usageErrorf("--current-endpoint: %v", err)
	}
	sni := host
	if len(names) > 0 {
		sni = names[0]
	}
	results, _ := cert.ProbeAll(ctx, []cert.Endpoint{{Addresses: []string{addr}, ServerNames: []string{sni}}},
		cert.ProbeOptions{Roots: &cert.Roots{Pool: x509.NewCertPool()}, At: at, Timeout: timeout, Concurrency: 1})
	for _, r := range results {
		if r.OK {
			return r.Certificates()[0], nil
		}
	}
	msg := "no answer"
	if len(results) > 0 {
		msg = results[0].Error
	}
	return nil, usageErrorf("--current-endpoint %s: %s", addr, msg).
		withHint("kensa needs the certificate in service to compare with; give it with --current FILE if the endpoint is not reachable from here")
}

// idnHint explains what kensa accepts as a name.
const idnHint = "write the host name in Unicode (例え.jp) or as its A-labels (xn--r8jz45g.jp); kensa converts Unicode names with IDNA 2008 / UTS #46 (golang.org/x/net/idna, Lookup profile), which refuses empty labels, a leading or trailing hyphen, and disallowed characters"

// nameHint is the hint for a name kensa refused: how to write a host
// name, or how Unicode names are converted.
func nameHint(err error) string {
	if m := err.Error(); strings.Contains(m, "internationalized") || strings.Contains(m, "UTF-8") || strings.Contains(m, "xn--") {
		return idnHint
	}
	return "write a host name such as www.example.com: labels of letters, digits and hyphens (Unicode names such as 例え.jp are converted to A-labels)"
}

// asciiServerNames converts --servername values to the A-labels a
// certificate carries (see cert.ASCIIName); for probe (sni) they must be
// host names a client can send (cert.SNIName).
func asciiServerNames(names []string, sni bool) ([]string, error) {
	out := make([]string, 0, len(names))
	convert := cert.SNIName
	if !sni {
		// cert check: an IP address or a wildcard may be what the
		// certificate must cover.
		convert = func(n string) (string, error) {
			if net.ParseIP(strings.Trim(strings.TrimSpace(n), "[]")) != nil {
				return cert.ASCIIName(n)
			}
			if rest, ok := strings.CutPrefix(strings.TrimSpace(n), "*."); ok {
				a, err := cert.SNIName(rest)
				return "*." + a, err
			}
			return cert.SNIName(n)
		}
	}
	for _, n := range names {
		a, err := convert(n)
		if err != nil {
			return nil, usageErrorf("--servername: %v", err).withHint("%s", nameHint(err))
		}
		out = append(out, a)
	}
	return out, nil
}

// probeFlags are the endpoint, expectation and handshake flags that cert
// probe and cert watch share.
type probeFlags struct {
	connects, names, expects       stringList
	targetsFile, rootsFile, minRem string
	noSNI, posture                 bool
	timeout                        time.Duration
	concurrency                    int
}

func addProbeFlags(fs *flag.FlagSet) *probeFlags {
	p := &probeFlags{timeout: 5 * time.Second, concurrency: 32}
	fs.Var(&p.connects, "connect", "")
	fs.Var(&p.names, "servername", "")
	fs.Var(&p.expects, "expect", "")
	fs.StringVar(&p.targetsFile, "targets", "", "")
	fs.StringVar(&p.rootsFile, "roots", "", "")
	fs.StringVar(&p.minRem, "min-remaining", "", "")
	fs.BoolVar(&p.noSNI, "no-sni", false, "")
	fs.BoolVar(&p.posture, "tls-posture", false, "")
	fs.DurationVar(&p.timeout, "timeout", p.timeout, "")
	fs.IntVar(&p.concurrency, "concurrency", p.concurrency, "")
	return p
}

// check validates the limits, before any input is read.
func (p *probeFlags) check() error {
	if err := checkTimeout(p.timeout); err != nil {
		return err
	}
	if p.concurrency < 1 || p.concurrency > 4096 {
		return usageErrorf("--concurrency %d is outside 1..4096", p.concurrency)
	}
	return nil
}

// options reads the endpoints (--targets, --connect) and the roots, and
// returns them with the probe options the flags make (evaluated at at).
func (p *probeFlags) options(env *Env, at time.Time) ([]cert.Endpoint, cert.ProbeOptions, error) {
	var opts cert.ProbeOptions
	threshold, err := parseThresholdFlag(p.minRem)
	if err != nil {
		return nil, opts, err
	}
	names, err := asciiServerNames(p.names, true)
	if err != nil {
		return nil, opts, err
	}
	roots, err := loadRoots(env, p.rootsFile)
	if err != nil {
		return nil, opts, err
	}
	endpoints, err := gatherEndpoints(p.targetsFile, p.connects, names, p.noSNI)
	if err != nil {
		return nil, opts, err
	}
	opts = cert.ProbeOptions{Roots: roots, At: at, Timeout: p.timeout, Concurrency: p.concurrency, Remaining: threshold, Posture: p.posture}
	for _, e := range p.expects {
		fps, err := expectation(e)
		if err != nil {
			return nil, opts, err
		}
		opts.Expect = append(opts.Expect, fps...)
	}
	opts.ExpectFrom = strings.Join(p.expects, ", ")
	return endpoints, opts, nil
}

func runCertProbe(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet("cert probe")
	common := addCommon(fs, "error")
	pf := addProbeFlags(fs)
	var record, baseline string
	fs.StringVar(&record, "record", "", "")
	fs.StringVar(&baseline, "baseline", "", "")
	pos, err := parseCommand(env, fs, common, certProbeUsage+findingsHelp("docs/cert.md", cert.Checks), args)
	if err != nil || pos == nil {
		return err
	}
	pf.connects = append(pf.connects, pos...)
	if len(pf.connects) == 0 && pf.targetsFile == "" {
		return usageErrorf("cert probe needs endpoints").withHint("give --connect HOST:PORT (repeatable) with --servername NAME, or --targets FILE")
	}
	if err := pf.check(); err != nil {
		return err
	}
	if err := checkOutput("--record", record); err != nil {
		return err
	}
	if err := checkInput("--baseline", baseline, "give a file written by kensa cert probe --record"); err != nil {
		return err
	}
	endpoints, opts, err := pf.options(env, common.at)
	if err != nil {
		return err
	}
	roots := opts.Roots
	var base *cert.Record
	if baseline != "" {
		data, err := limitio.ReadFile(baseline, cert.MaxRecordSize, "a kensa record")
		if err == nil {
			base, err = cert.ParseRecord(data)
		}
		if err != nil {
			return usageErrorf("--baseline %s: %v", baseline, err).withHint("give a file written by kensa cert probe --record")
		}
	}
	prog := newProgress(env)
	opts.Progress = func(done, total int) { prog.update("kensa: probing %d/%d handshakes", done, total) }
	results, findings := cert.ProbeAll(ctx, endpoints, opts)
	prog.done()
	if _, reproducible, _ := sourceDateEpoch(env); reproducible {
		// A reproducible report leaves out what differs run to run
		// whatever the endpoints serve: how long each handshake took.
		for _, r := range results {
			r.HandshakeMS = 0
		}
	}
	if err := ctx.Err(); err != nil {
		return usageErrorf("interrupted: %v", err)
	}
	var plan []cert.RollbackStep
	if base != nil {
		var bf []report.Finding
		plan, bf = cert.CompareBaseline(results, base, len(opts.Expect) > 0)
		findings = append(findings, bf...)
	}
	if record != "" {
		if err := writeRecord(env, record, cert.NewProbeRecord(results, common.at)); err != nil {
			return err
		}
	}
	rep := newReport(env, "cert probe", common.at)
	rep.Results = results
	rep.Findings = append(rep.Findings, findings...)
	sum := cert.SummarizeProbe(results, rep.Findings)
	if base != nil {
		sum.Baseline = baseline
		sum.Rollback = plan
	}
	rep.Summary = sum
	warnRoots(env, roots)
	// The findings follow the table: the finding about a row beside it.
	cert.SortProbeFindings(results, rep.Findings)
	return finish(env, common, outcome{rep: rep, keepOrder: true, text: func(t *textWriter) { writeProbeText(t, results, rep, sum) }})
}

// gatherEndpoints reads --targets and the --connect addresses into
// endpoints (cert probe and cert watch).
func gatherEndpoints(targetsFile string, connects, names []string, noSNI bool) ([]cert.Endpoint, error) {
	var endpoints []cert.Endpoint
	if targetsFile != "" {
		data, err := readInput(targetsFile)
		if err != nil {
			return nil, usageErrorf("--targets %s: %v", targetsFile, unwrapPath(err)).withHint("--targets takes a YAML file of endpoints (see \"kensa cert probe --help\")")
		}
		t, err := cert.ParseTargets(data)
		if err != nil {
			hint := "see \"kensa cert probe --help\" for the file's shape"
			if errors.As(err, new(*cert.NameError)) {
				hint = idnHint
			}
			return nil, usageErrorf("--targets %s: %v", targetsFile, err).withHint("%s", hint)
		}
		for _, e := range t.Endpoints {
			if len(e.ServerNames) == 0 {
				e.ServerNames = names
			}
			e.NoSNI = e.NoSNI || noSNI
			endpoints = append(endpoints, e)
		}
	}
	for _, c := range connects {
		host, _, err := cert.SplitAddress(c)
		if err != nil {
			return nil, usageErrorf("--connect: %v", err).withHint("write HOST:PORT, IP:PORT or [IPv6]:PORT")
		}
		if _, err := cert.ASCIIName(host); err != nil {
			return nil, usageErrorf("--connect %s: %v", c, err).withHint(idnHint)
		}
	}
	if len(connects) > 0 {
		endpoints = append(endpoints, cert.Endpoint{Addresses: connects, ServerNames: names, NoSNI: noSNI})
	}
	return endpoints, nil
}

// expectation turns --expect (a certificate file or a SHA-256
// fingerprint) into fingerprints.
func expectation(e string) ([]string, error) {
	if _, err := os.Stat(e); err != nil {
		if fp, ok := cert.NormalizeFingerprint(e); ok {
			return []string{fp}, nil
		}
		return nil, usageErrorf("--expect %s: %v", e, err).withHint("give the new certificate's file, or its SHA-256 fingerprint")
	}
	b, err := loadBundle(e, nil, "--expect")
	if err != nil {
		return nil, err
	}
	if len(b.Certs) == 0 {
		return nil, usageErrorf("--expect %s holds no certificate", e)
	}
	i := max(0, firstLeaf(b.Certs))
	return []string{cert.Fingerprint(b.Certs[i])}, nil
}

func init() {
	registerDomain("cert check", domainInfo{checks: cert.Checks, doc: "docs/cert.md", summarize: func(_ []json.RawMessage, fs []report.Finding, _ []json.RawMessage) (any, error) {
		return cert.SummarizeCheck(fs), nil
	}})
	registerDomain("cert probe", domainInfo{checks: cert.Checks, doc: "docs/cert.md", summarize: func(raw []json.RawMessage, fs []report.Finding, sums []json.RawMessage) (any, error) {
		rs, err := decodeResults[*cert.ProbeResult](raw)
		if err != nil {
			return nil, err
		}
		in, err := addSummaries(sums, (*cert.ProbeSummary).Add)
		if err != nil {
			return nil, err
		}
		s := cert.SummarizeProbe(rs, fs)
		s.Baseline, s.Rollback = in.Baseline, in.Rollback
		return s, nil
	}})
}
