package fips

import (
	"context"
	"io"

	"github.com/kensa-project/kensa/internal/image"
)

// ImageScan is what scanning one image found.
type ImageScan struct {
	// Results has one result per ELF file of the image's final
	// filesystem, by path, each naming the image.
	Results []Result
	// Problems are entries of the layers that were skipped or could not
	// be examined (unsafe paths, dangling hard links, files above the
	// size limit).
	Problems []image.Problem
	Stats    image.Stats
}

// ScanImage classifies every ELF file of im as the container would see
// it. The layers are read once: each ELF file is inspected while its
// bytes stream past, the facts seed a Classifier over the flattened
// in-memory filesystem (whose ld.so.conf, library directories and
// OpenSSL installation are the image's), and the image's Env is applied
// to each result ([Classifier.ApplyEnv]). An error means the image could
// not be read whole.
func ScanImage(ctx context.Context, im *image.Image, opts Options, lim image.Limits, progress func(image.Stats, int)) (*ImageScan, error) {
	env := EnvMap(im.Env)
	conf := env["OPENSSL_CONF"]
	fsys, err := im.Flatten(ctx, image.FlattenOptions{
		Limits:   lim,
		Progress: progress,
		Retain: func(name string, size int64) bool {
			return name == conf || image.RetainConfig(name, size)
		},
		Examine: func(_ string, r io.ReaderAt, size int64) any {
			f, _ := Inspect(r, size)
			return f
		},
	})
	if err != nil {
		return nil, err
	}
	c := NewClassifier(fsys, opts)
	files := fsys.Files()
	facts := make([]*Facts, len(files))
	for i, file := range files {
		if f, ok := file.Value.(*Facts); ok && file.Examined && f != nil {
			facts[i] = f
			c.Add(file.Name, f)
		} else {
			facts[i] = &Facts{Kind: KindUnreadable, Size: file.Size, Reason: file.Note}
		}
	}
	scan := &ImageScan{Problems: fsys.Problems, Stats: fsys.Stats}
	for i, file := range files {
		if facts[i] != nil && facts[i].Kind == KindRelocatable {
			// Object files and kernel modules are never loaded as they
			// are; the directory walk leaves them out too.
			continue
		}
		r := c.Classify(file.Name, facts[i])
		c.ApplyEnv(&r, facts[i], env)
		r.Image, r.Digest, r.Platform = im.Reference, im.Digest, im.Platform
		scan.Results = append(scan.Results, r)
	}
	return scan, nil
}
