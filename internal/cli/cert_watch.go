package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/exporter-toolkit/web"

	"github.com/kensa-project/kensa/internal/cert"
	"github.com/kensa-project/kensa/internal/cert/watch"
	"github.com/kensa-project/kensa/internal/report"
)

const certWatchUsage = `Usage: kensa cert watch [flags] [ADDRESS...]

Watches what every endpoint serves between changes, as a Prometheus
exporter: every --interval it probes every address × IP × server name the
way "kensa cert probe" does (no AIA, bounded handshakes) and reads every
watched certificate file; /metrics serves the last complete round and never
waits for a probe. Certificate metrics are published for expired and
unverifiable certificates too. --once runs one round and writes it as a
report (for cron and CI). docs/cert-watch.md lists the metrics, their
labels and the shipped alert rules (deploy/prometheus/).

Examples:
    kensa cert watch --targets endpoints.yaml --listen 127.0.0.1:9793
    kensa cert watch --targets endpoints.yaml --once --format json
    kensa cert watch --dir /etc/ssl/deploy --file new.pfx --interval 1h
    kensa cert watch --targets endpoints.yaml --web-config web.yml --tls-posture

Endpoints (as for cert probe):
    --targets FILE         YAML list of endpoints ("kensa cert probe --help");
                           "expect: [SHA256]" per endpoint names the certificate
                           it must serve; without it, the one most of its
                           addresses serve is expected
    --connect ADDR         HOST[:PORT] to probe (repeatable; also positional)
    --servername NAME      server name for --connect addresses (repeatable)
    --no-sni               also handshake without SNI
    --expect FILE|SHA256   the certificate every endpoint must serve
                           (repeatable)

Certificate files (PEM, DER, PKCS#12):
    --file FILE            a certificate file to watch (repeatable)
    --dir DIR              every .pem .crt .cer .cert .der .p12 .pfx under DIR
                           (repeatable; at most 10000 files)
    --password-file FILE   password of the PKCS#12 files (its first line; one
                           for all)
    --password-env NAME    ... or from the environment variable NAME

Checks:
    --roots FILE           trust anchors, PEM (default as for cert check)
    --min-remaining D|P%   with --once: warn when less validity is left
                           (default a third of the lifetime)
    --tls-posture          also probe the post-quantum groups and a FIPS-mode
                           client (see "kensa cert probe --help"; 4 more
                           handshakes per handshake)

Exporter:
    --listen ADDR          address to serve /metrics, /-/healthy and /-/ready on
                           (default 127.0.0.1:9793)
    --web-config FILE      exporter-toolkit web configuration: TLS and basic
                           auth for the listener (read on every request)
    --interval D           time between round starts (default 5m)
    --jitter F             random fraction of --interval added or taken off
                           (default 0.1)
    --max-handshakes N     per-handshake series published at most (default
                           5000; the rest are counted, never silently lost)

Limits:
    --timeout D            per connection, dial and handshake (default 5s)
    --concurrency N        handshakes at once (default 32)

Output (--once):
    --once                 run one round and write it as a report
    --format text|json|sarif, --output FILE, --fail-on error|warning|never,
    --at TIME (evaluate expiry as of TIME; --once only)

Exit codes: the exporter exits 0 when stopped (SIGINT, SIGTERM) and 2 when it
cannot start. --once: 0 no finding at or above --fail-on (default error),
1 findings (an endpoint that could not be reached is one), 2 kensa could not
read the inputs.
`

func runCertWatch(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet("cert watch")
	common := addCommon(fs, "error")
	pf := addProbeFlags(fs)
	var (
		files, dirs   stringList
		pwFile, pwEnv string
		listen        = "127.0.0.1:9793"
		webConfig     string
		once          bool
		interval      = 5 * time.Minute
		jitter        = 0.1
		maxHS         = 5000
	)
	fs.Var(&files, "file", "")
	fs.Var(&dirs, "dir", "")
	fs.StringVar(&pwFile, "password-file", "", "")
	fs.StringVar(&pwEnv, "password-env", "", "")
	if err := refusePasswordArgs(args); err != nil {
		return err
	}
	fs.StringVar(&listen, "listen", listen, "")
	fs.StringVar(&webConfig, "web-config", "", "")
	fs.BoolVar(&once, "once", false, "")
	fs.DurationVar(&interval, "interval", interval, "")
	fs.Float64Var(&jitter, "jitter", jitter, "")
	fs.IntVar(&maxHS, "max-handshakes", maxHS, "")
	pos, err := parseCommand(env, fs, common, certWatchUsage+findingsHelp("docs/cert.md and docs/cert-watch.md", cert.Checks), args)
	if err != nil || pos == nil {
		return err
	}
	pf.connects = append(pf.connects, pos...)
	if len(pf.connects) == 0 && pf.targetsFile == "" && len(files) == 0 && len(dirs) == 0 {
		return usageErrorf("cert watch needs endpoints or certificate files").
			withHint("give --targets FILE, --connect HOST:PORT, --file FILE or --dir DIR")
	}
	if err := pf.check(); err != nil {
		return err
	}
	if interval < time.Second {
		return usageErrorf("--interval %s is shorter than a second", interval).withHint("write --interval 5m, 1h")
	}
	if jitter < 0 || jitter > 0.5 {
		return usageErrorf("--jitter %g is outside 0..0.5", jitter).withHint("--jitter 0.1 moves each round by up to ±10%% of --interval")
	}
	if maxHS < 1 || maxHS > cert.MaxProbes {
		return usageErrorf("--max-handshakes %d is outside 1..%d", maxHS, cert.MaxProbes)
	}
	for _, f := range files {
		if err := checkInput("--file", f, "give a certificate file (PEM, DER, PKCS#12)"); err != nil {
			return err
		}
	}
	for _, d := range dirs {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			return usageErrorf("--dir %s is not a directory", d).withHint("give a directory of certificate files, or the file itself with --file")
		}
	}
	if webConfig != "" {
		if err := web.Validate(webConfig); err != nil {
			return usageErrorf("--web-config %s: %v", webConfig, err).withHint("see exporter-toolkit's docs/web-configuration.md (tls_server_config, basic_auth_users)")
		}
	}
	password, err := readPassword(env, pwFile, pwEnv)
	if err != nil {
		return err
	}
	endpoints, opts, err := pf.options(env, common.at)
	if err != nil {
		return err
	}
	in := cert.WatchInput{Endpoints: endpoints, Files: files, Dirs: dirs, Password: password, Probe: opts}
	warnRoots(env, opts.Roots)
	if once {
		prog := newProgress(env)
		in.Probe.Progress = func(done, total int) { prog.update("kensa: probing %d/%d handshakes", done, total) }
		round := cert.WatchRound(ctx, in)
		prog.done()
		if err := ctx.Err(); err != nil {
			return usageErrorf("interrupted: %v", err)
		}
		rep := newReport(env, "cert watch", common.at)
		rep.Results = round.Items()
		rep.Findings = round.Findings
		sum := cert.SummarizeWatch(round, rep.Findings)
		rep.Summary = sum
		return finish(env, common, outcome{rep: rep, text: func(t *textWriter) { writeWatchText(t, round, rep, sum) }})
	}
	if common.atFlag != "" {
		return usageErrorf("--at applies to --once only").withHint("the exporter evaluates every round at its own time")
	}
	var onceOnly []string
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "format", "output", "o", "fail-on", "min-remaining":
			onceOnly = append(onceOnly, "--"+f.Name)
		}
	})
	if len(onceOnly) > 0 {
		return usageErrorf("%s applies to --once only", strings.Join(onceOnly, ", ")).
			withHint("the exporter's output is /metrics; add --once to write one round as a report")
	}
	return serveWatch(ctx, env, watch.Options{Input: in, Interval: interval, Jitter: jitter, MaxHandshakes: maxHS}, listen, webConfig)
}

// serveWatch runs the exporter until ctx ends.
func serveWatch(ctx context.Context, env *Env, o watch.Options, listen, webConfig string) error {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return usageErrorf("--listen %s: %v", listen, err).withHint("give a free address, such as --listen 127.0.0.1:9793")
	}
	exp := watch.New(o)
	srv := &http.Server{Handler: exp.Handler(), ReadHeaderTimeout: 10 * time.Second}
	logger := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	scheme := "http"
	if webConfig != "" {
		scheme = "http(s per --web-config)"
	}
	fmt.Fprintf(env.Stderr, "kensa: cert watch: serving %s://%s/metrics; a round every %s (±%.0f%%)\n",
		scheme, ln.Addr(), o.Interval, o.Jitter*100)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	loopDone := make(chan struct{})
	go func() {
		defer close(loopDone)
		exp.Run(rctx)
	}()
	serveErr := make(chan error, 1)
	go func() {
		serveErr <- web.Serve(ln, srv, &web.FlagConfig{WebConfigFile: &webConfig}, logger)
	}()
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			cancel()
			<-loopDone
			return fmt.Errorf("serving /metrics: %w", err)
		}
	}
	cancel()
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	srv.Shutdown(sctx)
	<-loopDone
	return nil
}

func init() {
	registerDomain("cert watch", domainInfo{checks: cert.Checks, doc: "docs/cert-watch.md", summarize: func(_ []json.RawMessage, _ []report.Finding, sums []json.RawMessage) (any, error) {
		// A round's counts (handshakes, files, completeness) are added up.
		return addSummaries(sums, (*cert.WatchSummary).Add)
	}})
}
