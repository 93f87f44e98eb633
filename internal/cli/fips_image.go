package cli

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/kensa-project/kensa/internal/fips"
	"github.com/kensa-project/kensa/internal/image"
	"github.com/kensa-project/kensa/internal/lazyre"
	"github.com/kensa-project/kensa/internal/report"
)

// maxJobs caps --jobs: images scanned at a time.
const maxJobs = 16

// imageFlags are the flags of fips scan that select and reach images.
type imageFlags struct {
	platform     string
	allPlatforms bool
	imagesFile   string
	insecure     []string
	jobs         int
	cacheDir     string
	shard        shardFlag
	cache        *image.LayerCache
}

// shardFlag is --shard I/N: this process scans the images whose
// position in the list (counted from 0) is I modulo N.
type shardFlag struct {
	set  bool
	i, n int
}

// maxShards bounds N (an indexed Job has at most 100,000 completions).
const maxShards = 100_000

func (s *shardFlag) String() string { return fmt.Sprintf("%d/%d", s.i, s.n) }

func (s *shardFlag) Set(v string) error {
	a, b, ok := strings.Cut(v, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || n > maxShards || i < 0 || i >= n {
		return fmt.Errorf("want I/N with 0 <= I < N <= %d (an indexed Job passes its completion index as I)", maxShards)
	}
	*s = shardFlag{set: true, i: i, n: n}
	return nil
}

// pick keeps the references of this shard.
func (s shardFlag) pick(refs []image.Reference) []image.Reference {
	if !s.set {
		return refs
	}
	var out []image.Reference
	for k, r := range refs {
		if k%s.n == s.i {
			out = append(out, r)
		}
	}
	return out
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
	fs.StringVar(&f.cacheDir, "cache", "", "")
	fs.Var(&f.shard, "shard", "")
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
	if f.jobs < 1 || f.jobs > maxJobs {
		return nil, nil, usageErrorf("--jobs %d is outside 1..%d", f.jobs, maxJobs).
			withHint("--jobs is how many images are scanned at a time: 1 to %d", maxJobs)
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

// openCache makes the run's layer cache: in memory, and in --cache DIR
// when given, keyed by what kensa's classifier records and by this very
// binary (a rebuilt kensa never trusts an older one's facts).
func (f *imageFlags) openCache() error {
	o := image.CacheOptions{}
	if f.cacheDir != "" {
		o.Dir, o.Codec = f.cacheDir, fips.FactsCodec{}
		o.Version = fips.FactsVersion + " " + version() + " " + executableDigest()
	}
	c, err := image.NewLayerCache(o)
	if err != nil {
		return usageErrorf("--cache: %v", err).
			withHint("give a directory of your own that only you can write (it is created with mode 0700)")
	}
	f.cache = c
	return nil
}

// executableDigest is the SHA-256 of the running binary, "" when it
// cannot be read.
func executableDigest() string {
	p, err := os.Executable()
	if err != nil {
		return ""
	}
	fl, err := os.Open(p)
	if err != nil {
		return ""
	}
	defer fl.Close()
	h := sha256.New()
	if _, err := io.Copy(h, fl); err != nil {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
}

// scanImages scans refs, f.jobs at a time; one failing image is reported
// and the others go on. The scans keep the order of refs.
func (f *imageFlags) scanImages(ctx context.Context, refs []image.Reference, opts fips.Options, prog *progress) []fips.RefScan {
	out := make([]fips.RefScan, len(refs))
	if len(refs) == 0 {
		return out
	}
	sem := make(chan struct{}, f.jobs)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	imgOpts := image.Options{
		Platform: f.platform, AllPlatforms: f.allPlatforms, Insecure: f.insecure,
		// Credentials as docker uses them: ~/.docker/config.json
		// ($DOCKER_CONFIG) and its credential helpers.
		Keychain: authn.DefaultKeychain,
		// One layer cache for the run: a base layer shared by several
		// images is read once.
		Cache: f.cache,
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

// imageOnlyFlags are the flags that act on images only.
var imageOnlyFlags = []string{"platform", "all-platforms", "insecure", "jobs", "cache", "shard"}

// refLike matches what a user writes for an image without a scheme:
// alpine:3.20, quay.io/org/app:1.2, org/app@sha256:….
var refLike = lazyre.New(`^[a-z0-9][a-z0-9._-]*(:[0-9]+)?(/[a-z0-9._-]+)*(:[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?(@sha256:[0-9a-f]{64})?$`)

// missingTarget is the error of a path target that does not exist, with a
// hint to write registry:REF when it looks like an image reference.
func missingTarget(t string, err error) error {
	e := usageErrorf("cannot scan %s: %v", t, unwrapPath(err))
	if !strings.HasPrefix(t, ".") && (strings.Contains(t, ":") || strings.Contains(t, "@")) && refLike.MatchString(t) {
		return e.withHint("an image is named with its scheme: kensa fips scan registry:%s (or docker-archive:PATH, oci-layout:PATH)", t)
	}
	return e.withHint("give an existing file or directory, or an image as registry:REF")
}
