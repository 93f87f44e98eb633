// Package catalogtest checks a domain package against its catalog of
// checks (report.Check): every finding ID its code can emit is in the
// catalog, and every catalog ID is documented in docs/*.md. Each domain's
// tests call [Check]; the cli tests also check every ID a run emits.
package catalogtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/kensa-project/kensa/internal/report"
)

// EmittedIDs parses the non-test Go files of the package in dir and
// returns the finding IDs its code can emit: the ID of every
// report.Finding literal, every assignment to an ID field, and the first
// argument of calls to a function or method named "finding". An ID that
// is neither a string literal nor a constant of the package is reported
// in bad (an ID computed at run time cannot be checked against a catalog).
func EmittedIDs(t testing.TB, dir string) (ids map[string]token.Position, bad []token.Position) {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var parsed []*ast.File
	consts := map[string]string{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		parsed = append(parsed, f)
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, sp := range gd.Specs {
				vs := sp.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if i < len(vs.Values) {
						if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							consts[n.Name], _ = strconv.Unquote(lit.Value)
						}
					}
				}
			}
		}
	}
	ids = map[string]token.Position{}
	value := func(e ast.Expr) {
		pos := fset.Position(e.Pos())
		switch v := e.(type) {
		case *ast.BasicLit:
			if s, err := strconv.Unquote(v.Value); err == nil {
				ids[s] = pos
				return
			}
		case *ast.Ident:
			if s, ok := consts[v.Name]; ok {
				ids[s] = pos
				return
			}
		}
		bad = append(bad, pos)
	}
	isFinding := func(e ast.Expr) bool {
		se, ok := e.(*ast.SelectorExpr)
		if !ok {
			return false
		}
		x, ok := se.X.(*ast.Ident)
		return ok && x.Name == "report" && (se.Sel.Name == "Finding")
	}
	for _, f := range parsed {
		var stack []ast.Node
		inFinding := func() bool {
			// The body of a finding(id, …) helper: its callers are checked.
			for _, n := range stack {
				if fd, ok := n.(*ast.FuncDecl); ok && fd.Name.Name == "finding" {
					return true
				}
			}
			return false
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if n == nil {
				stack = stack[:len(stack)-1]
				return true
			}
			defer func() { stack = append(stack, n) }()
			switch n := n.(type) {
			case *ast.CompositeLit:
				typ := n.Type
				if typ == nil && len(stack) > 0 {
					// An element of []report.Finding{{…}}.
					if p, ok := stack[len(stack)-1].(*ast.CompositeLit); ok {
						if at, ok := p.Type.(*ast.ArrayType); ok {
							typ = at.Elt
						}
					}
				}
				if !isFinding(typ) || inFinding() {
					return true
				}
				for _, el := range n.Elts {
					if kv, ok := el.(*ast.KeyValueExpr); ok {
						if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "ID" {
							value(kv.Value)
						}
					}
				}
			case *ast.AssignStmt:
				for i, l := range n.Lhs {
					if se, ok := l.(*ast.SelectorExpr); ok && se.Sel.Name == "ID" && i < len(n.Rhs) && len(n.Lhs) == len(n.Rhs) {
						value(n.Rhs[i])
					}
				}
			case *ast.CallExpr:
				name := ""
				switch fn := n.Fun.(type) {
				case *ast.Ident:
					name = fn.Name
				case *ast.SelectorExpr:
					name = fn.Sel.Name
				}
				if name == "finding" && len(n.Args) > 0 {
					value(n.Args[0])
				}
			}
			return true
		})
	}
	return ids, bad
}

// Check fails t when the package in dir can emit an ID that checks lacks,
// computes an ID at run time, lists an ID twice, or lists one that no
// page of docsDir mentions (as `id`).
func Check(t *testing.T, dir string, checks []report.Check, docsDir string) {
	t.Helper()
	ids, bad := EmittedIDs(t, dir)
	for _, p := range bad {
		t.Errorf("%s: a finding ID that is not a string literal or a constant: the catalog test cannot check it", p)
	}
	if len(ids) == 0 {
		t.Errorf("%s: no finding IDs found: is the parser looking at the right package?", dir)
	}
	for id, pos := range ids {
		if _, ok := report.Lookup(checks, id); !ok {
			t.Errorf("%s: finding ID %q is not in the catalog (var Checks)", pos, id)
		}
	}
	seen := map[string]bool{}
	var docs strings.Builder
	pages, _ := filepath.Glob(filepath.Join(docsDir, "*.md"))
	for _, p := range pages {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		docs.Write(data)
	}
	for _, c := range checks {
		if seen[c.ID] {
			t.Errorf("catalog lists %q twice", c.ID)
		}
		seen[c.ID] = true
		if c.Title == "" || c.Help == "" || c.Citation == "" || c.Severity.Rank() == 0 {
			t.Errorf("catalog entry %q lacks a title, help, citation or severity", c.ID)
		}
		if !regexp.MustCompile("`" + regexp.QuoteMeta(c.ID) + "`").MatchString(docs.String()) {
			t.Errorf("catalog id %q is not documented in %s/*.md (as `%s`)", c.ID, docsDir, c.ID)
		}
	}
}
