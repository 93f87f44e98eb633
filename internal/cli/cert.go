package cli

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/kensa-project/kensa/internal/cert"
	"github.com/kensa-project/kensa/internal/report"
)

const certCheckUsage = `Usage: kensa cert check --cert FILE [flags]

Checks a new certificate bundle before the change: that the key matches,
that the chain is complete with only the intermediates you supplied (no AIA
fetching, no platform verifier), that no name of the certificate in service
is dropped, that it is newer, and that its validity, key and signature pass
the CA/Browser Forum and NIST rules.

Examples:
    kensa cert check --cert new.crt --key new.key --chain intermediate.crt --current old.crt
    kensa cert check --cert new.pfx --password-file pw --current-endpoint lb.example.com:443
    kensa cert check --cert fullchain.pem --key new.key --servername example.com --servername www.example.com
    kensa cert check --cert internal.crt --roots corp-root.pem --private --format json

Inputs:
    --cert FILE            the new certificate: PEM, DER, a fullchain bundle, or
                           PKCS#12 (.pfx/.p12, leaf, key and chain in one file)
    --key FILE             its private key: PKCS#1, PKCS#8, SEC1, encrypted PKCS#8
                           (never printed or written anywhere)
    --chain FILE           intermediates to serve with it (repeatable)
    --password-file FILE   password of an encrypted key or PKCS#12 file (first line)
    --password-env NAME    ... or from the environment variable NAME
                           (never a flag value: it would show in ps and shell history)

Compare with the certificate in service:
    --current FILE         the certificate in service now
    --current-endpoint HOST[:PORT]
                           ... or what HOST serves now (SNI: HOST, or the
                           first --servername)

Checks:
    --servername NAME      a name the certificate must cover (repeatable;
                           Unicode names such as 例え.jp are checked as their
                           A-labels, xn--r8jz45g.jp)
    --roots FILE           trust anchors, PEM (default: the system bundle read as
                           PEM; the Mozilla set where there is none)
    --min-remaining D|P%   warn when less validity is left (30d, 720h, 20%;
                           default a third of the lifetime; 0d: never)
    --private              a private PKI: skip the CA/B Forum maximum validity
                           and the public-CA key algorithms (Ed25519, Ed448)
    --timeout D            connection timeout for --current-endpoint (default 10s)
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
    kensa cert probe --expect new.crt --connect 10.0.0.5:443 --connect 10.0.0.6:443 \
                     --servername example.com --servername www.example.com
    kensa cert probe --targets endpoints.yaml --record before.json
    kensa cert probe --targets endpoints.yaml --expect new.crt --baseline before.json

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

Checks:
    --expect FILE|SHA256   the certificate every endpoint must serve (repeatable)
    --roots FILE           trust anchors, PEM (default as for cert check)
    --min-remaining D|P%   warn when less validity is left (default a third of
                           the lifetime)

Record and rollback:
    --record FILE          write what every endpoint serves (certificates and PEM)
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

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

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
	if err := checkTimeout(timeout); err != nil {
		return err
	}
	threshold, err := parseThresholdFlag(minRem)
	if err != nil {
		return err
	}
	if names, err = asciiServerNames(names); err != nil {
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
		data, err := cert.ReadFileLimited(file, 4096, "a password file")
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
		return nil, usageErrorf("%s: %v", flagName, err)
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
func readInput(file string) ([]byte, error) {
	return cert.ReadFileLimited(file, cert.MaxFileSize, "a certificate file")
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

// asciiServerNames converts --servername values to the A-labels a
// certificate carries (see cert.ASCIIName).
func asciiServerNames(names []string) ([]string, error) {
	out := make([]string, 0, len(names))
	for _, n := range names {
		a, err := cert.ASCIIName(n)
		if err != nil {
			return nil, usageErrorf("--servername: %v", err).withHint(idnHint)
		}
		out = append(out, a)
	}
	return out, nil
}

func runCertProbe(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet("cert probe")
	common := addCommon(fs, "error")
	var (
		connects, names, expects                         stringList
		targetsFile, rootsFile, minRem, record, baseline string
		noSNI                                            bool
		timeout                                          = 5 * time.Second
		concurrency                                      = 32
	)
	fs.Var(&connects, "connect", "")
	fs.Var(&names, "servername", "")
	fs.Var(&expects, "expect", "")
	fs.StringVar(&targetsFile, "targets", "", "")
	fs.StringVar(&rootsFile, "roots", "", "")
	fs.StringVar(&minRem, "min-remaining", "", "")
	fs.StringVar(&record, "record", "", "")
	fs.StringVar(&baseline, "baseline", "", "")
	fs.BoolVar(&noSNI, "no-sni", false, "")
	fs.DurationVar(&timeout, "timeout", timeout, "")
	fs.IntVar(&concurrency, "concurrency", concurrency, "")
	pos, err := parseCommand(env, fs, common, certProbeUsage+findingsHelp("docs/cert.md", cert.Checks), args)
	if err != nil || pos == nil {
		return err
	}
	connects = append(connects, pos...)
	if len(connects) == 0 && targetsFile == "" {
		return usageErrorf("cert probe needs endpoints").withHint("give --connect HOST:PORT (repeatable) with --servername NAME, or --targets FILE")
	}
	if err := checkTimeout(timeout); err != nil {
		return err
	}
	if err := checkOutput("--record", record); err != nil {
		return err
	}
	if err := checkInput("--baseline", baseline, "give a file written by kensa cert probe --record"); err != nil {
		return err
	}
	if concurrency < 1 || concurrency > 4096 {
		return usageErrorf("--concurrency %d is outside 1..4096", concurrency)
	}
	threshold, err := parseThresholdFlag(minRem)
	if err != nil {
		return err
	}
	if names, err = asciiServerNames(names); err != nil {
		return err
	}
	roots, err := loadRoots(env, rootsFile)
	if err != nil {
		return err
	}
	var endpoints []cert.Endpoint
	if targetsFile != "" {
		data, err := readInput(targetsFile)
		if err != nil {
			return usageErrorf("--targets: %v", err)
		}
		t, err := cert.ParseTargets(data)
		if err != nil {
			hint := "see \"kensa cert probe --help\" for the file's shape"
			if errors.As(err, new(*cert.NameError)) {
				hint = idnHint
			}
			return usageErrorf("--targets %s: %v", targetsFile, err).withHint("%s", hint)
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
			return usageErrorf("--connect: %v", err).withHint("write HOST:PORT, IP:PORT or [IPv6]:PORT")
		}
		if _, err := cert.ASCIIName(host); err != nil {
			return usageErrorf("--connect %s: %v", c, err).withHint(idnHint)
		}
	}
	if len(connects) > 0 {
		endpoints = append(endpoints, cert.Endpoint{Addresses: connects, ServerNames: names, NoSNI: noSNI})
	}
	opts := cert.ProbeOptions{Roots: roots, At: common.at, Timeout: timeout, Concurrency: concurrency, Remaining: threshold}
	for _, e := range expects {
		fps, err := expectation(e)
		if err != nil {
			return err
		}
		opts.Expect = append(opts.Expect, fps...)
	}
	opts.ExpectFrom = strings.Join(expects, ", ")
	var base *cert.Record
	if baseline != "" {
		data, err := cert.ReadFileLimited(baseline, cert.MaxRecordSize, "a kensa record")
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
	return finish(env, common, outcome{rep: rep, text: func(t *textWriter) { writeProbeText(t, results, rep, sum) }})
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
