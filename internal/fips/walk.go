package fips

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/kensa-project/kensa/internal/elfx"
)

// WalkOptions control a scan of files and directories on disk.
type WalkOptions struct {
	// RootDir is the host directory of the root filesystem the Classifier
	// uses ("/" by default); a scanned file under it is classified by its
	// path inside it, so $ORIGIN and links resolve as they would there.
	RootDir string
	// EveryFile opens every regular file met in a directory walk. By
	// default a walk opens only files with an execute bit or a shared
	// library name (*.so, *.so.N): the loader maps nothing else.
	EveryFile bool
	// Workers is how many files are read at once (default: 2 × CPUs).
	Workers int
	// Progress, if set, is called now and then with the counts so far.
	Progress func(seen, elf int64)
}

// WalkError is a file or directory that could not be read.
type WalkError struct {
	Path string
	Err  error
}

// Error names the path once: "dir: permission denied", not the
// "dir: open dir: permission denied" of the wrapped *fs.PathError.
func (e WalkError) Error() string { return fmt.Sprintf("%s: %v", e.Path, e.cause()) }

// cause is the error without the path a *fs.PathError repeats.
func (e WalkError) cause() error {
	var pe *fs.PathError
	if errors.As(e.Err, &pe) {
		return pe.Err
	}
	return e.Err
}

// Walk classifies the targets (files or directories on disk). A target
// named directly that is not ELF gives a not-applicable result; in a
// directory walk only ELF executables and shared libraries give results,
// symbolic links are not followed and relocatable objects are skipped.
// Results come back in no particular order through emit (called from one
// goroutine at a time); unreadable directories through walkErr.
func (c *Classifier) Walk(ctx context.Context, targets []string, o WalkOptions, emit func(Result), walkErr func(WalkError)) (seen int64) {
	if o.Workers <= 0 {
		o.Workers = 2 * runtime.NumCPU()
	}
	rootAbs, _ := filepath.Abs(cmp.Or(o.RootDir, "/"))
	type job struct {
		host, shown string
		named       bool
	}
	jobs := make(chan job, 256)
	var mu sync.Mutex
	var nSeen, nELF atomic.Int64
	report := func(r Result) {
		mu.Lock()
		defer mu.Unlock()
		emit(r)
	}
	reportErr := func(e WalkError) {
		mu.Lock()
		defer mu.Unlock()
		walkErr(e)
	}
	var workers sync.WaitGroup
	for range o.Workers {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for j := range jobs {
				if ctx.Err() != nil {
					continue
				}
				r, ok := c.classifyHostFile(j.host, j.shown, rootAbs, j.named)
				n := nSeen.Add(1)
				if ok {
					nELF.Add(1)
					report(r)
				}
				if o.Progress != nil && n%64 == 0 {
					o.Progress(n, nELF.Load())
				}
			}
		}()
	}
	// Directories are read by at most dirWorkers extra goroutines; when
	// all are busy a directory is walked inline (depth first), so memory
	// stays bounded however many directories the tree holds.
	dirSem := make(chan struct{}, max(2, runtime.NumCPU()))
	var dirs sync.WaitGroup
	var walkDir func(host, shown string, top bool)
	walkDir = func(host, shown string, top bool) {
		type sub struct{ host, shown string }
		var subdirs []sub
		// Read the directory through its descriptor: entries unsorted
		// (the results are sorted at the end), and the execute bit of
		// each file asked relative to it, so the kernel does not walk
		// the whole path again for every file of the tree.
		d, err := os.Open(host)
		if err == nil && !top && pseudoFSDir(d) {
			d.Close()
			return
		}
		var ents []fs.DirEntry
		if err == nil {
			ents, err = d.ReadDir(-1)
		}
		if err != nil {
			reportErr(WalkError{shown, err})
		}
		for _, e := range ents {
			if ctx.Err() != nil {
				break
			}
			switch t := e.Type(); {
			case t.IsDir():
				subdirs = append(subdirs, sub{filepath.Join(host, e.Name()), filepath.Join(shown, e.Name())})
			case t.IsRegular():
				if !o.EveryFile && !libraryName(e.Name()) && javaKind(e.Name()) == "" && !executableAt(d, e) {
					continue
				}
				jobs <- job{filepath.Join(host, e.Name()), filepath.Join(shown, e.Name()), false}
			}
		}
		if d != nil {
			d.Close()
		}
		for _, sd := range subdirs {
			if ctx.Err() != nil {
				return
			}
			select {
			case dirSem <- struct{}{}:
				dirs.Add(1)
				go func() {
					defer dirs.Done()
					walkDir(sd.host, sd.shown, false)
					<-dirSem
				}()
			default:
				walkDir(sd.host, sd.shown, false)
			}
		}
	}
	for _, t := range targets {
		st, err := os.Stat(t)
		if err != nil {
			reportErr(WalkError{t, err})
			continue
		}
		if st.IsDir() {
			walkDir(t, t, true)
			continue
		}
		jobs <- job{t, t, true}
	}
	dirs.Wait()
	close(jobs)
	workers.Wait()
	if o.Progress != nil {
		o.Progress(nSeen.Load(), nELF.Load())
	}
	return nSeen.Load()
}

// libraryName reports whether a file name looks like native code that is
// loaded without an execute bit: shared libraries (lib.so, lib.so.3,
// lib.so.3.0.1), Python extension modules
// (module.cpython-311-x86_64-linux-gnu.so, module.abi3.so), Java's JNI
// libraries (libjava.so) and Node.js addons (addon.node).
func libraryName(name string) bool {
	if strings.HasSuffix(name, ".node") && len(name) > len(".node") {
		return true
	}
	i := strings.Index(name, ".so")
	return i > 0 && (i+3 == len(name) || name[i+3] == '.')
}

// classifyHostFile inspects and classifies one file on disk. ok is false
// for a file a walk skips (not ELF, relocatable).
func (c *Classifier) classifyHostFile(host, shown, rootAbs string, named bool) (res Result, ok bool) {
	defer func() {
		if p := recover(); p != nil {
			res, ok = unreadableResult(shown, fmt.Sprintf("internal error: %v", p)), true
		}
	}()
	if named {
		if st, err := os.Stat(host); err == nil && !st.Mode().IsRegular() {
			return Result{Path: shown, Kind: KindNotApplicable, Crypto: []string{}, Modules: []Module{}, Verdict: NotApplicable, Reasons: []string{"not a regular file"}}, true
		}
	}
	f, err := openScan(host)
	if err != nil {
		return unreadableResult(shown, openReason(err)), true
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return unreadableResult(shown, err.Error()), true
	}
	if !st.Mode().IsRegular() {
		if named {
			return Result{Path: shown, Kind: KindNotApplicable, Crypto: []string{}, Modules: []Module{}, Verdict: NotApplicable, Reasons: []string{"not a regular file"}}, true
		}
		return Result{}, false
	}
	var magic [4]byte
	if n, _ := f.ReadAt(magic[:], 0); !elfx.Magic(magic[:n]) {
		if k := javaKind(filepath.Base(host)); k != "" {
			r, ok := c.ClassifyJava(shown, f, st.Size(), k)
			if ok || named {
				return r, true
			}
			return Result{}, false
		}
		if named {
			return c.Classify(shown, &Facts{Kind: KindNotELF, Size: st.Size()}), true
		}
		return Result{}, false
	}
	facts, _ := Inspect(f, st.Size())
	if !named && (facts.Kind == KindRelocatable || facts.Kind == KindNotELF) {
		return Result{}, false
	}
	name := inRoot(host, rootAbs)
	if facts.Kind == KindSharedLibrary {
		// Dependents will ask for this library: keep what was read.
		if p, _, err := c.resolve(name); err == nil {
			c.seed(p, facts)
		}
	}
	res = c.Classify(name, facts)
	res.Path = shown
	return res, true
}

// inRoot maps a host path to its name inside the root directory; a file
// outside the root keeps its absolute host path.
func inRoot(host, rootAbs string) string {
	abs, err := filepath.Abs(host)
	if err != nil {
		return filepath.ToSlash(host)
	}
	if rootAbs == "/" {
		return filepath.ToSlash(abs)
	}
	rel, err := filepath.Rel(rootAbs, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return filepath.ToSlash(abs)
	}
	return "/" + filepath.ToSlash(rel)
}

func openReason(err error) string {
	if errors.Is(err, fs.ErrPermission) {
		return "permission denied"
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func unreadableResult(path, reason string) Result {
	return Result{Path: path, Kind: KindUnreadable, Crypto: []string{}, Modules: []Module{}, Verdict: Unreadable, Reasons: []string{"unreadable: " + reason}}
}
