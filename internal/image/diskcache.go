package image

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// The on-disk layer cache.
//
// One file per record, named by the SHA-256 of the program version and
// the record's key, in a directory only its owner can write (a cache
// that others can write would let them decide what kensa reports of an
// image). A file is written whole to a temporary name and renamed, so
// a reader sees a whole file or none; kensa processes sharing the
// directory (Jobs on one volume) at worst read the same layer twice.
//
// File format (all integers unsigned varints unless said):
//
//	"KENSALC1"  magic
//	32 bytes    SHA-256 of the rest of the file
//	string      the version and key the record is for (checked on read)
//	varint      stream bytes
//	count       entries, each: name, link (strings), type (byte), mode,
//	            mtime (signed), size (signed), sparse (byte), file index
//	            (signed, -1 none)
//	count       files, each: flags (byte: 1 elf, 2 examined, 4 retained),
//	            note (string), data (bytes, when retained), value (bytes,
//	            the Codec's encoding; empty for nil)
//
// A string or bytes is a length and the bytes. Reading trusts nothing:
// the checksum catches corruption, and every count and length is checked
// against what is left of the file (a hostile file with a valid checksum
// costs at most its own size in memory); the whole file is bounded by
// [maxDiskRecord]. A file that does not read is a miss: it is removed and
// the layer read again.

const diskMagic = "KENSALC1"

// maxDiskRecord bounds one record file (a layer of a million entries
// takes about 100 MB).
const maxDiskRecord = 512 << 20

type diskStore struct {
	dir     string
	max     int64
	version string
	codec   Codec

	mu    sync.Mutex
	total int64 // bytes of record files, as last counted
}

// openDiskStore opens (creating) a cache directory. It refuses a
// directory that is not the user's own or that group or others can
// write.
func openDiskStore(dir string, maxBytes int64, version string, codec Codec) (*diskStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cache directory: %w", err)
	}
	if err := checkCacheDir(dir); err != nil {
		return nil, err
	}
	d := &diskStore{dir: dir, max: maxBytes, version: version, codec: codec}
	d.total = d.usage()
	return d, nil
}

func (d *diskStore) path(key string) string {
	h := sha256.Sum256([]byte(d.version + "\x00" + key))
	name := hex.EncodeToString(h[:])
	return filepath.Join(d.dir, name[:2], name+".rec")
}

// load reads key's record: nil, nil when there is none; an error when a
// file is there but does not read (it is removed).
func (d *diskStore) load(key string) (*layerRecord, error) {
	p := d.path(key)
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() || st.Size() > maxDiskRecord {
		os.Remove(p)
		return nil, fmt.Errorf("%s: not a record file", p)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxDiskRecord+1))
	if err != nil {
		return nil, err
	}
	rec, err := decodeRecord(b, d.version+"\x00"+key, d.codec)
	if err != nil {
		os.Remove(p)
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	now := time.Now()
	os.Chtimes(p, now, now) // least recently used goes first
	return rec, nil
}

// save writes key's record and trims the directory to its bound.
func (d *diskStore) save(key string, rec *layerRecord) error {
	b, err := encodeRecord(rec, d.version+"\x00"+key, d.codec)
	if err != nil {
		return err
	}
	if len(b) > maxDiskRecord {
		return fmt.Errorf("record of %d bytes is above the %d-byte bound", len(b), maxDiskRecord)
	}
	p := d.path(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(b)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return err
	}
	d.mu.Lock()
	d.total += int64(len(b))
	over := d.total > d.max
	d.mu.Unlock()
	if over {
		d.trim()
	}
	return nil
}

// usage sums the sizes of the record files.
func (d *diskStore) usage() int64 {
	var n int64
	filepath.WalkDir(d.dir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && e.Type().IsRegular() {
			if fi, err := e.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// trim removes the least recently used record files until the directory
// holds at most 90% of its bound.
func (d *diskStore) trim() {
	d.mu.Lock()
	defer d.mu.Unlock()
	type file struct {
		path string
		size int64
		used time.Time
	}
	var files []file
	var total int64
	filepath.WalkDir(d.dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || !e.Type().IsRegular() {
			return nil
		}
		if fi, err := e.Info(); err == nil {
			files = append(files, file{p, fi.Size(), fi.ModTime()})
			total += fi.Size()
		}
		return nil
	})
	slices.SortFunc(files, func(a, b file) int { return a.used.Compare(b.used) })
	for _, f := range files {
		if total <= d.max*9/10 {
			break
		}
		if os.Remove(f.path) == nil {
			total -= f.size
		}
	}
	d.total = total
}

// checkCacheDir refuses a cache directory that is not a directory, or
// that group or others can write.
func checkCacheDir(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("cache directory: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("cache directory %s is not a directory", dir)
	}
	if st.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("cache directory %s is writable by group or others (mode %v): what is in it decides what kensa reports", dir, st.Mode().Perm())
	}
	return checkOwner(dir, st)
}

// encodeRecord writes a record in the file format above.
func encodeRecord(rec *layerRecord, key string, codec Codec) ([]byte, error) {
	var w recWriter
	w.str(key)
	w.uvarint(uint64(rec.streamBytes))
	w.uvarint(uint64(len(rec.entries)))
	for _, e := range rec.entries {
		w.str(e.name)
		w.str(e.link)
		w.b = append(w.b, e.typ)
		w.uvarint(uint64(e.mode))
		w.varint(e.mtime)
		w.varint(e.size)
		w.b = append(w.b, b2u(e.sparse))
		w.varint(int64(e.file))
	}
	w.uvarint(uint64(len(rec.files)))
	for _, f := range rec.files {
		w.b = append(w.b, b2u(f.elf)|b2u(f.examined)<<1|b2u(f.retained)<<2|b2u(f.byName)<<3)
		w.str(f.note)
		if f.retained {
			w.bytes(f.data)
		}
		var v []byte
		if f.value != nil {
			var err error
			if v, err = codec.Marshal(f.value); err != nil {
				return nil, fmt.Errorf("encoding a value: %w", err)
			}
		}
		w.bytes(v)
	}
	sum := sha256.Sum256(w.b)
	out := make([]byte, 0, len(diskMagic)+len(sum)+len(w.b))
	out = append(out, diskMagic...)
	out = append(out, sum[:]...)
	return append(out, w.b...), nil
}

func b2u(b bool) byte {
	if b {
		return 1
	}
	return 0
}

type recWriter struct{ b []byte }

func (w *recWriter) uvarint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }
func (w *recWriter) varint(v int64)   { w.b = binary.AppendVarint(w.b, v) }
func (w *recWriter) bytes(b []byte)   { w.uvarint(uint64(len(b))); w.b = append(w.b, b...) }
func (w *recWriter) str(s string)     { w.uvarint(uint64(len(s))); w.b = append(w.b, s...) }

// errCorrupt is the error of a record file that does not read.
var errCorrupt = errors.New("corrupt layer cache record")

// decodeRecord reads a record file's bytes, written for key.
func decodeRecord(b []byte, key string, codec Codec) (*layerRecord, error) {
	if len(b) < len(diskMagic)+sha256.Size || string(b[:len(diskMagic)]) != diskMagic {
		return nil, fmt.Errorf("%w: no header", errCorrupt)
	}
	body := b[len(diskMagic)+sha256.Size:]
	if sum := sha256.Sum256(body); !bytes.Equal(sum[:], b[len(diskMagic):len(diskMagic)+sha256.Size]) {
		return nil, fmt.Errorf("%w: checksum mismatch", errCorrupt)
	}
	r := recReader{b: body}
	if got := r.str(); r.err == nil && got != key {
		return nil, fmt.Errorf("%w: written for another key", errCorrupt)
	}
	rec := &layerRecord{streamBytes: int64(r.uvarint())}
	if rec.streamBytes < 0 {
		r.fail()
	}
	// Each entry takes at least 8 bytes, each file 3: a count beyond
	// what is left cannot be honest, and is refused before allocating.
	n := r.count(8)
	rec.entries = make([]entry, 0, n)
	for range n {
		e := entry{name: r.str(), link: r.str(), typ: r.byte(), mode: fs.FileMode(r.uvarint()), mtime: r.varint(), size: r.varint()}
		e.sparse = r.byte() != 0
		fi := r.varint()
		if e.size < 0 || fi < -1 || fi > int64(len(b)) {
			r.fail()
		}
		e.file = int32(fi)
		if r.err != nil {
			break
		}
		rec.mem += int64(len(e.name)+len(e.link)) + 64
		rec.entries = append(rec.entries, e)
	}
	nf := r.count(3)
	rec.files = make([]recFile, 0, nf)
	for range nf {
		flags := r.byte()
		f := recFile{elf: flags&1 != 0, examined: flags&2 != 0, retained: flags&4 != 0, byName: flags&8 != 0, note: r.str()}
		if flags&^7 != 0 {
			r.fail()
		}
		if f.retained {
			f.data = r.bytesCopy()
			rec.mem += int64(len(f.data))
		}
		v := r.bytesRef()
		if r.err != nil {
			break
		}
		if len(v) > 0 {
			val, err := codec.Unmarshal(v)
			if err != nil {
				return nil, fmt.Errorf("%w: value: %v", errCorrupt, err)
			}
			f.value = val
			rec.mem += 512
		}
		rec.mem += int64(len(f.note))
		rec.files = append(rec.files, f)
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail()
	}
	if r.err != nil {
		return nil, r.err
	}
	for _, e := range rec.entries {
		if int(e.file) >= len(rec.files) {
			return nil, fmt.Errorf("%w: file index out of range", errCorrupt)
		}
	}
	rec.mem += 128
	return rec, nil
}

// recReader reads the file format; the first error sticks and later
// reads give zero values.
type recReader struct {
	b   []byte
	err error
}

func (r *recReader) fail() {
	if r.err == nil {
		r.err = fmt.Errorf("%w: truncated or malformed", errCorrupt)
	}
	r.b = nil
}

func (r *recReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *recReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *recReader) byte() byte {
	if r.err != nil || len(r.b) == 0 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// count reads a count of items of at least min bytes each.
func (r *recReader) count(min int) int {
	n := r.uvarint()
	if n > uint64(len(r.b)/min) {
		r.fail()
		return 0
	}
	return int(n)
}

func (r *recReader) bytesRef() []byte {
	n := r.uvarint()
	if r.err != nil || n > uint64(len(r.b)) {
		r.fail()
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *recReader) bytesCopy() []byte {
	v := r.bytesRef()
	if r.err != nil {
		return nil
	}
	return bytes.Clone(v)
}

func (r *recReader) str() string { return string(r.bytesRef()) }
