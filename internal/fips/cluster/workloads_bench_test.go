package cluster

import (
	"context"
	"fmt"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/kensa-project/kensa/internal/fips"
	"github.com/kensa-project/kensa/internal/fipstest"
	"github.com/kensa-project/kensa/internal/image/imagetest"
	"github.com/kensa-project/kensa/internal/testenv"
)

// BenchmarkScanImagesSharedBases scans the images of a cluster whose 24
// images share 3 base layers (each base holds the Go fixtures under
// several names, ~10× the bytes of an application layer), as
// ScanImages does for `kensa fips cluster`: once per distinct digest,
// two at a time. The metrics say how much was shared: images, distinct
// layers, and layers read per image scan.
func BenchmarkScanImagesSharedBases(b *testing.B) {
	fx, err := fipstest.Build()
	if err != nil {
		testenv.Missing(b, "building the fips fixtures: "+err.Error())
	}
	reg := imagetest.Registry(b)
	const bases, perBase = 3, 8
	var pods []Pod
	layers := map[string]bool{}
	for i := range bases {
		var es []imagetest.Entry
		for j, f := range []string{"go_std", "go_fips_v100", "go_nocrypto", "go_std", "go_fips_v100"} {
			es = append(es, imagetest.HostFile(fmt.Sprintf("usr/bin/tool%d-%d", i, j), fx.Path(b, f)))
		}
		base := imagetest.Layer(b, es...)
		for j := range perBase {
			app := imagetest.Layer(b, imagetest.HostFile("app", fx.Path(b, "go_fips_v100")),
				imagetest.File("etc/app.conf", []byte(fmt.Sprintf("base=%d app=%d\n", i, j))))
			img := imagetest.Image(b, "linux/amd64", nil, base, app)
			for _, l := range []v1.Layer{base, app} {
				d, _ := l.Digest()
				layers[d.String()] = true
			}
			ref := fmt.Sprintf("%s/base%d/app%d", reg, i, j)
			imagetest.Push(b, ref+":1", img)
			d, _ := img.Digest()
			pods = append(pods, Pod{Namespace: "ns", Name: fmt.Sprintf("p%d-%d", i, j), Platform: "linux/amd64",
				Owner: Owner{"Deployment", fmt.Sprintf("d%d-%d", i, j)}, Containers: []Container{{Name: "c", Ref: ref + "@" + d.String(), Digest: d.String()}}})
		}
	}
	opts := ScanOptions{FIPS: fips.Options{At: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}, Concurrency: 2}
	b.ResetTimer()
	for range b.N {
		rs := ScanImages(context.Background(), pods, opts)
		for _, r := range rs {
			if r.Error != "" || r.Verdict != fips.Noncompliant {
				b.Fatalf("%s: %s %s", r.Ref, r.Verdict, r.Error)
			}
		}
	}
	b.ReportMetric(float64(len(pods)), "images")
	b.ReportMetric(float64(len(layers)), "distinct-layers")
	b.ReportMetric(float64(2*len(pods)), "layers-read/op")
}
