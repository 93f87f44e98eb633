package cli

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/kensa-project/kensa/internal/fips"
	"github.com/kensa-project/kensa/internal/image"
	"github.com/kensa-project/kensa/internal/report"
)

// imageFlags are the flags of fips scan that select and reach images.
type imageFlags struct {
	platform     string
	allPlatforms bool
	imagesFile   string
	insecure     []string
	jobs         int
}

func addImageFlags(fs *flag.FlagSet) *imageFlags {
	f := &imageFlags{}
	fs.StringVar(&f.platform, "platform", "", "")
	fs.BoolVar(&f.allPlatforms, "all-platforms", false, "")
	fs.StringVar(&f.imagesFile, "images", "", "")
	fs.Func("insecure", "", func(s string) error {
		for _, h := range strings.Split(s, ",") {
			if h = strings.TrimSpace(h); strings.Contains(h, "/") {
				// A URL or a repository would never equal a registry
				// name, and plain HTTP would silently stay refused.
				return fmt.Errorf("%q is not a registry host[:port] (write it as in the image reference: registry.example:5000)", h)
			}
			if h != "" {
				f.insecure = append(f.insecure, h)
			}
		}
		return nil
	})
	fs.IntVar(&f.jobs, "jobs", 2, "")
	return f
}

// splitTargets separates image references from paths and adds the
// references of --images.
func (f *imageFlags) splitTargets(env *Env, targets []string) (refs []image.Reference, paths []string, err error) {
	if f.platform != "" && f.allPlatforms {
		return nil, nil, usageErrorf("--platform and --all-platforms cannot be used together").
			withHint("pick one platform with --platform os/arch, or all of them with --all-platforms")
	}
	if f.platform != "" {
		if err := image.CheckPlatform(f.platform); err != nil {
			return nil, nil, usageErrorf("%v", err).withHint("write the platform as linux/amd64, linux/arm64 or linux/arm/v7")
		}
	}
	if f.jobs < 1 {
		return nil, nil, usageErrorf("--jobs %d: at least one image must be scanned at a time", f.jobs)
	}
	add := func(t, where string) error {
		ref, ok, err := image.ParseReference(t)
		if err != nil {
			return usageErrorf("%s%v", where, err).withHint("write registry:REF, docker-archive:PATH or oci-layout:PATH[:TAG]")
		}
		if ok {
			refs = append(refs, ref)
		} else {
			paths = append(paths, t)
		}
		return nil
	}
	for _, t := range targets {
		if err := add(t, ""); err != nil {
			return nil, nil, err
		}
	}
	if f.imagesFile != "" {
		lines, err := readImageList(env, f.imagesFile)
		if err != nil {
			return nil, nil, err
		}
		for _, l := range lines {
			if _, ok, _ := image.ParseReference(l.text); !ok {
				return nil, nil, usageErrorf("%s:%d: %q is not an image reference", f.imagesFile, l.n, l.text).
					withHint("write one reference per line: registry:REF, docker-archive:PATH or oci-layout:PATH[:TAG]; # starts a comment")
			}
			if err := add(l.text, fmt.Sprintf("%s:%d: ", f.imagesFile, l.n)); err != nil {
				return nil, nil, err
			}
		}
	}
	return refs, paths, nil
}

type listLine struct {
	n    int
	text string
}

// readImageList reads --images: one reference per line, blank lines and
// "#" comments ignored. "-" is standard input.
func readImageList(env *Env, name string) ([]listLine, error) {
	var sc *bufio.Scanner
	if name == "-" {
		sc = bufio.NewScanner(env.Stdin)
	} else {
		fl, err := os.Open(name)
		if err != nil {
			return nil, usageErrorf("--images: %v", unwrapPath(err)).withHint("give a file with one image reference per line")
		}
		defer fl.Close()
		sc = bufio.NewScanner(fl)
	}
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	var out []listLine
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, listLine{n, line})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, usageErrorf("--images %s: %v", name, err)
	}
	return out, nil
}

// scanImages scans refs, f.jobs at a time; one failing image is reported
// and the others go on. The scans keep the order of refs.
func (f *imageFlags) scanImages(ctx context.Context, refs []image.Reference, opts fips.Options, prog *progress) []fips.RefScan {
	out := make([]fips.RefScan, len(refs))
	sem := make(chan struct{}, f.jobs)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	imgOpts := image.Options{
		Platform: f.platform, AllPlatforms: f.allPlatforms, Insecure: f.insecure,
		// Credentials as docker uses them: ~/.docker/config.json
		// ($DOCKER_CONFIG) and its credential helpers.
		Keychain: authn.DefaultKeychain,
	}
	for i, ref := range refs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out[i] = fips.ScanReference(ctx, ref, opts, imgOpts, func(im *image.Image, s image.Stats, layer int) {
				prog.update("kensa: %s: layer %d of %d, %s read, %s", ref, layer+1, len(im.Layers()), humanBytes(s.UncompressedSize), report.Count(s.Examined, "ELF file", "ELF files"))
			})
			mu.Lock()
			done++
			prog.update("kensa: %d of %d images scanned", done, len(refs))
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// resultGroup is a table of the text view: the files of one image (one
// platform), or the files of paths (title "").
type resultGroup struct {
	title   string
	results []fips.Result
}

// groupByImage splits results, keeping their order, into the plain
// files first and then one group per image and platform.
func groupByImage(rs []fips.Result) []resultGroup {
	var out []resultGroup
	idx := map[string]int{}
	for _, r := range rs {
		key := ""
		if r.Image != "" {
			key = fmt.Sprintf("%s (%s, %s)", r.Image, r.Platform, r.Digest)
		}
		i, ok := idx[key]
		if !ok {
			i = len(out)
			idx[key] = i
			out = append(out, resultGroup{title: key})
		}
		out[i].results = append(out[i].results, r)
	}
	slices.SortStableFunc(out, func(a, b resultGroup) int {
		if (a.title == "") != (b.title == "") {
			if a.title == "" {
				return -1
			}
			return 1
		}
		return strings.Compare(a.title, b.title)
	})
	return out
}
