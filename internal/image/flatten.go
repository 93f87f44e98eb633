package image

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/kensa-project/kensa/internal/report"
	"github.com/kensa-project/kensa/internal/rootfs"
)

// Flattening model.
//
// A container runtime applies an image's layers bottom-up: each layer's
// tar stream is unpacked over the result of the ones below it; a
// ".wh.NAME" entry deletes NAME (and everything under it) from the lower
// layers, a ".wh..wh..opq" entry in directory D hides everything the
// lower layers put under D, and a later entry for a path replaces an
// earlier one. Replaying that in memory would mean keeping every file of
// every layer until the top layer has been read, since any of them may
// be deleted later.
//
// Flatten reads the layers top-down instead, once each, as mutate.Extract
// does: the first time a path is seen it is final, and a path is skipped
// when an upper layer already put something at it, put a non-directory
// at one of its parents, whited it out, or made a parent opaque. So only
// files that the container would really see are examined, and memory
// holds the tree's metadata, small retained configuration files and one
// file's contents at a time.
//
// kensa does not use mutate.Extract itself, because it needs what that
// function cannot give: bounds on the bytes and entries a hostile image
// can make it read, per-entry problems instead of aborting on the first
// unsafe path, whiteouts that apply only to lower layers even when a
// layer lists the file after its whiteout, and hard links. A hard link
// in a layer names another path whose contents it shares; Flatten gives
// both names one inode, including when the target comes from a lower
// layer (read later in the top-down order, so the link waits for it).

// Tar entry kinds kept in the tree.
const (
	typeReg     = tar.TypeReg
	typeDir     = tar.TypeDir
	typeSymlink = tar.TypeSymlink
	typeChar    = tar.TypeChar
	typeBlock   = tar.TypeBlock
	typeFifo    = tar.TypeFifo
)

const (
	whiteoutPrefix = ".wh."
	opaqueWhiteout = ".wh..wh..opq"
	// aufsMeta prefixes AUFS bookkeeping entries (.wh..wh.plnk,
	// .wh..wh.aufs) that are neither files nor whiteouts.
	aufsMeta = ".wh..wh."
)

// Limits bound what one image can make kensa read and hold.
type Limits struct {
	// MaxUncompressed bounds the bytes of uncompressed layer tar streams
	// read, across all layers (decompression bombs).
	MaxUncompressed int64
	// MaxEntries bounds the tar entries read, across all layers.
	MaxEntries int
	// MaxExamine is the largest file handed to the Examiner; larger ELF
	// files are listed with a note and not examined.
	MaxExamine int64
	// MaxRetainFile and MaxRetainTotal bound the retained configuration
	// files, one and all together.
	MaxRetainFile  int64
	MaxRetainTotal int64
}

// DefaultLimits are generous for real images (the largest public images
// are a few GiB uncompressed, with a few hundred thousand entries) and
// still stop a bomb.
var DefaultLimits = Limits{
	MaxUncompressed: 64 << 30,
	MaxEntries:      1_000_000,
	MaxExamine:      512 << 20,
	MaxRetainFile:   64 << 10,
	MaxRetainTotal:  32 << 20,
}

// Examiner is called once for each regular ELF file of the final tree
// (once per inode: hard links share the call) with its whole contents,
// while the layer streams. r is valid only during the call. The returned
// value is kept in the tree ([File.Value]); a panic is recorded as the
// file's note.
type Examiner func(name string, r io.ReaderAt, size int64) any

// FlattenOptions configure [Flatten].
type FlattenOptions struct {
	Limits Limits
	// Examine receives ELF files; nil examines nothing.
	Examine Examiner
	// ExamineAlso, when set, says whether a file that is not ELF is
	// handed to Examine too, by its name (fips: Java archives and
	// java.security). The same size limit applies.
	ExamineAlso func(name string) bool
	// Retain says whether a small non-ELF file's contents are kept for
	// [FS.Open]; nil means [RetainConfig].
	Retain func(name string, size int64) bool
	// Progress, when set, is called now and then with the work done so
	// far and the index of the layer being read.
	Progress func(s Stats, layer int)
	// CacheKey names Examine and Retain for a [LayerCache]: flattenings
	// that give the same key must examine and retain alike, and Examine
	// must not depend on the name it is given (a layer's record is made
	// once, under the layer's own names). Empty means the layers are
	// not cached.
	CacheKey string
}

// RetainConfig keeps what dependency resolution and the OpenSSL checks
// read: files under /etc, OpenSSL and linker configuration (*.cnf,
// *.conf) anywhere, integrity files (.hmac, .chk) and os-release.
func RetainConfig(name string, size int64) bool {
	switch {
	case strings.HasPrefix(name, "/etc/"),
		strings.HasSuffix(name, ".cnf"), strings.HasSuffix(name, ".conf"),
		strings.HasSuffix(name, ".hmac"), strings.HasSuffix(name, ".chk"),
		name == "/usr/lib/os-release":
		return true
	}
	return false
}

// LayerOpener opens one layer's uncompressed tar stream.
type LayerOpener func() (io.ReadCloser, error)

// ErrLimit wraps the errors of a flattening stopped by a [Limits] bound.
var ErrLimit = errors.New("image exceeds a limit")

// Flatten reads layers (bottom first, as v1.Image.Layers orders them) in
// one top-down streaming pass and returns the final filesystem. An error
// means the image could not be read whole (a layer failed to open or
// decompress, or a limit was hit); what was skipped inside a readable
// image is in [FS.Problems].
func Flatten(ctx context.Context, layers []LayerOpener, opts FlattenOptions) (*FS, error) {
	opts = flattenDefaults(opts)
	fl := newFlattener(ctx, opts, len(layers))
	for i := len(layers) - 1; i >= 0; i-- {
		if err := fl.layer(i, layers[i]); err != nil {
			return nil, fmt.Errorf("layer %d of %d: %w", i+1, len(layers), err)
		}
	}
	fl.finish()
	return fl.fs, nil
}

func flattenDefaults(opts FlattenOptions) FlattenOptions {
	if opts.Limits == (Limits{}) {
		opts.Limits = DefaultLimits
	}
	if opts.Retain == nil {
		opts.Retain = RetainConfig
	}
	return opts
}

func newFlattener(ctx context.Context, opts FlattenOptions, layers int) *flattener {
	fl := &flattener{
		ctx:       ctx,
		opts:      opts,
		fs:        &FS{nodes: map[string]*node{"/": {typ: typeDir, mode: fs.ModeDir | 0o755, layer: -1}}},
		idx:       -1,
		whiteouts: map[string]bool{},
		opaque:    map[string]bool{},
		pending:   map[string][]pendingLink{},
	}
	fl.fs.Stats.Layers = layers
	return fl
}

// examine runs the Examiner on one file's contents, in turn with reading
// the stream (a layer record overlaps the two: examPipe).
func (fl *flattener) examine(ino *inode, name string, buf []byte) {
	defer func() {
		if p := recover(); p != nil {
			ino.value, ino.note = nil, fmt.Sprintf("examining it failed: %v", p)
		}
	}()
	ino.value = fl.opts.Examine(name, readerAt(buf), int64(len(buf)))
}

type flattener struct {
	ctx  context.Context
	opts FlattenOptions
	fs   *FS
	// whiteouts and opaque hold what the layers above the current one
	// deleted or made opaque.
	whiteouts map[string]bool
	opaque    map[string]bool
	// pending holds hard links of upper layers whose target is in a lower
	// layer, by target name.
	pending map[string][]pendingLink
	idx     int // the layer being read
	// below and implied remember, for the layer being read, which
	// directories hide what is under them and which were considered
	// by implyParents.
	below   map[string]bool
	implied map[string]bool
	// unlisted counts the problems beyond maxProblems.
	unlisted int
}

// skipped marks, in a layer's own index, a regular file whose contents
// were not read because an upper layer replaced it.
var skipped = &inode{}

type pendingLink struct {
	n     *node
	layer int
	name  string
}

// maxProblems bounds the problems listed; the rest are counted.
const maxProblems = 1000

func (fl *flattener) problem(layer int, name, format string, args ...any) {
	if len(fl.fs.Problems) < maxProblems {
		fl.fs.Problems = append(fl.fs.Problems, Problem{Layer: layer, Path: name, Reason: fmt.Sprintf(format, args...)})
		return
	}
	fl.unlisted++
}

// countingReader stops a layer stream at the image's byte budget.
type countingReader struct {
	r   io.Reader
	n   *int64
	max int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if *c.n >= c.max {
		return 0, fmt.Errorf("%w: more than %d uncompressed bytes", ErrLimit, c.max)
	}
	if rem := c.max - *c.n; int64(len(p)) > rem {
		p = p[:rem]
	}
	n, err := c.r.Read(p)
	*c.n += int64(n)
	return n, err
}

// entry is one tar entry as flattening needs it: from a live tar stream
// ([tarSource]) or from a layer's cached record ([recordSource]).
type entry struct {
	name   string // as the layer names it
	link   string // hdr.Linkname
	typ    byte
	mode   fs.FileMode
	mtime  int64 // Unix seconds
	size   int64
	sparse bool
	// file indexes a regular file's facts in a layer record (-1: none).
	file int32
}

// layerSource yields one layer's entries in stream order.
type layerSource interface {
	// next returns the next entry, io.EOF after the last.
	next() (*entry, error)
	// file returns what kensa keeps of the current entry, a regular
	// file shown under the name shown (the entry's own, or a hard link
	// of an upper layer waiting for it).
	file(fl *flattener, shown string, e *entry, waiting []pendingLink) (*inode, error)
	// end is called after the last entry.
	end() error
}

// tarSource reads entries from a layer's tar stream; the stream's bytes
// count against the image's budget as they are read.
type tarSource struct {
	rc io.Reader
	tr *tar.Reader
	n  *int64
	// max is the image's byte budget.
	max int64
	e   entry
}

func newTarSource(rc io.Reader, n *int64, max int64) *tarSource {
	return &tarSource{rc: rc, tr: tar.NewReader(&countingReader{r: rc, n: n, max: max}), n: n, max: max}
}

func (s *tarSource) next() (*entry, error) {
	hdr, err := s.tr.Next()
	if err == io.EOF {
		return nil, io.EOF
	}
	if err != nil {
		return nil, fmt.Errorf("reading tar: %w", err)
	}
	s.e = entry{name: hdr.Name, link: hdr.Linkname, typ: hdr.Typeflag, mode: hdr.FileInfo().Mode(), mtime: hdr.ModTime.Unix(), size: hdr.Size, sparse: sparse(hdr), file: -1}
	return &s.e, nil
}

func (s *tarSource) file(fl *flattener, shown string, e *entry, waiting []pendingLink) (*inode, error) {
	return fl.readFile(shown, e, s.tr, waiting)
}

// end drains trailing bytes so a digest-verifying reader sees its end.
func (s *tarSource) end() error {
	if _, err := io.Copy(io.Discard, &countingReader{r: s.rc, n: s.n, max: s.max}); err != nil {
		return fmt.Errorf("reading past the tar end: %w", err)
	}
	return nil
}

func (fl *flattener) layer(idx int, open LayerOpener) error {
	rc, err := open()
	if err != nil {
		return err
	}
	defer rc.Close()
	return fl.entries(idx, newTarSource(rc, &fl.fs.Stats.UncompressedSize, fl.opts.Limits.MaxUncompressed))
}

// entries applies one layer's entries to the tree.
func (fl *flattener) entries(idx int, src layerSource) error {
	lim := fl.opts.Limits
	// This layer's whiteouts and opaque markers apply to lower layers
	// only, so they are merged once the layer is read.
	layerWh := map[string]bool{}
	layerOpq := map[string]bool{}
	// This layer's regular files that are not in the final tree, for hard
	// links to them (the visible ones are found in the tree).
	local := map[string]*inode{}
	fl.idx = idx
	fl.below, fl.implied = map[string]bool{}, map[string]bool{}
	for {
		if err := fl.ctx.Err(); err != nil {
			return err
		}
		hdr, err := src.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		fl.fs.Stats.Entries++
		if fl.opts.Progress != nil && fl.fs.Stats.Entries%256 == 0 {
			fl.opts.Progress(fl.fs.Stats, idx)
		}
		if fl.fs.Stats.Entries > lim.MaxEntries {
			return fmt.Errorf("%w: more than %d entries", ErrLimit, lim.MaxEntries)
		}
		name, ok := cleanName(hdr.name)
		if !ok {
			fl.problem(idx, hdr.name, "unsafe path skipped")
			continue
		}
		base, dir := path.Base(name), path.Dir(name)
		switch {
		case base == opaqueWhiteout:
			layerOpq[dir] = true
			continue
		case strings.HasPrefix(base, aufsMeta):
			continue
		case strings.HasPrefix(base, whiteoutPrefix):
			layerWh[path.Join(dir, base[len(whiteoutPrefix):])] = true
			continue
		}
		visible := name != "/" && fl.visible(name, idx)
		fl.implyParents(name, idx)
		switch hdr.typ {
		case tar.TypeReg, tar.TypeRegA, tar.TypeGNUSparse:
			waiting := fl.pending[name]
			delete(fl.pending, name)
			if !visible && len(waiting) == 0 {
				local[name] = skipped
				continue
			}
			shown := name
			if !visible {
				shown = waiting[0].name
			}
			ino, err := src.file(fl, shown, hdr, waiting)
			if err != nil {
				return err
			}
			for _, w := range waiting {
				w.n.ino, w.n.size = ino, hdr.size
			}
			if visible {
				fl.put(name, fl.newNode(typeReg, hdr, ino))
			} else {
				local[name] = ino
			}
		case tar.TypeLink:
			target, ok := cleanName(hdr.link)
			if !ok {
				fl.problem(idx, name, "hard link to unsafe path %q skipped", hdr.link)
				continue
			}
			if n, ok := fl.fs.nodes[target]; ok && n.layer == int32(idx) && n.ino != nil && n.ino.linkTo != "" {
				// A link of this layer to one still waiting for its
				// target (in a lower layer) waits for that target too.
				target = n.ino.linkTo
			}
			size, ino, found := fl.linkTarget(target, local)
			// Links of upper layers may name this link: they share
			// its target (a tar writer links to the first name of an
			// inode, so chains come only from links across layers).
			waiting := fl.pending[name]
			delete(fl.pending, name)
			if !found && len(waiting) > 0 {
				fl.pending[target] = append(fl.pending[target], waiting...)
			}
			switch {
			case found && ino == skipped:
				// The target's contents were not read because an upper
				// layer replaced that path; this link still shows them.
				ino = &inode{note: fmt.Sprintf("hard link to %s, whose contents in this layer were not read because an upper layer replaced that path", target)}
				if visible {
					fl.problem(idx, name, "%s", ino.note)
				}
			case !found:
				if !visible {
					continue
				}
				ino = &inode{note: fmt.Sprintf("hard link to %s, which is not in the image", target), linkTo: target}
			}
			if found {
				for _, w := range waiting {
					w.n.ino, w.n.size = ino, size
				}
			}
			if !visible {
				local[name] = ino
				continue
			}
			n := fl.newNode(typeReg, hdr, ino)
			n.mode &^= fs.ModeType
			if found {
				n.size = size
			} else {
				fl.pending[target] = append(fl.pending[target], pendingLink{n: n, layer: idx, name: name})
			}
			fl.put(name, n)
		case tar.TypeSymlink:
			if visible {
				n := fl.newNode(typeSymlink, hdr, nil)
				n.mode, n.link = fs.ModeSymlink|0o777, hdr.link
				fl.put(name, n)
			}
		case tar.TypeDir:
			if name == "/" {
				continue
			}
			if visible {
				fl.put(name, fl.newNode(typeDir, hdr, nil))
			}
		case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
			if visible {
				fl.put(name, fl.newNode(hdr.typ, hdr, nil))
			}
		default:
			// Extended headers are consumed by archive/tar; anything else
			// (tape volume labels, continuation entries) is not a file.
			fl.problem(idx, name, "tar entry type %q skipped", hdr.typ)
		}
	}
	if err := src.end(); err != nil {
		return err
	}
	for k := range layerWh {
		fl.whiteouts[k] = true
	}
	for k := range layerOpq {
		fl.opaque[k] = true
	}
	return nil
}

// maxPath is Linux's PATH_MAX: no runtime can create a longer name, and
// it bounds the per-entry work on parents.
const maxPath = 4096

// cleanName turns a tar entry name into an absolute clean path, or
// reports it unsafe: too long for Linux, a ".." element would leave the root (runtimes refuse
// such entries), and NUL bytes never name a file.
func cleanName(name string) (string, bool) {
	if name == "" || len(name) > maxPath || strings.ContainsRune(name, 0) {
		return "", false
	}
	for _, el := range strings.Split(name, "/") {
		if el == ".." {
			return "", false
		}
	}
	return path.Join("/", name), true
}

// visible reports whether an entry of layer idx at name survives the
// layers above it.
func (fl *flattener) visible(name string, idx int) bool {
	if n, ok := fl.fs.nodes[name]; ok && n.layer > int32(idx) && !n.implicit {
		return false
	}
	if fl.whiteouts[name] {
		return false
	}
	return fl.belowVisible(path.Dir(name))
}

// belowVisible reports whether the current layer's entries under dir
// survive the layers above it: no upper layer whited out dir or one of
// its parents, made one opaque, or put a non-directory there. Within a
// layer the answer cannot change (the upper layers' marks are merged
// when a layer ends, and this layer's own nodes never hide its
// entries), so it is kept per directory: a hostile image of deep paths
// costs one look per new directory, not one per parent of every entry.
func (fl *flattener) belowVisible(dir string) bool {
	if v, ok := fl.below[dir]; ok {
		return v
	}
	var v bool
	if dir == "/" {
		v = !fl.opaque["/"]
	} else {
		v = !fl.whiteouts[dir] && !fl.opaque[dir]
		if n, ok := fl.fs.nodes[dir]; v && ok && n.typ != typeDir && n.layer > int32(fl.idx) {
			v = false
		}
		v = v && fl.belowVisible(path.Dir(dir))
	}
	fl.below[dir] = v
	return v
}

// implyParents creates the missing parent directories of an entry of
// layer idx that the layers above leave visible, as unpacking the entry
// would (even when the entry itself is then hidden or is a whiteout).
// Each directory is considered once per layer.
func (fl *flattener) implyParents(name string, idx int) {
	for a := path.Dir(name); a != "/"; a = path.Dir(a) {
		if _, ok := fl.fs.nodes[a]; ok || fl.implied[a] {
			return
		}
		fl.implied[a] = true
		if !fl.whiteouts[a] && fl.belowVisible(path.Dir(a)) {
			fl.fs.nodes[a] = &node{typ: typeDir, mode: fs.ModeDir | 0o755, layer: int32(idx), implicit: true}
		}
	}
}

func (fl *flattener) newNode(typ byte, e *entry, ino *inode) *node {
	n := &node{typ: typ, mode: e.mode, layer: int32(fl.idx), mtime: e.mtime, ino: ino}
	if typ == typeReg {
		n.size = e.size
	}
	return n
}

// linkTarget finds the file a hard link of the current layer names: one
// of the layer's files that are not in the tree, or the tree's file from
// this layer. ino is nil for a file whose contents were not needed.
func (fl *flattener) linkTarget(target string, local map[string]*inode) (size int64, ino *inode, found bool) {
	if ino, ok := local[target]; ok {
		if ino == nil || ino == skipped {
			return 0, ino, true
		}
		return ino.size, ino, true
	}
	if n, ok := fl.fs.nodes[target]; ok && n.typ == typeReg && n.layer == int32(fl.idx) {
		if n.ino == nil {
			// Give both names one inode from now on.
			n.ino = &inode{size: n.size}
		}
		return n.size, n.ino, true
	}
	return 0, nil, false
}

func (fl *flattener) put(name string, n *node) {
	if old, ok := fl.fs.nodes[name]; ok && old.typ == typeReg {
		fl.fs.Stats.Files--
	}
	if n.typ == typeReg {
		fl.fs.Stats.Files++
	}
	fl.fs.nodes[name] = n
}

var elfMagic = []byte("\x7fELF")

// readFile reads a regular file's contents as far as they are needed:
// the whole file for the Examiner when it is ELF, small configuration
// files for retention, nothing otherwise (archive/tar skips the rest).
func (fl *flattener) readFile(name string, e *entry, r io.Reader, waiting []pendingLink) (*inode, error) {
	ino := &inode{size: e.size}
	if e.size < 4 {
		return fl.retain(ino, name, r, waiting)
	}
	var magic [4]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	isELF := string(magic[:]) == string(elfMagic)
	if !isELF && (fl.opts.Examine == nil || fl.opts.ExamineAlso == nil || !fl.opts.ExamineAlso(name)) {
		return fl.retainRest(ino, name, magic[:], r, waiting)
	}
	if done, ino, err := fl.elfBookkeeping(name, e, ino, waiting, isELF); done {
		return ino, err
	}
	fb := examBuffers.get(e.size)
	defer examBuffers.put(fb)
	buf := fb.b[:e.size]
	copy(buf, magic[:])
	if _, err := io.ReadFull(r, buf[4:]); err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	ino.examined = true
	fl.fs.Stats.Examined++
	fl.examine(ino, name, buf)
	return ino, nil
}

// elfBookkeeping does what an ELF file of the final tree costs before its
// contents are examined, whether they come from the stream or from a
// layer record: no Examiner, a file above the examination limit, the
// expansion of a sparse file. done says the inode is decided without
// examination.
func (fl *flattener) elfBookkeeping(name string, e *entry, ino *inode, waiting []pendingLink, isELF bool) (done bool, _ *inode, _ error) {
	if fl.opts.Examine == nil {
		return true, keep(ino, waiting), nil
	}
	if e.size > fl.opts.Limits.MaxExamine {
		what := "ELF file"
		if !isELF {
			what = "file"
		}
		ino.note = fmt.Sprintf("%s of %d bytes, above the %d-byte examination limit", what, e.size, fl.opts.Limits.MaxExamine)
		fl.problem(fl.idx, name, "%s", ino.note)
		return true, ino, nil
	}
	if e.sparse {
		// A sparse file's holes read as zeros that the layer stream
		// never carried: a few KiB of tar can expand to MaxExamine per
		// entry, so the expansion counts against the image's budget.
		fl.fs.Stats.UncompressedSize += e.size
		if fl.fs.Stats.UncompressedSize > fl.opts.Limits.MaxUncompressed {
			return true, nil, fmt.Errorf("%w: more than %d uncompressed bytes (with sparse file %s)", ErrLimit, fl.opts.Limits.MaxUncompressed, name)
		}
	}
	return false, nil, nil
}

// sparse reports whether hdr is a GNU sparse file (old GNU format, or
// PAX GNU.sparse records), whose contents archive/tar expands.
func sparse(hdr *tar.Header) bool {
	if hdr.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// keep returns ino when links wait for it, nil otherwise: a file whose
// contents kensa did not keep needs no inode.
func keep(ino *inode, waiting []pendingLink) *inode {
	if len(waiting) > 0 {
		return ino
	}
	return nil
}

// readerAt is a byte slice as an io.ReaderAt.
type readerAt []byte

func (b readerAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	if off >= int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (fl *flattener) wantRetain(name string, size int64, waiting []pendingLink) bool {
	lim := fl.opts.Limits
	if size > lim.MaxRetainFile || fl.fs.Stats.RetainedBytes+size > lim.MaxRetainTotal {
		return false
	}
	if fl.opts.Retain(name, size) {
		return true
	}
	for _, w := range waiting {
		if fl.opts.Retain(w.name, size) {
			return true
		}
	}
	return false
}

func (fl *flattener) retain(ino *inode, name string, r io.Reader, waiting []pendingLink) (*inode, error) {
	return fl.retainRest(ino, name, nil, r, waiting)
}

// retainRest keeps the file's contents (head already read, then the rest
// of r) when the retention rule wants it.
func (fl *flattener) retainRest(ino *inode, name string, head []byte, r io.Reader, waiting []pendingLink) (*inode, error) {
	if !fl.wantRetain(name, ino.size, waiting) {
		return keep(ino, waiting), nil
	}
	data := make([]byte, ino.size)
	n := copy(data, head)
	if _, err := io.ReadFull(r, data[n:]); err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	ino.data, ino.retained = data, true
	fl.fs.Stats.RetainedBytes += ino.size
	return ino, nil
}

// finish completes the tree: hard links whose target never came are
// reported, entries a layer put under a symbolic link of the final tree
// move to where the runtime would have written them, missing parent
// directories are created as a runtime would, and directories are
// indexed.
func (fl *flattener) finish() {
	for target, links := range fl.pending {
		for _, l := range links {
			fl.problem(l.layer, l.name, "hard link to %s, which is not in the image", target)
		}
	}
	fl.relocate()
	defer func() {
		if fl.unlisted > 0 {
			fl.fs.Problems = append(fl.fs.Problems, Problem{Layer: -1, Path: "/", Reason: fmt.Sprintf("%d more %s skipped; only the first %d are listed", fl.unlisted, report.Plural(fl.unlisted, "entry was", "entries were"), maxProblems)})
		}
	}()
	for name := range fl.fs.nodes {
		for a := path.Dir(name); a != "/"; a = path.Dir(a) {
			n, ok := fl.fs.nodes[a]
			if ok && n.typ == typeDir {
				// Its own parents are seen to when it is visited.
				break
			}
			if ok {
				// A non-directory parent: the runtime would have failed or
				// replaced it; the directory view is the useful one.
				fl.problem(int(n.layer), a, "not a directory but has entries below it")
				if n.typ == typeReg {
					fl.fs.Stats.Files--
				}
			}
			fl.fs.nodes[a] = &node{typ: typeDir, mode: fs.ModeDir | 0o755, layer: -1}
		}
	}
	fl.fs.index()
}

// relocate moves entries whose parent path crosses a symbolic link of the
// final tree (a layer adding /lib/x when a lower layer made /lib a link
// to usr/lib) to the resolved location, as a runtime unpacking the
// layers bottom-up would have written them there. An entry already at
// the resolved location from a higher layer wins.
func (fl *flattener) relocate() {
	type move struct{ from, to string }
	var moves []move
	resolved := map[string]string{} // directory → where it resolves ("" for a loop)
	for name := range fl.fs.nodes {
		if name == "/" {
			continue
		}
		dir := path.Dir(name)
		rdir := fl.resolvedDir(dir, resolved)
		if rdir == "" || rdir == dir {
			continue
		}
		moves = append(moves, move{name, path.Join(rdir, path.Base(name))})
	}
	for _, m := range moves {
		n := fl.fs.nodes[m.from]
		delete(fl.fs.nodes, m.from)
		if old, ok := fl.fs.nodes[m.to]; ok && old.layer >= n.layer {
			if n.typ == typeReg {
				fl.fs.Stats.Files--
			}
			continue
		}
		if old, ok := fl.fs.nodes[m.to]; ok && old.typ == typeReg {
			fl.fs.Stats.Files--
		}
		fl.fs.nodes[m.to] = n
	}
}

// resolvedDir is where dir leads once the symbolic links of the tree in
// it are followed ("" for a loop or a dangling link), computed from its
// parent's answer so that a tree of deep paths costs one step per
// directory; only a symbolic link costs a full [rootfs.Resolve].
func (fl *flattener) resolvedDir(dir string, memo map[string]string) string {
	if dir == "/" {
		return "/"
	}
	if r, ok := memo[dir]; ok {
		return r
	}
	r := ""
	if parent := fl.resolvedDir(path.Dir(dir), memo); parent != "" {
		r = path.Join(parent, path.Base(dir))
		if n, ok := fl.fs.nodes[r]; ok && n.typ == typeSymlink {
			var err error
			if r, err = rootfs.Resolve(fl.fs, r); err != nil {
				r = ""
			}
		}
	}
	memo[dir] = r
	return r
}
