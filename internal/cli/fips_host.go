package cli

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/kensa-project/kensa/internal/fips/cluster"
	"github.com/kensa-project/kensa/internal/fips/host"
	"github.com/kensa-project/kensa/internal/report"
)

const fipsHostUsage = `Usage: kensa fips host [flags]

Checks whether this host is really in FIPS mode, consistently and durably,
and which crypto module every running process is using right now.

Host posture, in order, each with the files it read: os-release; the
kernel flag (/proc/sys/crypto/fips_enabled; absent = the kernel cannot do
FIPS); fips_name/fips_version; fips=1 (and boot=) on the running command
line and in every /boot/loader/entries/*.conf (or the GRUB defaults), so
the next boot keeps it; the crypto policy (config against state/current,
allowed FIPS subpolicies, RHEL 10's bind mounts); OpenSSL: which
openssl.cnf applies, whether the FIPS provider is activated there or by
the distribution's kernel-flag patch (RHEL, Fedora, SUSE, Azure Linux
SymCrypt), the provider's verdict from fips scan's module table, and
fipsmodule.cnf's module-mac against the provider file; GnuTLS, NSS and
libgcrypt: the mode they would run in (integrity file, kernel flag) and,
from the same module table, whether the build is validated (an integrity
file is not a validation); legacy markers (/etc/system-fips, dracut fips)
as info.

Every process: its executable (read through /proc/PID/exe, classified by
the same engine as fips scan, once per file); its memory maps (libcrypto,
ossl-modules/fips.so, symcryptprovider.so, legacy.so, GnuTLS, NSS,
libgcrypt actually loaded now); its start environment (GODEBUG fips140,
GOFIPS, GOLANG_FIPS, OPENSSL_CONF, OPENSSL_MODULES, OPENSSL_FORCE_FIPS_MODE,
interpreted per toolchain and distribution); the kernel flag as the process
sees it (a container can be shown 0 on a FIPS host); its container id and
pod UID from its cgroup. Verdicts: compliant, noncompliant, undetermined
(libcrypto configured to load the FIPS provider but none mapped yet: the
maps cannot prove use), unreadable (kensa may not read it: a gap, never a
pass), not-applicable (no crypto). Processes that exit during the scan are
skipped and counted. Nothing is executed, attached to or signalled; run as
root to see every process (as another user, other users' processes are
unreadable).

Flags:
    --root DIR          the host's root filesystem (default /); for a host
                        mounted into a container: --root /host
    --proc DIR          the host's /proc (default /proc, or DIR/proc with
                        --root DIR); with hostPID: --proc /host/proc
    --pid PID           only this process (repeat, or separate with commas)
    --no-processes      the host posture only
    --accept WHAT       also accept in-process or historical modules (as
                        fips scan)
    --format text|json|sarif|cyclonedx
                        cyclonedx: a CycloneDX 1.6 CBOM of the host, every
                        process, the crypto modules and libraries it has
                        loaded (docs/cbom.md)
    --output FILE, -o FILE
    --fail-on error|warning|never
                        exit 1 when a finding is at or above this
                        (default error)
    --at TIME           evaluate module validation status as of TIME

Publishing (the DaemonSet kensa-fips-host; see docs/fips-cluster.md):
    --publish configmap write the JSON report (whatever --format prints)
                        into the ConfigMap kensa-fips-host-NODE of
                        --namespace, for kensa fips cluster to read, with
                        the host's boot id and machine id; compressed when
                        large (a ConfigMap holds 1 MiB)
    --node NAME         the Kubernetes node this host is (required with
                        --publish; in a pod: the downward API's spec.nodeName)
    --namespace NS      where to publish (default kensa)
    --kubeconfig FILE, --context NAME
                        the API server (default: in a pod its service
                        account, else KUBECONFIG or ~/.kube/config)
    --every DURATION    scan and publish again every DURATION (6h, 30m),
                        until stopped; a round that fails is reported on
                        standard error and retried at the next

Examples:
    kensa fips host
    kensa fips host --no-processes
    kensa fips host --pid 1234 --pid 5678
    kensa fips host --format json -o node.json
    kensa fips host --format cyclonedx -o node.cdx.json
    kensa fips host --root /host --proc /host/proc --format json   (DaemonSet)
    kensa fips host --fail-on warning
    kensa fips host --root /host --proc /host/proc --publish configmap \
        --node "$NODE_NAME" --every 6h --format json --fail-on never

Exit codes: 0 no finding at or above --fail-on, 1 findings at or above it
(a non-FIPS kernel is one), 2 kensa could not do what was asked (no such
--root or --proc, a bad flag, a report that could not be published).
With --every kensa runs until it is stopped and then exits 0.
`

func runFipsHost(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet("fips host")
	common := addCommon(fs, "error")
	common.cyclonedx = fipsHostCBOM
	root := fs.String("root", "/", "")
	proc := fs.String("proc", "", "")
	noProcs := fs.Bool("no-processes", false, "")
	var pids []int
	var pidErr error
	fs.Func("pid", "", func(s string) error {
		for _, p := range strings.Split(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(p))
			if err != nil || n <= 0 {
				pidErr = usageErrorf("--pid %q is not a process id", p).withHint("give a number: --pid 1234")
				return fmt.Errorf("not a process id: %q", p)
			}
			pids = append(pids, n)
		}
		return nil
	})
	publish := fs.String("publish", "", "")
	node := fs.String("node", "", "")
	namespace := fs.String("namespace", cluster.DefaultNamespace, "")
	kubeconfig := fs.String("kubeconfig", "", "")
	kubeContext := fs.String("context", "", "")
	every := fs.Duration("every", 0, "")
	var accepts []string
	fs.Func("accept", "", listFlag(&accepts))
	pos, err := parseCommand(env, fs, common, fipsHostUsage+findingsHelp("docs/fips-host.md", host.Checks), args)
	if pidErr != nil {
		return pidErr
	}
	if err != nil || pos == nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("fips host takes no arguments (got %q)", pos[0]).
			withHint("to scan files use kensa fips scan %s; to limit processes use --pid", pos[0])
	}
	if *noProcs && len(pids) > 0 {
		return usageErrorf("--no-processes and --pid contradict each other").withHint("use one of them")
	}
	opts := host.Options{Root: *root, Proc: *proc, PIDs: pids, NoProcesses: *noProcs}
	opts.FIPS.At = common.at
	if opts.FIPS.Accept, err = parseAccept(accepts); err != nil {
		return err
	}
	if st, err := os.Stat(*root); err != nil || !st.IsDir() {
		return usageErrorf("--root %s is not a directory", *root).
			withHint("give the directory where the host's root filesystem is mounted (default /)")
	}
	if opts.Proc == "" {
		opts.Proc = filepath.Join(*root, "proc")
	}
	if _, err := os.ReadDir(opts.Proc); err != nil {
		return usageErrorf("--proc %s cannot be read: %v", opts.Proc, unwrapPath(err)).
			withHint("give the host's /proc (with hostPID in a pod: --proc /host/proc)")
	}
	for _, p := range pids {
		if _, err := os.Lstat(filepath.Join(opts.Proc, strconv.Itoa(p))); err != nil {
			return usageErrorf("--pid %d: no such process in %s", p, opts.Proc).
				withHint("list the running processes with ps; with --proc, the pid as the host sees it")
		}
	}
	if err := checkOutput("--output", common.output); err != nil {
		return err
	}
	set := setFlags(fs)
	var pub *hostPublisher
	switch strings.ToLower(*publish) {
	case "":
		for _, f := range []string{"node", "namespace", "kubeconfig", "context", "every"} {
			if set[f] {
				return usageErrorf("--%s does nothing without --publish", f).
					withHint("add --publish configmap to write the report for kensa fips cluster")
			}
		}
	case "configmap":
		if *node == "" {
			return usageErrorf("--publish configmap needs --node").
				withHint("name the Kubernetes node this host is: --node \"$NODE_NAME\" (downward API spec.nodeName)")
		}
		if *every < 0 || (set["every"] && *every < time.Minute) {
			return usageErrorf("--every %s is too short", *every).withHint("scan at most once a minute: --every 6h")
		}
		cfg, err := cluster.Config(*kubeconfig, *kubeContext)
		if err != nil {
			return usageErrorf("--publish configmap: %v", err).
				withHint("in a pod the service account is used; elsewhere give --kubeconfig or set KUBECONFIG")
		}
		pub = &hostPublisher{api: cfg, node: *node, namespace: *namespace, root: *root, proc: opts.Proc}
	default:
		return usageErrorf("--publish %q is not a place kensa publishes to", *publish).withHint("use --publish configmap")
	}
	round := func() error {
		prog := newProgress(env)
		opts.Progress = func(done, total int) {
			prog.update("kensa: %d of %s inspected", done, report.Count(total, "process", "processes"))
		}
		scan, err := host.Run(ctx, opts)
		prog.done()
		if err != nil {
			if ctx.Err() != nil {
				return usageErrorf("interrupted: %v", ctx.Err())
			}
			return usageErrorf("fips host: %v", err).withHint("check --root and --proc")
		}
		rep := newReport(env, "fips host", common.at)
		rep.Results, rep.Findings, rep.Summary = scan.Results, scan.Findings, scan.Summary
		o := outcome{rep: rep, text: func(t *textWriter) { writeFipsHostText(t, scan, *noProcs) }}
		if pub != nil {
			o.after = pub.publish(ctx, env, rep)
		}
		return finish(env, common, o)
	}
	if *every == 0 {
		return round()
	}
	for {
		if err := round(); err != nil && !errors.Is(err, errFindings) {
			if ctx.Err() != nil {
				return nil
			}
			printError(env.Stderr, err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(*every):
		}
	}
}

// hostPublisher writes fips host reports into the node's ConfigMap.
type hostPublisher struct {
	api                         *cluster.API
	node, namespace, root, proc string
}

func (p *hostPublisher) publish(ctx context.Context, env *Env, rep *report.Report) error {
	report.SortFindings(rep.Findings)
	var buf bytes.Buffer
	if err := report.WriteJSON(&buf, rep); err != nil {
		return err
	}
	boot, machine := cluster.HostIdentity(p.root, p.proc)
	pub, err := cluster.Publish(ctx, p.api, cluster.Publication{Node: p.node, Namespace: p.namespace, Report: buf.Bytes(),
		BootID: boot, MachineID: machine, GeneratedAt: rep.GeneratedAt})
	if pub.NodeErr != nil {
		fmt.Fprintf(env.Stderr, "kensa: warning: the report is published without its node as owner (it will not be deleted with the node): %s\n", report.Printable(pub.NodeErr.Error()))
	}
	if err != nil {
		return usageErrorf("publishing the report: %v", err).
			withHint("the service account needs create and update on configmaps in %s (deploy/kubernetes/rbac.yaml)", p.namespace)
	}
	fmt.Fprintf(env.Stderr, "kensa: published the report of node %s to configmap %s\n", report.Printable(p.node), report.Printable(pub.Where))
	return nil
}

func writeFipsHostText(t *textWriter, s *host.Scan, noProcs bool) {
	var procs []host.Result
	tb := report.NewTable("CHECK", "STATUS", "VALUE")
	tb.MaxWidth = 120
	tb.Fit(2, report.FitEnd, 30) // the whole value is in --format json
	name := ""
	for _, r := range s.Results {
		if r.Kind == host.KindProcess {
			procs = append(procs, r)
			continue
		}
		name = r.Host
		tb.Row(r.Check, r.Status, r.Value)
	}
	if name != "" {
		t.printf("host %s\n", name)
	}
	t.table(tb)
	if len(procs) > 0 {
		t.printf("\n")
		slices.SortStableFunc(procs, func(a, b host.Result) int {
			if d := b.Verdict.Rank() - a.Verdict.Rank(); d != 0 {
				return d
			}
			return a.PID - b.PID
		})
		pt := report.NewTable("PID", "EXE", "CONTAINER", "CRYPTO", "VERDICT", "REASON")
		pt.MaxWidth = 160
		pt.Fit(1, report.FitMiddle, 20) // the executable's name stays visible
		pt.Fit(5, report.FitEnd, 20)
		pt.Optional(2)
		var unreadable []string
		for _, r := range procs {
			if r.Verdict == host.Unreadable {
				unreadable = append(unreadable, strconv.Itoa(r.PID))
				continue
			}
			if r.Verdict == host.NotApplicable {
				continue
			}
			c := "-"
			if r.ContainerID != "" {
				c = r.ContainerID[:min(12, len(r.ContainerID))]
			}
			crypto := strings.Join(r.Crypto, ",")
			if crypto == "" {
				crypto = "-"
			}
			pt.Row(strconv.Itoa(r.PID), cmp.Or(r.Exe, "["+r.Comm+"]"), c, crypto, string(r.Verdict), firstReason(r.Reasons))
		}
		t.table(pt)
		if len(unreadable) > 0 {
			shown := unreadable[:min(len(unreadable), 12)]
			more := ""
			if len(unreadable) > len(shown) {
				more = ", …"
			}
			how := "run as root to see them"
			if os.Geteuid() == 0 {
				how = "kensa runs as root, so " + report.Plural(len(unreadable), "it is", "they are") + " out of its reach (CAP_SYS_PTRACE, another PID namespace)"
			}
			t.para("", "", fmt.Sprintf("%s could not be read (pid %s%s): a coverage gap, never a pass; %s",
				report.Count(len(unreadable), "process", "processes"), strings.Join(shown, ", "), more, how), 0)
		}
	}
	if len(s.Findings) > 0 {
		t.printf("\n")
		// Host findings one per line; process findings grouped by id
		// (the table above has each process's reason; --format json has
		// every finding).
		type group struct {
			sev  report.Severity
			pids []string
		}
		groups := map[string]*group{}
		var order []string
		for _, f := range s.Findings {
			if !strings.HasPrefix(f.ID, "process-") {
				t.para(string(f.Severity)+" "+f.ID+": ", "    ", f.Subject+": "+f.Message, 0)
				continue
			}
			key := string(f.Severity) + " " + f.ID
			g := groups[key]
			if g == nil {
				g = &group{sev: f.Severity}
				groups[key] = g
				order = append(order, key)
			}
			pid, _, _ := strings.Cut(strings.TrimPrefix(f.Subject, "pid "), " ")
			if !slices.Contains(g.pids, pid) {
				g.pids = append(g.pids, pid)
			}
		}
		for _, key := range order {
			g := groups[key]
			slices.SortFunc(g.pids, func(a, b string) int {
				x, _ := strconv.Atoi(a)
				y, _ := strconv.Atoi(b)
				return x - y
			})
			_, id, _ := strings.Cut(key, " ")
			c, _ := report.Lookup(host.Checks, id)
			shown := g.pids[:min(len(g.pids), 8)]
			more := ""
			if len(g.pids) > len(shown) {
				more = ", …"
			}
			t.para(string(g.sev)+" "+id+": ", "    ", fmt.Sprintf("%s (pid %s%s): %s", report.Count(len(g.pids), "process", "processes"), strings.Join(shown, ", "), more, c.Title), 0)
		}
	}
	sum := s.Summary
	t.printf("\n")
	if noProcs {
		t.println("processes not inspected (--no-processes)")
		return
	}
	var parts []string
	for _, v := range []host.Verdict{host.Noncompliant, host.Undetermined, host.Unreadable, host.Compliant, host.NotApplicable} {
		parts = append(parts, fmt.Sprintf("%d %s", sum.Verdicts[string(v)], v))
	}
	t.para("", "", fmt.Sprintf("%s: %s (%d exited during the scan; %d without an executable, kernel threads or zombies, passed over)", report.Count(sum.Processes, "process", "processes"), strings.Join(parts, ", "), sum.Skipped, sum.KernelThreads), 0)
	if len(sum.Backends) > 0 {
		var bs []string
		for _, b := range slices.Sorted(maps.Keys(sum.Backends)) {
			bs = append(bs, fmt.Sprintf("%s %d", b, sum.Backends[b]))
		}
		t.printf("backends: %s\n", strings.Join(bs, ", "))
	}
	if n := len(sum.Containers) - 1; n > 0 || (n == 0 && sum.Containers["host"] == nil) {
		t.printf("containers: %d (--format json counts verdicts per container)\n", len(sum.Containers)-boolInt(sum.Containers["host"] != nil))
	}
	t.para("", " ", "(processes without crypto are not listed; --format json lists every process with its maps, environment switches and modules)", 0)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// fipsHostCBOM is the CBOM of a fips host report: of a run, or merged
// node reports (results read back from JSON).
func fipsHostCBOM(rep *report.Report) *cdx.BOM {
	return host.CBOM(resultsOf[host.Result](rep), cbomOptions(rep))
}

func init() {
	registerDomain("fips host", domainInfo{checks: host.Checks, doc: "docs/fips-host.md", cyclonedx: fipsHostCBOM, summarize: func(raw []json.RawMessage, _ []report.Finding, sums []json.RawMessage) (any, error) {
		rs, err := decodeResults[host.Result](raw)
		if err != nil {
			return nil, err
		}
		// Processes that exited during a scan and kernel threads are not
		// in the results: they are added up; the rest is counted again.
		in, err := addSummaries(sums, (*host.Summary).Add)
		if err != nil {
			return nil, err
		}
		s := host.Summarize(rs, in.Skipped)
		s.KernelThreads = in.KernelThreads
		return s, nil
	}})
}
