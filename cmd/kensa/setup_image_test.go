package main

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/kensa-project/kensa/internal/fipstest"
	"github.com/kensa-project/kensa/internal/image/imagetest"
)

// The fips_image* scripts scan images built from the fips fixtures:
// $WORK/app.tar (a docker-save archive) and $WORK/layout (an OCI layout
// tagged "app" and "off"). Image "app" holds /app/fips (GOFIPS140=v1.0.0),
// /app/plain (standard Go crypto) and /app/fips-link (a hard link);
// "off" is the same with GODEBUG=fips140=off in its Env.
func init() {
	setups = append(setups, setupImages)
}

func setupImages(e *testscript.Env) error {
	if !strings.HasPrefix(filepath.Base(e.WorkDir), "script-fips_image") {
		return nil
	}
	s, err := fipstest.Build()
	if err != nil || !s.Has("go_fips_v100") || !s.Has("go_std") {
		return nil // the scripts are guarded by [fipsfixtures]
	}
	tb := &setupTB{env: e}
	defer func() {
		if p := recover(); p != nil {
			if f, ok := p.(setupFailure); ok {
				err = f
				return
			}
			panic(p)
		}
	}()
	platform := "linux/" + runtime.GOARCH
	layer := imagetest.Layer(tb,
		imagetest.HostFile("app/fips", filepath.Join(s.Dir, "go_fips_v100")),
		imagetest.HostFile("app/plain", filepath.Join(s.Dir, "go_std")),
		imagetest.Hardlink("app/fips-link", "app/fips"),
		imagetest.File("etc/os-release", []byte("ID=kensa-test\n")),
	)
	app := imagetest.Image(tb, platform, []string{"PATH=/app"}, layer)
	off := imagetest.Image(tb, platform, []string{"PATH=/app", "GODEBUG=fips140=off"}, layer)
	imagetest.Archive(tb, filepath.Join(e.WorkDir, "app.tar"), "example.com/app:1", app)
	imagetest.Layout(tb, filepath.Join(e.WorkDir, "layout"), "app", app)
	imagetest.Layout(tb, filepath.Join(e.WorkDir, "layout"), "off", off)
	return err
}

// setupTB lets imagetest report a failure from a testscript setup.
type setupTB struct{ env *testscript.Env }

type setupFailure struct{ msg string }

func (f setupFailure) Error() string { return "building test images: " + f.msg }

func (*setupTB) Helper()                           {}
func (*setupTB) Fatal(args ...any)                 { panic(setupFailure{fmt.Sprint(args...)}) }
func (*setupTB) Fatalf(format string, args ...any) { panic(setupFailure{fmt.Sprintf(format, args...)}) }
func (t *setupTB) Cleanup(f func())                { t.env.Defer(f) }
