package fips

import (
	"bytes"
	"io"
	"path"
)

// Java in images: the layers hand kensa the files a directory walk would
// open for Java (jars, wars, ears and java.security, by name; see
// javaKind), whole and bounded by the image limits, and each is
// classified while its bytes stream past, as ELF files are. Java results
// do not depend on the image's other files.

// javaValue is what examining a Java file of an image gave: its result,
// and ok as [Classifier.ClassifyJava] says (false for an archive
// without Bouncy Castle, which gives no result).
type javaValue struct {
	res Result
	ok  bool
}

// wantJava says whether an image file is examined as Java.
func wantJava(name string) bool { return javaKind(path.Base(name)) != "" }

// examineJava classifies an image's Java file, or returns nil for a file
// that is not one (ELF files are inspected as usual, whatever their name).
func examineJava(c *Classifier, name string, r io.ReaderAt, size int64) *javaValue {
	k := javaKind(path.Base(name))
	if k == "" {
		return nil
	}
	var magic [4]byte
	if n, _ := r.ReadAt(magic[:], 0); n == 4 && bytes.Equal(magic[:], []byte("\x7fELF")) {
		return nil
	}
	res, ok := c.ClassifyJava(name, r, size, k)
	return &javaValue{res: res, ok: ok}
}
