package fips

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/kensa-project/kensa/internal/image"
	"github.com/kensa-project/kensa/internal/report"
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
	javaC := NewClassifier(nil, opts)
	fsys, err := im.Flatten(ctx, image.FlattenOptions{
		Limits:   lim,
		Progress: progress,
		// The Examiner below ignores the name and Retain depends on conf
		// alone: that is what a layer record is kept for.
		CacheKey: FactsVersion + "\x00" + conf,
		Retain: func(name string, size int64) bool {
			return name == conf || image.RetainConfig(name, size)
		},
		Examine: func(name string, r io.ReaderAt, size int64) any {
			if v := examineJava(javaC, name, r, size); v != nil {
				return v
			}
			f, _ := Inspect(r, size)
			return f
		},
		ExamineAlso: wantJava,
	})
	if err != nil {
		return nil, err
	}
	c := NewClassifier(fsys, opts)
	files := fsys.Files()
	facts := make([]*Facts, len(files))
	var javaResults []Result
	for i, file := range files {
		if jv, ok := file.Value.(*javaValue); ok {
			// A jar without Bouncy Castle gives no result, as in a walk.
			if jv.ok {
				jv.res.Image, jv.res.Digest, jv.res.Platform = im.Reference, im.Digest, im.Platform
				javaResults = append(javaResults, jv.res)
			}
			continue
		}
		if f, ok := file.Value.(*Facts); ok && file.Examined && f != nil {
			facts[i] = f
			c.Add(file.Name, f)
		} else {
			facts[i] = &Facts{Kind: KindUnreadable, Size: file.Size, Reason: file.Note}
		}
	}
	scan := &ImageScan{Problems: fsys.Problems, Stats: fsys.Stats}
	// Classified on every core (the Classifier is safe for concurrent
	// use, as in a directory walk): the layers are read by then, so this
	// is the scan's tail, one core idle while the other classifies
	// (20-50 ms of the 1.5 s of bench/fips_image.sh).
	results := make([]Result, len(files))
	keep := make([]bool, len(files))
	forEachParallel(len(files), func(i int) {
		// Java (facts nil) was done above. Object files and kernel
		// modules are never loaded as they are; the directory walk
		// leaves them out too.
		if facts[i] == nil || facts[i].Kind == KindRelocatable {
			return
		}
		// A bug in kensa costs this file, not the process: the goroutine
		// is not under ScanReference's recover.
		defer func() {
			if p := recover(); p != nil {
				r := unreadableResult(files[i].Name, fmt.Sprintf("internal error while classifying: %v", p))
				r.Image, r.Digest, r.Platform = im.Reference, im.Digest, im.Platform
				results[i], keep[i] = r, true
			}
		}()
		r := c.Classify(files[i].Name, facts[i])
		c.ApplyEnv(&r, facts[i], env)
		r.Image, r.Digest, r.Platform = im.Reference, im.Digest, im.Platform
		results[i], keep[i] = r, true
	})
	for i := range results {
		if keep[i] {
			scan.Results = append(scan.Results, results[i])
		}
	}
	scan.Results = append(scan.Results, javaResults...)
	return scan, nil
}

// forEachParallel calls fn(i) for i in [0, n) on GOMAXPROCS goroutines
// and returns when all calls have.
func forEachParallel(n int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				fn(i)
			}
		})
	}
	wg.Wait()
}

// RefScan is what scanning one image reference gave: the results and
// findings of the platforms that could be scanned, and Err when one (or
// the reference itself) could not be.
type RefScan struct {
	Ref      image.Reference
	Results  []Result
	Findings []report.Finding
	Images   int   // platforms scanned
	Files    int64 // regular files in their filesystems
	Err      error
}

// ScanReference opens ref and scans each of its selected platforms. A
// platform that fails does not stop the others; the reference then counts
// as failed (Err, and an image-unreadable finding). progress, if not nil,
// is called as layers are read.
func ScanReference(ctx context.Context, ref image.Reference, opts Options, imgOpts image.Options, progress func(im *image.Image, s image.Stats, layer int)) (o RefScan) {
	o.Ref = ref
	defer func() {
		// A bug in kensa must not cost the other images.
		if p := recover(); p != nil {
			o.Err = fmt.Errorf("internal error: %v", p)
		}
		if o.Err != nil {
			o.Findings = append(o.Findings, ImageUnreadableFinding(ref, o.Err))
		}
	}()
	imgs, err := image.Open(ctx, ref, imgOpts)
	if err != nil {
		o.Err = err
		return o
	}
	for _, im := range imgs {
		scan, err := ScanImage(ctx, im, opts, image.DefaultLimits, func(s image.Stats, layer int) {
			if progress != nil {
				progress(im, s, layer)
			}
		})
		if err != nil {
			// The other platforms are still scanned and reported; the
			// reference counts as failed.
			err = fmt.Errorf("%s (%s): %w", im.Digest, im.Platform, err)
			if o.Err != nil {
				err = fmt.Errorf("%w; %w", o.Err, err)
			}
			o.Err = err
			continue
		}
		o.Images++
		o.Files += int64(scan.Stats.Files)
		o.Results = append(o.Results, scan.Results...)
		multi := len(imgs) > 1
		for _, r := range scan.Results {
			for _, fd := range Findings(r) {
				fd.Subject = ImageSubject(r.Image, r.Platform, multi, r.Path)
				fd.Image = ImageName(r.Image, r.Platform, multi)
				o.Findings = append(o.Findings, fd)
			}
		}
		for _, p := range scan.Problems {
			o.Findings = append(o.Findings, imageEntrySkipped(ImageName(im.Reference, im.Platform, multi), p))
		}
	}
	return o
}

// FactsVersion names what [Inspect] records: layer records cached on
// disk under another version are never used. Change it whenever Facts
// or what Inspect puts in them changes.
const FactsVersion = "facts/3"

// FactsCodec encodes the [Facts] values of image layer records for the
// on-disk layer cache (image.CacheOptions.Codec), as JSON.
type FactsCodec struct{}

// maxFactsJSON bounds one file's encoded facts.
const maxFactsJSON = 1 << 20

// Marshal encodes a *Facts.
func (FactsCodec) Marshal(v any) ([]byte, error) {
	f, ok := v.(*Facts)
	if !ok {
		return nil, fmt.Errorf("%T is not *fips.Facts", v)
	}
	if f == nil {
		return nil, nil // read back as no value, as ScanImage treats nil facts
	}
	return json.Marshal(f)
}

// Unmarshal decodes what Marshal wrote; anything else is an error.
func (FactsCodec) Unmarshal(b []byte) (any, error) {
	if len(b) > maxFactsJSON {
		return nil, errors.New("facts too large")
	}
	var f Facts
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, err
	}
	return &f, nil
}
