package host

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kensa-project/kensa/internal/fips"
	"github.com/kensa-project/kensa/internal/report"
	"github.com/kensa-project/kensa/internal/rootfs"
)

// Options say what to scan.
type Options struct {
	// Root is the host's root directory ("/", or where it is mounted).
	Root string
	// Proc is the host's /proc ("/proc", or e.g. /host/proc).
	Proc string
	// PIDs limits the process scan to these; empty means every process.
	PIDs []int
	// NoProcesses: posture only.
	NoProcesses bool
	// FIPS holds the evaluation time and accepted statuses.
	FIPS fips.Options
	// Progress, when set, is called as processes are done.
	Progress func(done, total int)
}

// Scan is the outcome of one run.
type Scan struct {
	Results  []Result
	Findings []report.Finding
	Summary  Summary
}

// Run scans the host: posture first, then the processes. It fails only
// when the root or the proc directory cannot be read at all.
func Run(ctx context.Context, o Options) (*Scan, error) {
	if o.Root == "" {
		o.Root = "/"
	}
	if o.Proc == "" {
		o.Proc = filepath.Join(o.Root, "proc")
	}
	if o.FIPS.At.IsZero() {
		// A live host is judged now unless the caller says otherwise
		// (--at).
		o.FIPS.At = time.Now()
	}
	if st, err := os.Stat(o.Root); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("root %s is not a readable directory", o.Root)
	}
	if _, err := os.ReadDir(o.Proc); err != nil {
		return nil, fmt.Errorf("reading %s: %w", o.Proc, err)
	}
	root := rootfs.Dir(o.Root)
	p := &posture{root: root, proc: o.Proc, host: hostname(root, o.Proc), opts: o.FIPS, c: fips.NewClassifier(root, o.FIPS)}
	p.run()
	s := &Scan{Results: p.results, Findings: p.finds}
	skipped, kthreads := 0, 0
	if !o.NoProcesses {
		sc := newScanner(o, p)
		var err error
		var procs []Result
		procs, skipped, kthreads, err = sc.scanAll(ctx)
		if err != nil {
			return nil, err
		}
		for i := range procs {
			s.Findings = append(s.Findings, sc.finds[procs[i].PID]...)
		}
		s.Results = append(s.Results, procs...)
	}
	s.Summary = Summarize(s.Results, skipped)
	s.Summary.KernelThreads = kthreads
	report.SortFindings(s.Findings)
	return s, nil
}

// fileKey identifies a file by device and inode.
type fileKey struct {
	dev, ino uint64
	// ns is the mount namespace (the /proc/PID/ns/mnt link) for roots:
	// the same root directory in another mount namespace is another
	// filesystem (unshare -m, containers).
	ns string
}

type scanner struct {
	o        Options
	p        *posture
	procReal bool // o.Proc is a real procfs: /proc/PID/exe opens the running file
	hostRoot fileKey

	mu    sync.Mutex
	roots map[fileKey]*rootView
	exes  map[[2]fileKey]*exeEntry
	finds map[int][]report.Finding
}

type exeEntry struct {
	once  sync.Once
	res   fips.Result
	facts *fips.Facts
	err   error
}

func newScanner(o Options, p *posture) *scanner {
	sc := &scanner{o: o, p: p, roots: map[fileKey]*rootView{}, exes: map[[2]fileKey]*exeEntry{}, finds: map[int][]report.Finding{}}
	sc.procReal = isProcfs(o.Proc)
	if fi, err := os.Stat(o.Root); err == nil {
		sc.hostRoot, _ = keyOf(fi)
		sc.hostRoot.ns, _ = os.Readlink("/proc/self/ns/mnt")
	}
	return sc
}

func (sc *scanner) pids() ([]int, error) {
	if len(sc.o.PIDs) > 0 {
		return slices.Compact(slices.Sorted(slices.Values(sc.o.PIDs))), nil
	}
	ents, err := os.ReadDir(sc.o.Proc)
	if err != nil {
		return nil, err
	}
	var out []int
	for _, e := range ents {
		if n, err := strconv.Atoi(e.Name()); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

// outcome of one process.
type outcome int

const (
	outResult outcome = iota
	outSkipped
	outKernelThread
)

func (sc *scanner) scanAll(ctx context.Context) ([]Result, int, int, error) {
	pids, err := sc.pids()
	if err != nil {
		return nil, 0, 0, err
	}
	results := make([]Result, len(pids))
	outs := make([]outcome, len(pids))
	var wg sync.WaitGroup
	next := make(chan int)
	// The work is reads of /proc files, which block in the kernel: more
	// workers than cores keep the cores busy.
	workers := min(max(4*runtime.GOMAXPROCS(0), 8), 32)
	var done int
	var dmu sync.Mutex
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i], outs[i] = sc.scanOne(pids[i])
				if sc.o.Progress != nil {
					dmu.Lock()
					done++
					sc.o.Progress(done, len(pids))
					dmu.Unlock()
				}
			}
		}()
	}
	for i := range pids {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, 0, 0, err
	}
	var out []Result
	skipped, kthreads := 0, 0
	for i, r := range results {
		switch outs[i] {
		case outSkipped:
			skipped++
		case outKernelThread:
			kthreads++
		default:
			out = append(out, r)
		}
	}
	return out, skipped, kthreads, nil
}

// gone reports whether err means the process exited (its /proc directory
// is gone, or the kernel says ESRCH).
func (sc *scanner) gone(pid int, err error) bool {
	if errors.Is(err, syscall.ESRCH) {
		return true
	}
	if errors.Is(err, fs.ErrNotExist) {
		_, e := os.Lstat(filepath.Join(sc.o.Proc, strconv.Itoa(pid)))
		return e != nil
	}
	return false
}

func denied(err error) bool {
	return errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM)
}

func (sc *scanner) addFinding(pid int, f report.Finding) {
	sc.mu.Lock()
	sc.finds[pid] = append(sc.finds[pid], f)
	sc.mu.Unlock()
}

func (sc *scanner) add(r *Result, pf *procFinding) {
	f := pf.finding()
	f.Subject = subject(r)
	sc.addFinding(r.PID, f)
}

// subject names a process in findings: "pid 1234 /usr/bin/app".
func subject(r *Result) string {
	s := fmt.Sprintf("pid %d %s", r.PID, cmp.Or(r.Exe, r.Comm))
	if r.ContainerID != "" {
		s += " (container " + r.ContainerID[:min(12, len(r.ContainerID))] + ")"
	}
	return s
}

func (sc *scanner) scanOne(pid int) (Result, outcome) {
	dir := filepath.Join(sc.o.Proc, strconv.Itoa(pid))
	r := Result{Kind: KindProcess, Host: sc.p.host, PID: pid}
	// The exe link first: a kernel thread has none (ENOENT), and most of
	// a host's tasks are kernel threads, so they cost one read.
	link, linkErr := os.Readlink(filepath.Join(dir, "exe"))
	if errors.Is(linkErr, fs.ErrNotExist) {
		if sc.gone(pid, linkErr) {
			return r, outSkipped
		}
		return r, outKernelThread
	}
	comm := path.Base(strings.TrimSuffix(link, " (deleted)"))
	if linkErr != nil && denied(linkErr) {
		// Unprivileged, a kernel thread's exe is "permission denied" too:
		// its stat (world-readable) says whether it is one.
		if st, _, err := readProc(filepath.Join(dir, "stat"), 4096); err == nil {
			if c, kthread := parseStat(st); kthread {
				return r, outKernelThread
			} else if c != "" {
				comm = c
			}
		}
	}
	if linkErr != nil && comm == "." {
		if c, _, err := readProc(filepath.Join(dir, "comm"), 256); err == nil {
			comm = strings.TrimSpace(string(c))
		} else if sc.gone(pid, err) {
			return r, outSkipped
		}
	}
	r.Comm = comm
	if fi, err := os.Lstat(dir); err == nil {
		if uid, ok := ownerUID(fi); ok {
			r.UID = &uid
		}
	} else if sc.gone(pid, err) {
		return r, outSkipped
	}
	if cg, _, err := readProc(filepath.Join(dir, "cgroup"), maxCgroupBytes); err == nil {
		c := ParseCgroup(cg)
		r.ContainerID, r.PodUID, r.Runtime = c.ContainerID, c.PodUID, c.Runtime
	}
	var unreadable []string
	err := linkErr
	switch {
	case err == nil:
		// runc and sandboxes run from a sealed memfd: "/memfd:name
		// (deleted)" is how such an executable always looks.
		if s, ok := strings.CutSuffix(link, " (deleted)"); ok && !strings.HasPrefix(link, "/memfd:") {
			link, r.ExeDeleted = s, true
		}
		r.Exe = link
	case sc.gone(pid, err):
		return r, outSkipped
	case denied(err):
		unreadable = append(unreadable, "exe")
	default:
		unreadable = append(unreadable, "exe ("+unwrapPath(err).Error()+")")
	}
	maps, mapsCut, err := readProc(filepath.Join(dir, "maps"), maxMapsBytes)
	if err != nil {
		if sc.gone(pid, err) {
			return r, outSkipped
		}
		unreadable = append(unreadable, "maps")
	}
	environ, envCut, err := readProc(filepath.Join(dir, "environ"), maxEnvironBytes)
	if err != nil {
		if sc.gone(pid, err) {
			return r, outSkipped
		}
		unreadable = append(unreadable, "environ")
	}
	r.Mapped = ParseMaps(maps)
	r.Env = ParseEnviron(environ)
	if len(unreadable) > 0 {
		r.Verdict = Unreadable
		r.Reasons = []string{"kensa may not read this process's " + strings.Join(unreadable, ", ") + " (ptrace read access): its crypto is unknown"}
		sc.add(&r, finding(IDProcUnreadable, "", "kensa may not read "+strings.Join(unreadable, ", ")+" of this process: its crypto is not checked (a coverage gap, never a pass)", "run kensa as root (DaemonSet: hostPID, runAsUser 0, CAP_SYS_PTRACE)"))
		return r, outResult
	}

	rv := sc.rootOf(pid, dir)
	r.KernelFIPS = rv.kernelSeen(dir)
	bin, facts, err := sc.classifyExe(pid, dir, link, rv)
	if err != nil {
		if sc.gone(pid, err) {
			return r, outSkipped
		}
		if denied(err) {
			r.Verdict = Unreadable
			r.Reasons = []string{fmt.Sprintf("the executable %s could not be read (%v): its crypto is unknown", link, unwrapPath(err))}
			sc.add(&r, finding(IDProcUnreadable, "", r.Reasons[0], "run kensa as root"))
			return r, outResult
		}
		bin = fips.Result{Path: link, Kind: fips.KindUnreadable, Verdict: fips.NotApplicable, Reasons: []string{fmt.Sprintf("executable unreadable: %v", unwrapPath(err))}}
	}
	r.Language, r.GoVersion = bin.Language, bin.GoVersion
	seen := r.KernelFIPS
	if seen == "unreadable" {
		// Without ptrace access to the root (a DaemonSet without
		// SYS_PTRACE) the host's flag is the best evidence; a mask cannot
		// be seen then.
		seen = sc.p.kernel
	}
	in := procInput{bin: bin, facts: facts, mapped: r.Mapped, env: r.Env, kernel: seen, hostKernel: sc.p.kernel, rt: rv}
	verdict, reasons, crypto, modules, finds := evaluate(in, sc.o.FIPS)
	r.Verdict, r.Reasons, r.Crypto, r.Modules = verdict, reasons, crypto, modules
	if bin.Kind == fips.KindUnreadable && verdict == NotApplicable {
		r.Verdict = Unreadable
		r.Reasons = append([]string{firstReason(bin.Reasons) + ": its crypto is unknown"}, reasons...)
		sc.add(&r, finding(IDProcUnreadable, "", r.Reasons[0], "run kensa as root, or check the file"))
	}
	if mapsCut {
		r.Reasons = append(r.Reasons, fmt.Sprintf("the maps are larger than %d MiB: only the first %d MiB were read", maxMapsBytes>>20, maxMapsBytes>>20))
	}
	if envCut {
		r.Reasons = append(r.Reasons, fmt.Sprintf("the start environment is larger than %d MiB: only the first %d MiB were read", maxEnvironBytes>>20, maxEnvironBytes>>20))
	}
	if len(r.Env) > 0 {
		r.Reasons = append(r.Reasons, "the environment is the one the process started with (/proc/PID/environ): later changes are not visible")
	}
	if r.ExeDeleted {
		sc.add(&r, finding(IDProcExeReplaced, "", r.Exe+" was deleted or replaced since the process started: kensa classified the running copy", "restart the process"))
	}
	for _, f := range finds {
		sc.add(&r, &f)
	}
	return r, outResult
}

// parseStat returns comm and whether the task is a kernel thread
// (PF_KTHREAD in the flags, field 9) from a /proc/PID/stat text.
func parseStat(data []byte) (comm string, kthread bool) {
	s := string(data)
	i, j := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if i < 0 || j < i {
		return "", false
	}
	comm = s[i+1 : j]
	f := strings.Fields(s[j+1:])
	if len(f) > 6 {
		if flags, err := strconv.ParseUint(f[6], 10, 64); err == nil {
			kthread = flags&0x00200000 != 0
		}
	}
	return comm, kthread
}

// rootOf returns the view of the process's root (one per distinct root
// directory: every process of a container shares one).
func (sc *scanner) rootOf(pid int, dir string) *rootView {
	rdir := filepath.Join(dir, "root")
	fi, err := os.Stat(rdir)
	key, ok := fileKey{}, false
	if err == nil {
		key, ok = keyOf(fi)
		key.ns, _ = os.Readlink(filepath.Join(dir, "ns", "mnt"))
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if ok {
		if rv := sc.roots[key]; rv != nil {
			return rv
		}
	}
	var rv *rootView
	switch {
	case ok && key == sc.hostRoot:
		rv = newRootView(rootfs.Dir(sc.o.Root), sc.o.FIPS, key)
	case ok:
		rv = newRootView(rootfs.Dir(rdir), sc.o.FIPS, key)
	default:
		// The root is unreadable: judge with the host's files.
		rv = newRootView(rootfs.Dir(sc.o.Root), sc.o.FIPS, sc.hostRoot)
		return rv
	}
	sc.roots[key] = rv
	return rv
}

// classifyExe classifies the executable once per (root, device, inode).
func (sc *scanner) classifyExe(pid int, dir, link string, rv *rootView) (fips.Result, *fips.Facts, error) {
	// open opens the running executable: /proc/PID/exe on a real procfs
	// (the file that runs, even if replaced or in another mount
	// namespace), else the link's target inside the process's root.
	var open func() (rootfs.File, error)
	var key fileKey
	if sc.procReal {
		exe := filepath.Join(dir, "exe")
		fi, err := os.Stat(exe)
		if err != nil {
			return fips.Result{}, nil, err
		}
		key, _ = keyOf(fi)
		open = func() (rootfs.File, error) {
			fl, err := os.Open(exe)
			if err != nil {
				return nil, err
			}
			return osFile{fl, fi.Size()}, nil
		}
	} else {
		name, err := rootfs.Resolve(rv.fs, path.Clean("/"+link))
		if err != nil {
			return fips.Result{}, nil, err
		}
		fi, err := rv.fs.Lstat(name)
		if err != nil {
			return fips.Result{}, nil, err
		}
		key, _ = keyOf(fi)
		open = func() (rootfs.File, error) { return rv.fs.Open(name) }
	}
	sc.mu.Lock()
	e := sc.exes[[2]fileKey{rv.key, key}]
	if e == nil {
		e = &exeEntry{}
		sc.exes[[2]fileKey{rv.key, key}] = e
	}
	sc.mu.Unlock()
	e.once.Do(func() {
		f, err := open()
		if err != nil {
			e.err = err
			return
		}
		defer f.Close()
		facts, err := fips.Inspect(f, f.Size())
		if facts == nil {
			e.err = err
			return
		}
		e.facts = facts
		e.res = rv.c.Classify(path.Clean("/"+link), facts)
	})
	if e.err != nil {
		// Do not cache a failure: the process may have exited between
		// stat and open; the next one with this executable retries.
		sc.mu.Lock()
		if sc.exes[[2]fileKey{rv.key, key}] == e {
			delete(sc.exes, [2]fileKey{rv.key, key})
		}
		sc.mu.Unlock()
	}
	return e.res, e.facts, e.err
}

type osFile struct {
	*os.File
	size int64
}

func (f osFile) Size() int64 { return f.size }

// rootView answers questions about files in one process root, caching.
type rootView struct {
	fs  rootfs.FS
	c   *fips.Classifier
	key fileKey

	mu       sync.Mutex
	factsC   map[string]*fips.Facts
	classes  map[string]fips.Result
	follows  map[string]bool
	osr      map[string]string
	osrDone  bool
	confDone map[string]*osslConf
	kernel   string
}

func newRootView(fsys rootfs.FS, opts fips.Options, key fileKey) *rootView {
	return &rootView{fs: fsys, c: fips.NewClassifier(fsys, opts), key: key,
		factsC: map[string]*fips.Facts{}, classes: map[string]fips.Result{}, follows: map[string]bool{}, confDone: map[string]*osslConf{}}
}

func (rv *rootView) exists(name string) bool { return existsFS(rv.fs, name) }

// kernelSeen reads fips_enabled through the process's root.
func (rv *rootView) kernelSeen(dir string) string {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	if rv.kernel != "" {
		return rv.kernel
	}
	rv.kernel = readKernelSeen(dir)
	return rv.kernel
}

// readKernelSeen reads fips_enabled through /proc/PID/root: every process
// of one root and mount namespace sees the same.
func readKernelSeen(dir string) string {
	data, _, err := readProc(filepath.Join(dir, "root", "proc", "sys", "crypto", "fips_enabled"), 64)
	switch {
	case err == nil && strings.HasPrefix(strings.TrimSpace(string(data)), "1"):
		return "1"
	case err == nil:
		return "0"
	case errors.Is(err, fs.ErrNotExist):
		return "absent"
	}
	return "unreadable"
}

func (rv *rootView) facts(name string) *fips.Facts {
	rv.mu.Lock()
	f, ok := rv.factsC[name]
	rv.mu.Unlock()
	if ok {
		return f
	}
	if p, err := rootfs.Resolve(rv.fs, name); err == nil {
		if fl, err := rv.fs.Open(p); err == nil {
			f, _ = fips.Inspect(fl, fl.Size())
			fl.Close()
		}
	}
	rv.mu.Lock()
	rv.factsC[name] = f
	rv.mu.Unlock()
	return f
}

func (rv *rootView) classify(name string) fips.Result {
	rv.mu.Lock()
	r, ok := rv.classes[name]
	rv.mu.Unlock()
	if ok {
		return r
	}
	if f := rv.facts(name); f != nil {
		p, err := rootfs.Resolve(rv.fs, name)
		if err == nil {
			r = rv.c.Classify(p, f)
		}
	}
	rv.mu.Lock()
	rv.classes[name] = r
	rv.mu.Unlock()
	return r
}

func (rv *rootView) family() string {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	if !rv.osrDone {
		rv.osrDone = true
		data, err := readFS(rv.fs, "/etc/os-release", maxSmallFile)
		if err != nil {
			data, _ = readFS(rv.fs, "/usr/lib/os-release", maxSmallFile)
		}
		rv.osr = ParseOSRelease(data)
	}
	return family(rv.osr)
}

func (rv *rootView) libFollows(lib string) bool {
	rv.mu.Lock()
	v, ok := rv.follows[lib]
	rv.mu.Unlock()
	if ok {
		return v
	}
	v, err := libFollowsKernel(rv.fs, lib)
	if err != nil {
		fam := rv.family()
		v = fam == famRHEL || fam == famSUSE || fam == famAzure
	}
	rv.mu.Lock()
	rv.follows[lib] = v
	rv.mu.Unlock()
	return v
}

func (rv *rootView) conf(name string) *osslConf {
	rv.mu.Lock()
	c, ok := rv.confDone[name]
	rv.mu.Unlock()
	if ok {
		return c
	}
	c, _ = loadOSSLConf(rv.fs, name)
	rv.mu.Lock()
	rv.confDone[name] = c
	rv.mu.Unlock()
	return c
}

// opensslWillLoadFIPS says whether the libcrypto lib of a process with
// env and kernel flag would load a FIPS provider at its first use, and
// how (or why not).
func (rv *rootView) opensslWillLoadFIPS(lib string, env map[string]string, kernel string) (string, bool) {
	dir := ""
	if lib != "" {
		if f := rv.facts(lib); f != nil {
			dir = f.OpenSSLDir
		}
	}
	if dir == "" {
		switch rv.family() {
		case famRHEL, famAzure:
			dir = "/etc/pki/tls"
		case famSUSE:
			dir = "/etc/ssl"
		default:
			dir = "/usr/lib/ssl"
		}
	}
	cnf := path.Join(dir, "openssl.cnf")
	if v, ok := env["OPENSSL_CONF"]; ok && v != "" {
		cnf = v
	}
	follows := lib != "" && rv.libFollows(lib)
	fam := rv.family()
	force, forceSet := env["OPENSSL_FORCE_FIPS_MODE"]
	if follows && fam == famUbuntu && forceSet && force == "0" {
		return "OPENSSL_FORCE_FIPS_MODE=0 turns Ubuntu OpenSSL's kernel-flag detection off", false
	}
	if follows && forceSet && fam != famUbuntu {
		return "OPENSSL_FORCE_FIPS_MODE is set (a Red Hat-patched OpenSSL forces FIPS mode when it exists, whatever its value)", true
	}
	if follows && kernel == "1" {
		return "this OpenSSL loads the FIPS provider by itself on a FIPS kernel", true
	}
	c := rv.conf(cnf)
	if c != nil && c.providers().FIPSActive {
		return cnf + " activates the FIPS provider", true
	}
	why := cnf + " does not activate a FIPS provider"
	if c == nil {
		why = cnf + " cannot be read, so OpenSSL uses its default provider"
	}
	switch {
	case follows:
		why += ", and the kernel flag as this process sees it is " + kernel
	default:
		why += ", and this OpenSSL does not follow the kernel flag"
	}
	return why, false
}

// Summarize counts results; skipped is the number of processes that
// exited during the scan.
func Summarize(rs []Result, skipped int) Summary {
	s := Summary{Posture: map[string]int{}, Verdicts: map[string]int{}, Backends: map[string]int{}, Containers: map[string]map[string]int{}, Skipped: skipped}
	hosts := map[string]bool{}
	for _, r := range rs {
		switch r.Kind {
		case KindPosture:
			s.Posture[r.Status]++
			if r.Check == CheckKernelFlag {
				hosts[r.Host] = true
				if r.Status == StatusPass {
					s.FIPSHosts++
				}
			}
		case KindProcess:
			s.Processes++
			s.Verdicts[string(r.Verdict)]++
			if r.Verdict == Unreadable {
				s.Unreadable++
			}
			for _, b := range r.Crypto {
				s.Backends[b]++
			}
			c := cmp.Or(r.ContainerID, "host")
			if s.Containers[c] == nil {
				s.Containers[c] = map[string]int{}
			}
			s.Containers[c][string(r.Verdict)]++
		}
	}
	s.Hosts = len(hosts)
	return s
}

// Add adds o's counts to s (merged node reports).
func (s *Summary) Add(o Summary) {
	s.Hosts += o.Hosts
	s.FIPSHosts += o.FIPSHosts
	s.Processes += o.Processes
	s.Skipped += o.Skipped
	s.Unreadable += o.Unreadable
	s.KernelThreads += o.KernelThreads
	s.Posture = report.AddCounts(s.Posture, o.Posture)
	s.Verdicts = report.AddCounts(s.Verdicts, o.Verdicts)
	s.Backends = report.AddCounts(s.Backends, o.Backends)
	if s.Containers == nil {
		s.Containers = map[string]map[string]int{}
	}
	for c, m := range o.Containers {
		s.Containers[c] = report.AddCounts(s.Containers[c], m)
	}
}
