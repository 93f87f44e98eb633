package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/kensa-project/kensa/internal/fips"
	"github.com/kensa-project/kensa/internal/report"
	"github.com/kensa-project/kensa/internal/rootfs"
)

const fipsScanUsage = `Usage: kensa fips scan [flags] TARGET...

Classifies every ELF executable and shared library by the crypto module it
really uses, and says whether that module is FIPS 140 validated as of --at.
A TARGET is a file or a directory (walked; symbolic links are not followed)
or a container image, read without a daemon, root or disk:
    registry:REF                    from a registry (credentials as docker
                                    uses them: ~/.docker/config.json and
                                    credential helpers; anonymous otherwise)
    docker-archive:PATH[:TAG]       docker save / podman save output
    oci-layout:PATH[:TAG|@DIGEST]   an OCI image layout
An image's layers are flattened in memory as a container would see them;
its paths are absolute paths inside the image, and its ld.so.conf,
libraries, OpenSSL and Env (GODEBUG=fips140, GOFIPS, GOLANG_FIPS,
OPENSSL_CONF, OPENSSL_FORCE_FIPS_MODE) decide. Nothing scanned is ever run.

Backends: go-std, go-boringcrypto, go-fips140, go-openssl, openssl,
openssl-static, boringssl, aws-lc, gnutls, nss, libgcrypt, wolfssl,
mbedtls, k5crypto, libsodium, libtomcrypt, rust-ring, rust-rustls,
rustcrypto; Java: java-jdk (a JDK's java.security, kind java-runtime),
bc-fips and bcprov (Bouncy Castle in jars, wars and fat jars, kind jar).
Verdicts: compliant, conditional (compliant when the host runs in FIPS
mode), noncompliant, unknown (no crypto seen, but needed libraries are
missing from --root: a warning), unreadable (an error), not-applicable
(no crypto).

Flags:
    --root DIR          resolve shared libraries inside DIR, as the loader
                        would with DIR as / (default /)
    --accept WHAT       also accept in-process (CMVP Modules In Process) or
                        historical (CMVP Historical list) modules; repeat or
                        separate with commas
    --every-file        in directories, open every file, not only those with
                        an execute bit or a .so name
    --all               list the files without crypto too (the text view
                        counts them; JSON always lists every file)
    --platform OS/ARCH[/VARIANT]
                        the platform of a multi-platform image (default
                        linux/ and this machine's architecture)
    --all-platforms     scan every platform of a multi-platform image
    --images FILE       also scan the images listed in FILE, one reference
                        per line, # comments ("-" reads standard input)
    --insecure HOST[:PORT]
                        allow plain HTTP to this registry (loopback
                        registries always may); repeat or separate with commas
    --jobs N            images scanned at a time (default 2)
    --cache DIR         keep what each image layer gave in DIR (created,
                        mode 0700; refused if others can write it), so a
                        later run reads no layer it has seen; a run always
                        reads a layer that several images share once
    --shard I/N         scan only the images at positions I, I+N, I+2N…
                        of the list (counted from 0): one of N Jobs, whose
                        reports kensa report merge joins (docs/kubernetes.md)
    --format text|json|sarif|cyclonedx
                        cyclonedx: a CycloneDX 1.6 CBOM of every file and
                        the crypto modules it uses (docs/cbom.md)
    --output FILE
    --fail-on noncompliant|conditional|error|warning|never
                        exit 1 when a file is at or above this (default
                        noncompliant = error; conditional = warning;
                        unreadable files are errors: never a pass)
    --at TIME           evaluate as of TIME (2026-09-01 or RFC 3339)

Examples:
    kensa fips scan /usr
    kensa fips scan --format json ./bin/myapp
    kensa fips scan --root /mnt/rootfs /mnt/rootfs/usr
    kensa fips scan --at 2026-09-01 ./bin
    kensa fips scan --accept historical --fail-on conditional ./dist
    kensa fips scan registry:quay.io/org/app:1.2
    kensa fips scan docker-archive:app.tar oci-layout:./layout:app
    kensa fips scan --platform linux/arm64 registry:org/app:1.2
    kensa fips scan --images images.txt --format json --output report.json
    kensa fips scan --images images.txt --shard 3/8 --cache /var/cache/kensa \
        --format json --output shard-3.json

Exit codes: 0 no file at or above --fail-on, 1 files at or above it, 2 kensa
could not do what was asked (a target that does not exist, a directory
that could not be read, an image that could not be scanned).
`

func runFipsScan(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet("fips scan")
	common := addCommon(fs, "noncompliant")
	common.failOnValues = fips.FailOnVerdicts()
	common.cyclonedx = fipsCBOM
	root := fs.String("root", "/", "")
	var accepts []string
	fs.Func("accept", "", listFlag(&accepts))
	everyFile := fs.Bool("every-file", false, "")
	all := fs.Bool("all", false, "")
	imf := addImageFlags(fs)
	targets, err := parseCommand(env, fs, common, fipsScanUsage+findingsHelp("docs/fips.md", fips.Checks), args)
	if err != nil || targets == nil {
		return err
	}
	refs, targets, err := imf.splitTargets(env, targets)
	if err != nil {
		return err
	}
	if len(targets) == 0 && len(refs) == 0 {
		return usageErrorf("fips scan needs a file or directory to scan").
			withHint("kensa fips scan /usr    (or a binary, several paths, or registry:REF)")
	}
	// A flag that does nothing here is a mistake the user should hear of.
	set := setFlags(fs)
	for _, name := range imageOnlyFlags {
		if set[name] && len(refs) == 0 {
			return usageErrorf("--%s applies to images, and no image is named", name).
				withHint("name an image (registry:REF, docker-archive:PATH, oci-layout:PATH), or drop --%s", name)
		}
	}
	for _, name := range []string{"root", "every-file"} {
		if set[name] && len(targets) == 0 {
			return usageErrorf("--%s applies to files and directories, and only images are named", name).
				withHint("an image is its own root filesystem; drop --%s", name)
		}
	}
	if imf.shard.set && len(targets) > 0 {
		return usageErrorf("--shard splits the image list, and files or directories are named too").
			withHint("scan paths in a run of their own; --shard I/N with images only")
	}
	refs = imf.shard.pick(refs)
	if len(refs) > 0 {
		if err := imf.openCache(); err != nil {
			return err
		}
	}
	var opts fips.Options
	opts.At = common.at
	if opts.Accept, err = parseAccept(accepts); err != nil {
		return err
	}
	if st, err := os.Stat(*root); err != nil || !st.IsDir() {
		return usageErrorf("--root %s is not a directory", *root).
			withHint("give the directory where the root filesystem is mounted")
	}
	for _, t := range targets {
		if _, err := os.Stat(t); err != nil {
			return missingTarget(t, err)
		}
	}

	if len(targets) == 1 && len(refs) == 0 {
		if st, err := os.Stat(targets[0]); err == nil && st.IsDir() {
			common.sarif.SrcRoot = targets[0]
		}
	}
	restoreMem := sync.OnceFunc(tuneScanMemory())
	defer restoreMem()
	c := fips.NewClassifier(rootfs.Dir(*root), opts)
	prog := newProgress(env)
	var results []fips.Result
	var findings []report.Finding
	var walkErrs []fips.WalkError
	var ex fips.Examined
	if len(targets) > 0 {
		ex.Files = c.Walk(ctx, targets, fips.WalkOptions{
			RootDir:   *root,
			EveryFile: *everyFile,
			Progress: func(seen, elf int64) {
				prog.update("kensa: %s examined, %s classified", report.Count(seen, "file", "files"), report.Count(elf, "ELF file", "ELF files"))
			},
		}, func(r fips.Result) {
			results = append(results, r)
			findings = append(findings, fips.Findings(r)...)
		}, func(e fips.WalkError) {
			walkErrs = append(walkErrs, e)
			findings = append(findings, fips.UnreadableFinding(e))
		})
	}
	// Image scans run with the runtime's defaults: they hold the files
	// they examine outside the Go heap (image.examBuffers), and the
	// walk's tight heap would only make the runtime give back and fault
	// in again its pages (bench/fips_image.sh, zstd: 3-5% of the time).
	restoreMem()
	scans := imf.scanImages(ctx, refs, opts, prog)
	prog.done()
	if err := ctx.Err(); err != nil {
		return usageErrorf("interrupted: %v", err)
	}
	var failed []fips.RefScan
	for _, s := range scans {
		if s.Err != nil {
			failed = append(failed, s)
		}
		ex.Images += s.Images
		ex.Files += s.Files
		findings = append(findings, s.Findings...)
		results = append(results, s.Results...)
	}
	fips.SortResults(results)
	sum := fips.Summarize(results, findings, ex)
	rep := newReport(env, "fips scan", common.at)
	rep.Results, rep.Findings, rep.Summary = results, findings, sum
	o := outcome{rep: rep, text: func(t *textWriter) { writeFipsText(t, fipsListed(results, targets, *all), walkErrs, failed, sum) }}
	switch {
	case len(failed) > 0:
		// A target that could not be scanned never looks like success.
		o.after = usageErrorf("%d of %d images could not be scanned (the report lists them as image-unreadable)", len(failed), len(refs)).
			withHint("%s", failed[0].Err.Error())
	case len(walkErrs) > 0:
		// A directory kensa could not list hides files: exit 2, as
		// egress analyze does for an input it could not read.
		first := slices.MinFunc(walkErrs, func(a, b fips.WalkError) int { return cmp.Compare(a.Path, b.Path) })
		o.after = usageErrorf("cannot read %s (the report lists %s as unreadable)", first.Error(),
			report.Count(len(walkErrs), "path", "paths")).
			withHint("run kensa as a user that can read the whole tree")
	}
	return finish(env, common, o)
}

// fipsListed is what the text view lists: the files with crypto, those
// that could not be checked, and files named on the command line; the
// files without crypto are counted only, unless --all.
func fipsListed(rs []fips.Result, named []string, all bool) []fips.Result {
	if all {
		return rs
	}
	var out []fips.Result
	for _, r := range rs {
		if !r.WithoutCrypto() || (r.Image == "" && slices.Contains(named, r.Path)) {
			out = append(out, r)
		}
	}
	return out
}

func writeFipsText(t *textWriter, rs []fips.Result, errs []fips.WalkError, failed []fips.RefScan, sum fips.Summary) {
	for _, g := range groupByImage(rs) {
		if g.title != "" {
			t.println(g.title)
		}
		tb := report.NewTable("PATH", "CRYPTO", "VERDICT", "REASON")
		tb.MaxWidth = 120 // paths stay whole; only freak columns are cut
		// On a narrow terminal the reason gives way first, then the
		// path (keeping its file name), then the backends.
		tb.Fit(0, report.FitMiddle, 24)
		tb.Fit(1, report.FitEnd, 10)
		tb.Fit(3, report.FitEnd, 24)
		for _, r := range g.results {
			crypto := strings.Join(r.Crypto, ",")
			if crypto == "" {
				crypto = "-"
			}
			tb.Row(r.Path, crypto, string(r.Verdict), firstReason(r.Reasons))
		}
		t.table(tb)
		t.printf("\n")
	}
	// The walk meets unreadable directories in parallel: list them sorted.
	errs = slices.SortedFunc(slices.Values(errs), func(a, b fips.WalkError) int { return cmp.Compare(a.Path, b.Path) })
	for _, e := range errs {
		t.printf("unreadable: %s\n", e.Error())
	}
	for _, o := range failed {
		t.printf("image not scanned: %s: %s\n", o.Ref.String(), o.Err.Error())
	}
	var parts []string
	for _, v := range fips.Verdicts {
		if n := sum.Verdicts[string(v)]; n > 0 || (v != fips.Unreadable && v != fips.Unknown) {
			parts = append(parts, fmt.Sprintf("%d %s", n, v))
		}
	}
	// On a terminal the summary lines wrap; in a pipe they stay whole.
	t.para("", "  ", fmt.Sprintf("%s classified (%d examined): %s", report.Count(sum.Results, "file", "files"), sum.Files, strings.Join(parts, ", ")), 0)
	if hidden := sum.Results - len(rs); hidden > 0 {
		t.para("", "  ", report.Count(hidden, "file", "files")+" without crypto not listed (--all lists them; --format json has every file)", 0)
	}
	if sum.Images > 0 || sum.ImagesFailed > 0 {
		t.printf("%s scanned, %d could not be\n", report.Count(sum.Images, "image", "images"), sum.ImagesFailed)
	}
	if sum.Unreadable > 0 {
		t.printf("%d unreadable\n", sum.Unreadable)
	}
	if len(sum.Backends) > 0 {
		var bs []string
		for _, b := range slices.Sorted(maps.Keys(sum.Backends)) {
			bs = append(bs, fmt.Sprintf("%s %d", b, sum.Backends[b]))
		}
		t.para("backends: ", "  ", strings.Join(bs, ", "), 0)
	}
	t.para("", " ", "(--format json lists every file's modules, certificates, via chains and all reasons)", 0)
}

func firstReason(rs []string) string {
	if len(rs) == 0 {
		return ""
	}
	return rs[0]
}

// fipsCBOM is the CBOM of a fips scan report: of a run, or merged
// (results read back from JSON).
func fipsCBOM(rep *report.Report) *cdx.BOM {
	return fips.CBOM(resultsOf[fips.Result](rep), cbomOptions(rep))
}

// cbomOptions are the CBOM metadata of rep: the tool, command and times.
func cbomOptions(rep *report.Report) fips.CBOMOptions {
	return fips.CBOMOptions{ToolName: rep.Tool.Name, ToolVersion: rep.Tool.Version,
		Command: rep.Command, GeneratedAt: rep.GeneratedAt, At: rep.At}
}

func init() {
	registerDomain("fips scan", domainInfo{checks: fips.Checks, doc: "docs/fips.md", cyclonedx: fipsCBOM, summarize: func(raw []json.RawMessage, fs []report.Finding, sums []json.RawMessage) (any, error) {
		rs, err := decodeResults[fips.Result](raw)
		if err != nil {
			return nil, err
		}
		// What the results cannot give back (files examined, images
		// scanned) is added up; the rest is counted again.
		in, err := addSummaries(sums, (*fips.Summary).Add)
		if err != nil {
			return nil, err
		}
		return fips.Summarize(rs, fs, fips.Examined{Files: in.Files, Images: in.Images}), nil
	}})
}

// parseAccept reads --accept (fips scan, fips host): the module statuses
// accepted beyond an active validation.
func parseAccept(words []string) (fips.Accept, error) {
	var a fips.Accept
	for _, w := range words {
		switch strings.ToLower(w) {
		case "in-process":
			a.InProcess = true
		case "historical":
			a.Historical = true
		default:
			return a, usageErrorf("--accept %q is not something kensa can accept", w).
				withHint("use --accept in-process, --accept historical, or both")
		}
	}
	return a, nil
}
