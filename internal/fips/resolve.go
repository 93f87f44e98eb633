package fips

import (
	"errors"
	"io/fs"
	"path"
	"strings"

	"github.com/kensa-project/kensa/internal/rootfs"
)

// resolvedDir is a directory of the root resolved once: its path with
// every link followed, or ok false when that is not a plain existing
// directory (then each name under it is resolved the slow way).
type resolvedDir struct {
	path string
	ok   bool
}

// resolve is [rootfs.Resolve] with the directories' resolution cached. A
// scan resolves names in the same few directories thousands of times
// (every library a walk meets, every candidate of every DT_NEEDED), and
// rootfs.Resolve looks up each element of the path each time. fi is the
// final element's information when it exists and resolve had to read it
// (nil otherwise: the caller asks Lstat).
//
// Anything unusual (a link target with ".." after its first elements,
// which must be resolved element by element; many links; a directory
// that is not one) is left to rootfs.Resolve, with the name as given.
func (c *Classifier) resolve(name string) (p string, fi fs.FileInfo, err error) {
	p, fi, ok, err := c.resolveFast(name, 0)
	if !ok {
		p, err = rootfs.Resolve(c.root, name)
		fi = nil
	}
	return p, fi, err
}

func (c *Classifier) resolveFast(name string, links int) (string, fs.FileInfo, bool, error) {
	clean := path.Clean("/" + name)
	dir, base := path.Split(clean)
	if base == "" || links > maxResolveLinks {
		return "", nil, false, nil
	}
	d := c.dir(dir)
	if !d.ok {
		return "", nil, false, nil
	}
	next := path.Join(d.path, base)
	fi, err := c.root.Lstat(next)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return next, nil, true, nil
		}
		return next, nil, true, err
	}
	if fi.Mode()&fs.ModeSymlink == 0 {
		return next, fi, true, nil
	}
	// A link (libssl.so.3 → libssl.so.3.0.19): its target, relative to
	// the resolved directory (".." climbs from there, as the kernel
	// would) or from the root.
	target, err := c.root.ReadLink(next)
	if err != nil {
		return next, nil, true, err
	}
	rest := target
	for {
		r, ok := strings.CutPrefix(rest, "../")
		if !ok {
			break
		}
		rest = strings.TrimLeft(r, "/")
	}
	if rest == ".." || strings.HasSuffix(rest, "/..") || strings.Contains(rest, "/../") || strings.HasPrefix(rest, "../") {
		return "", nil, false, nil
	}
	if !path.IsAbs(target) {
		target = path.Join(d.path, target)
	}
	return c.resolveFast(target, links+1)
}

// maxResolveLinks is how many links resolve follows itself before it
// leaves the name to rootfs.Resolve (which counts them all and reports
// a loop).
const maxResolveLinks = 8

// dir returns the cached resolution of the directory dir ("/usr/lib/").
func (c *Classifier) dir(dir string) resolvedDir {
	if v, ok := c.dirs.Load(dir); ok {
		return v.(resolvedDir)
	}
	var d resolvedDir
	if p, err := rootfs.Resolve(c.root, dir); err == nil {
		if fi, err := c.root.Lstat(p); err == nil && fi.IsDir() {
			d = resolvedDir{p, true}
		}
	}
	c.dirs.Store(dir, d)
	return d
}
