package fips

import (
	"bufio"
	"debug/elf"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/kensa-project/kensa/internal/rootfs"
)

// Bounds on dependency resolution.
const (
	maxClosure   = 512 // libraries visited per file
	maxConfFiles = 256
	maxConfBytes = 1 << 20
)

// multiarch is the Debian multiarch directory name of each machine.
var multiarch = map[elf.Machine][]string{
	elf.EM_X86_64:  {"x86_64-linux-gnu"},
	elf.EM_AARCH64: {"aarch64-linux-gnu"},
	elf.EM_386:     {"i386-linux-gnu"},
	elf.EM_ARM:     {"arm-linux-gnueabihf", "arm-linux-gnueabi"},
	elf.EM_PPC64:   {"powerpc64le-linux-gnu", "powerpc64-linux-gnu"},
	elf.EM_S390:    {"s390x-linux-gnu"},
	elf.EM_RISCV:   {"riscv64-linux-gnu"},
}

// searchDirs are the directories the loader tries after RPATH and
// RUNPATH: those of /etc/ld.so.conf (what ldconfig puts in its cache),
// then the built-in defaults, multiarch ones included.
func (c *Classifier) searchDirs(f *Facts) []string {
	c.confOnce.Do(func() {
		seen := map[string]bool{}
		files := 0
		c.readConf("/etc/ld.so.conf", seen, &files, 0)
	})
	dirs := append([]string(nil), c.confDirs...)
	for _, t := range multiarch[f.Machine] {
		dirs = append(dirs, "/lib/"+t, "/usr/lib/"+t)
	}
	if f.Class == elf.ELFCLASS64 {
		dirs = append(dirs, "/lib64", "/usr/lib64")
	}
	// glibc's built-in directories; /usr/local/lib only through ld.so.conf.
	return append(dirs, "/lib", "/usr/lib")
}

// readConf reads one ld.so.conf file: directory lines and "include GLOB"
// lines (relative globs are relative to the including file's directory).
func (c *Classifier) readConf(name string, seen map[string]bool, files *int, depth int) {
	if depth > 8 || *files >= maxConfFiles || seen[name] {
		return
	}
	seen[name] = true
	*files++
	data, err := c.readSmall(name, maxConfBytes)
	if err != nil {
		return
	}
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		fields := strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' || r == ':' || r == ',' })
		if len(fields) == 0 {
			continue
		}
		switch fields[0] {
		case "include":
			for _, pat := range fields[1:] {
				if !strings.HasPrefix(pat, "/") {
					pat = path.Join(path.Dir(name), pat)
				}
				for _, m := range c.glob(pat) {
					c.readConf(m, seen, files, depth+1)
				}
			}
		case "hwcap":
		default:
			for _, d := range fields {
				if strings.HasPrefix(d, "/") && len(c.confDirs) < 256 {
					c.confDirs = append(c.confDirs, path.Clean(d))
				}
			}
		}
	}
}

// glob expands a pattern whose wildcards are in the last element only
// (what ld.so.conf uses).
func (c *Classifier) glob(pat string) []string {
	dir, base := path.Split(pat)
	if !strings.ContainsAny(base, "*?[") {
		return []string{pat}
	}
	rdir, err := rootfs.Resolve(c.root, dir)
	if err != nil {
		return nil
	}
	ents, err := c.root.ReadDir(rdir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		if ok, _ := path.Match(base, e.Name()); ok {
			out = append(out, path.Join(dir, e.Name()))
		}
	}
	return out
}

// readSmall reads a small regular file (following links inside the root).
func (c *Classifier) readSmall(name string, limit int64) ([]byte, error) {
	r, err := rootfs.Resolve(c.root, name)
	if err != nil {
		return nil, err
	}
	fl, err := c.root.Open(r)
	if err != nil {
		return nil, err
	}
	defer fl.Close()
	if fl.Size() > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, limit)
	}
	return io.ReadAll(io.NewSectionReader(fl, 0, fl.Size()))
}

type lookupResult struct {
	path  string
	facts *Facts
}

// expand substitutes $ORIGIN, ${ORIGIN}, $LIB and ${LIB} in a search
// path element.
func (c *Classifier) expand(dir, origin string, f *Facts) string {
	if !strings.Contains(dir, "$") {
		return dir
	}
	// By hand rather than with a strings.Replacer: this runs for every
	// $ORIGIN search path of every file, and building a Replacer per
	// call was 3 MB of garbage in a scan of /usr. $LIB, rare, costs a
	// look at the root's directories, so it is asked only when present.
	var b strings.Builder
	for {
		i := strings.IndexByte(dir, '$')
		if i < 0 {
			b.WriteString(dir)
			return b.String()
		}
		b.WriteString(dir[:i])
		rest := dir[i:]
		switch {
		case strings.HasPrefix(rest, "${ORIGIN}"):
			b.WriteString(origin)
			dir = rest[len("${ORIGIN}"):]
		case strings.HasPrefix(rest, "$ORIGIN"):
			b.WriteString(origin)
			dir = rest[len("$ORIGIN"):]
		case strings.HasPrefix(rest, "${LIB}"):
			b.WriteString(c.libToken(f))
			dir = rest[len("${LIB}"):]
		case strings.HasPrefix(rest, "$LIB"):
			b.WriteString(c.libToken(f))
			dir = rest[len("$LIB"):]
		default:
			b.WriteByte('$')
			dir = rest[1:]
		}
	}
}

// libToken is what the root's loader puts for $LIB: glibc sets it at
// build time to its library directory, lib/<multiarch triplet> on Debian
// and Ubuntu, lib64 on Fedora and RHEL for 64-bit objects, else lib. A
// root with the multiarch directory of f's machine is taken as Debian's.
func (c *Classifier) libToken(f *Facts) string {
	for _, t := range multiarch[f.Machine] {
		for _, d := range []string{"/usr/lib/" + t, "/lib/" + t} {
			if p, err := rootfs.Resolve(c.root, d); err == nil {
				if fi, err := c.root.Lstat(p); err == nil && fi.IsDir() {
					return "lib/" + t
				}
			}
		}
	}
	if f.Class == elf.ELFCLASS64 {
		return "lib64"
	}
	return "lib"
}

// findLibrary finds the library the loader would load for needed, asked
// by the object at obj (a resolved path) with facts of. inherited are the
// DT_RPATH directories of the objects that loaded obj, nearest first
// (see depHits). It returns the resolved path and facts.
func (c *Classifier) findLibrary(obj string, of *Facts, needed string, inherited []string) (string, *Facts) {
	if needed == "" {
		return "", nil
	}
	origin := path.Dir(obj)
	var dirs []string
	if strings.Contains(needed, "/") {
		p := needed
		if !strings.HasPrefix(p, "/") {
			p = path.Join(origin, p)
		}
		return c.tryLibrary(p, of)
	}
	if len(of.Dynamic.RunPath) == 0 {
		dirs = append(c.ownRPath(obj, of), inherited...)
	}
	for _, d := range of.Dynamic.RunPath {
		dirs = append(dirs, c.expand(d, origin, of))
	}
	key := fmt.Sprintf("%s\x00%d/%d\x00%s", needed, of.Class, of.Machine, strings.Join(dirs, ":"))
	if v, ok := c.lookups.Load(key); ok {
		r := v.(lookupResult)
		return r.path, r.facts
	}
	var res lookupResult
	for _, d := range append(dirs, c.searchDirs(of)...) {
		if p, lf := c.tryLibrary(path.Join(d, needed), of); p != "" {
			res = lookupResult{p, lf}
			break
		}
	}
	if res.path == "" && needed == "libjvm.so" {
		// A JDK's own libraries (lib/libjava.so, lib/libnet.so …; Java
		// 8: jre/lib/amd64/…) need libjvm.so with no path to it: the
		// java launcher's libjli dlopens lib/server/libjvm.so (or the
		// client or minimal VM) first, and the loader reuses it by its
		// soname. Without this every JDK library would be "not in the
		// root filesystem".
		for _, vm := range []string{"server", "client", "minimal"} {
			if p, lf := c.tryLibrary(path.Join(origin, vm, needed), of); p != "" {
				res = lookupResult{p, lf}
				break
			}
		}
	}
	c.lookups.Store(key, res)
	return res.path, res.facts
}

// tryLibrary returns the resolved path and facts of candidate when it is
// an ELF shared object of the same class and machine as of.
func (c *Classifier) tryLibrary(candidate string, of *Facts) (string, *Facts) {
	p, fi, err := c.resolve(candidate)
	if err != nil {
		return "", nil
	}
	if fi == nil {
		fi, err = c.root.Lstat(p)
	}
	if err != nil || !fi.Mode().IsRegular() {
		return "", nil
	}
	lf, err := c.factsOf(p)
	if err != nil || lf == nil {
		return "", nil
	}
	if lf.Kind != KindSharedLibrary && lf.Kind != KindExecutable {
		return "", nil
	}
	if lf.Class != of.Class || lf.Machine != of.Machine {
		return "", nil
	}
	return p, lf
}

// depHits walks the dependency closure of the file breadth first and
// evaluates each crypto library it reaches, with the chain that reaches
// it. missing are the needed libraries of no known crypto family that
// the loader would not find (a missing crypto library is a noncompliant
// hit of its family instead).
func (c *Classifier) depHits(name string, f *Facts) (hits []hit, missing []string) {
	if len(f.Dynamic.Needed) == 0 {
		return nil, nil
	}
	self := name
	if r, _, err := c.resolve(name); err == nil {
		self = r
	}
	// glibc, for an object without DT_RUNPATH, searches its DT_RPATH and
	// then the DT_RPATH of each object up the chain that loaded it (an
	// object with DT_RUNPATH contributes none): inherited carries those.
	type node struct {
		path      string
		facts     *Facts
		chain     string
		inherited []string
	}
	visited := map[string]bool{self: true}
	queue := []node{{self, f, path.Base(name), nil}}
	seenMissing := map[string]bool{}
	for len(queue) > 0 && len(visited) < maxClosure {
		n := queue[0]
		queue = queue[1:]
		for _, needed := range n.facts.Dynamic.Needed {
			p, lf := c.findLibrary(n.path, n.facts, needed, n.inherited)
			chain := n.chain + " → " + needed
			if p == "" {
				if fam := familyOf(needed); fam != "" {
					hits = append(hits, hit{backend: fam, verdict: Noncompliant, via: chain,
						module:  Module{Backend: fam, Name: needed, Status: StatusUnknown},
						reasons: []string{fmt.Sprintf("%s (%s) is needed but not in the root filesystem: the crypto library it would load cannot be checked", needed, fam)}})
				} else if !seenMissing[needed] && len(missing) < 16 {
					seenMissing[needed] = true
					missing = append(missing, needed)
				}
				continue
			}
			if visited[p] {
				continue
			}
			visited[p] = true
			fam := familyOf(needed)
			if fam == "" {
				fam = familyOf(lf.Dynamic.SOName)
			}
			if fam != "" {
				hits = append(hits, c.libraryHit(fam, p, lf, chain))
			}
			hits = append(hits, c.staticHits(lf, fam, chain)...)
			var inh []string
			if len(n.facts.Dynamic.RunPath) == 0 {
				inh = c.ownRPath(n.path, n.facts)
			}
			inh = append(inh, n.inherited...)
			queue = append(queue, node{p, lf, chain, inh[:min(len(inh), maxInheritedRPath)]})
		}
	}
	return hits, missing
}

// maxInheritedRPath caps the DT_RPATH directories carried down a chain.
const maxInheritedRPath = 256

// ownRPath is the expanded DT_RPATH of the object at obj.
func (c *Classifier) ownRPath(obj string, of *Facts) []string {
	var dirs []string
	for _, d := range of.Dynamic.RPath {
		dirs = append(dirs, c.expand(d, path.Dir(obj), of))
	}
	return dirs
}

// dlopenLibcrypto finds the libcrypto a Go binary calling OpenSSL would
// dlopen: golang-fips and Microsoft Go try libcrypto.so.3 first, then
// the 1.1 names.
func (c *Classifier) dlopenLibcrypto(name string, f *Facts) (string, *Facts, string) {
	self := name
	if r, _, err := c.resolve(name); err == nil {
		self = r
	}
	for _, so := range []string{"libcrypto.so.3", "libcrypto.so.1.1", "libcrypto.so.11", "libcrypto.so.111", "libcrypto.so.10"} {
		if p, lf := c.findLibrary(self, f, so, nil); p != "" {
			return p, lf, path.Base(name) + " → dlopen " + so
		}
	}
	return "", nil, ""
}
