// Package lazyre is a regular expression compiled on first use.
//
// kensa is one binary for many commands, and a package-level
// regexp.MustCompile runs at start for every command, whichever runs:
// compiling the egress log signatures alone cost 290 KB in 1,500
// allocations in `kensa version`, and each package whose init runs
// touches its pages of the binary. A [Regexp] declared at package level
// costs nothing until a command matches with it.
//
// Modelled on the Go command's internal lazyregexp (internal to the
// toolchain, so not importable): in a test binary the expression is
// compiled at once, so that a bad one still fails every test of its
// package, not only the test that happens to use it.
package lazyre

import (
	"os"
	"regexp"
	"strings"
	"sync"
)

// Regexp is a regexp.Regexp compiled on first use.
type Regexp struct {
	expr string
	once sync.Once
	re   *regexp.Regexp
}

// New returns expr as a Regexp. It panics, like regexp.MustCompile, when
// expr does not compile: at first use, or at once in a test binary.
func New(expr string) *Regexp {
	r := &Regexp{expr: expr}
	if inTest {
		r.rx()
	}
	return r
}

// rx returns the compiled expression, compiling it on the first call.
func (r *Regexp) rx() *regexp.Regexp {
	r.once.Do(func() { r.re = regexp.MustCompile(r.expr) })
	return r.re
}

var inTest = len(os.Args) > 0 && strings.HasSuffix(strings.TrimSuffix(os.Args[0], ".exe"), ".test")

// Regexp returns the compiled expression.
func (r *Regexp) Regexp() *regexp.Regexp { return r.rx() }

// String returns the source text of the expression.
func (r *Regexp) String() string { return r.expr }

// Match is regexp.Regexp.Match.
func (r *Regexp) Match(b []byte) bool { return r.rx().Match(b) }

// MatchString is regexp.Regexp.MatchString.
func (r *Regexp) MatchString(s string) bool { return r.rx().MatchString(s) }

// Find is regexp.Regexp.Find.
func (r *Regexp) Find(b []byte) []byte { return r.rx().Find(b) }

// FindSubmatch is regexp.Regexp.FindSubmatch.
func (r *Regexp) FindSubmatch(b []byte) [][]byte { return r.rx().FindSubmatch(b) }

// FindStringSubmatch is regexp.Regexp.FindStringSubmatch.
func (r *Regexp) FindStringSubmatch(s string) []string { return r.rx().FindStringSubmatch(s) }

// FindAllString is regexp.Regexp.FindAllString.
func (r *Regexp) FindAllString(s string, n int) []string { return r.rx().FindAllString(s, n) }
