package fips

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
)

// zipEntries streams the central directory of the zip archive in r
// (size bytes) and calls fn with each entry's name (valid during the
// call only) and a function that
// opens its contents (stored or deflated, capped by the caller). Unlike
// archive/zip, which keeps a record per entry (tens of MiB for the
// 100,000-entry fat jars of SDK emulators), it holds one entry at a
// time: memory stays flat. At most maxEntries entries are visited;
// fn returning false stops. Own code rather than archive/zip for that
// reason only.
func zipEntries(r io.ReaderAt, size int64, maxEntries int, fn func(name []byte, open func() (io.Reader, error)) bool) error {
	cdOff, cdSize, err := zipDirectory(r, size)
	if err != nil {
		return err
	}
	br := zipReaders.Get().(*bufio.Reader)
	defer func() { br.Reset(nil); zipReaders.Put(br) }()
	br.Reset(io.NewSectionReader(r, cdOff, cdSize))
	var hdr [46]byte
	name := make([]byte, 0, 256)
	for i := 0; i < maxEntries; i++ {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("reading the zip central directory: %w", err)
		}
		if binary.LittleEndian.Uint32(hdr[:]) != 0x02014b50 {
			return nil // end of the directory (or garbage after it)
		}
		method := binary.LittleEndian.Uint16(hdr[10:])
		csize := uint64(binary.LittleEndian.Uint32(hdr[20:]))
		nameLen := int(binary.LittleEndian.Uint16(hdr[28:]))
		extraLen := int(binary.LittleEndian.Uint16(hdr[30:]))
		commentLen := int(binary.LittleEndian.Uint16(hdr[32:]))
		local := uint64(binary.LittleEndian.Uint32(hdr[42:]))
		name = name[:0]
		if cap(name) < nameLen {
			name = make([]byte, 0, nameLen)
		}
		name = name[:nameLen]
		if _, err := io.ReadFull(br, name); err != nil {
			return fmt.Errorf("reading the zip central directory: %w", err)
		}
		if _, err := br.Discard(extraLen + commentLen); err != nil {
			return fmt.Errorf("reading the zip central directory: %w", err)
		}
		open := func() (io.Reader, error) {
			if local > uint64(size) || csize > uint64(size) {
				return nil, errors.New("zip entry beyond the end of the archive")
			}
			var lh [30]byte
			if _, err := r.ReadAt(lh[:], int64(local)); err != nil {
				return nil, err
			}
			if binary.LittleEndian.Uint32(lh[:]) != 0x04034b50 {
				return nil, errors.New("bad zip local header")
			}
			start := local + 30 + uint64(binary.LittleEndian.Uint16(lh[26:])) + uint64(binary.LittleEndian.Uint16(lh[28:]))
			if start > uint64(size) || csize > uint64(size)-start {
				return nil, errors.New("zip entry beyond the end of the archive")
			}
			sr := io.NewSectionReader(r, int64(start), int64(csize))
			switch method {
			case 0:
				return sr, nil
			case 8:
				return flate.NewReader(sr), nil
			}
			return nil, fmt.Errorf("zip compression method %d", method)
		}
		// name is reused for the next entry: fn must not keep it.
		if !fn(name, open) {
			return nil
		}
	}
	return nil
}

// Buffers of zipEntries and zipDirectory, which a walk uses for every
// jar it meets.
var (
	zipReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 32<<10) }}
	zipTails   = sync.Pool{New: func() any { return new([65535 + 22]byte) }}
)

// zipDirectory finds the central directory through the end-of-central-
// directory record (and its zip64 form) in the last 64 KiB of the file.
func zipDirectory(r io.ReaderAt, size int64) (off, n int64, err error) {
	tail := min(size, 65535+22)
	bp := zipTails.Get().(*[65535 + 22]byte)
	defer zipTails.Put(bp)
	buf := bp[:tail]
	if _, err := r.ReadAt(buf, size-tail); err != nil && !errors.Is(err, io.EOF) {
		return 0, 0, err
	}
	i := bytes.LastIndex(buf, []byte("PK\x05\x06"))
	if i < 0 || len(buf)-i < 22 {
		return 0, 0, errors.New("no zip end of central directory record")
	}
	e := buf[i:]
	cdSize, cdOff := uint64(binary.LittleEndian.Uint32(e[12:])), uint64(binary.LittleEndian.Uint32(e[16:]))
	if (cdOff == 0xffffffff || cdSize == 0xffffffff) && i >= 20 && bytes.Equal(buf[i-20:i-16], []byte("PK\x06\x07")) {
		// zip64: the locator points at the zip64 end record.
		loc := uint64(binary.LittleEndian.Uint64(buf[i-20+8:]))
		var z [56]byte
		if loc > uint64(size) {
			return 0, 0, errors.New("zip64 end record beyond the end of the archive")
		}
		if _, err := r.ReadAt(z[:], int64(loc)); err != nil && !errors.Is(err, io.EOF) {
			return 0, 0, err
		}
		if !bytes.Equal(z[:4], []byte("PK\x06\x06")) {
			return 0, 0, errors.New("bad zip64 end record")
		}
		cdSize, cdOff = binary.LittleEndian.Uint64(z[40:]), binary.LittleEndian.Uint64(z[48:])
	}
	if cdOff > uint64(size) || cdSize > uint64(size)-cdOff {
		return 0, 0, errors.New("zip central directory beyond the end of the archive")
	}
	return int64(cdOff), int64(cdSize), nil
}
