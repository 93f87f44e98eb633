// Package schematest validates kensa's machine outputs against the
// official JSON schemas in tests: SARIF 2.1.0 (OASIS), CycloneDX 1.6 (with
// the SPDX and JSF schemas it references) and kensa's own kensa/v1 schema
// in docs/.
//
// The official schemas are not copied into the repository: they are read
// from ../shared/schemas beside the checkout (KENSA_SCHEMAS overrides the
// directory). Where that directory is missing a test skips, and fails
// under CI, which provides it.
package schematest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/kensa-project/kensa/internal/testenv"
)

// The schema files of ../shared/schemas kensa's outputs are checked against.
const (
	SARIF     = "sarif-schema-2.1.0.json"
	CycloneDX = "bom-1.6.schema.json"
)

// RepoRoot returns the directory of kensa's go.mod, found upwards from
// the working directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// OfficialDir returns the directory of the official schemas:
// $KENSA_SCHEMAS, else ../shared/schemas beside the checkout (or beside
// one of its parent directories: a worktree at /work/wt/x finds
// /work/shared/schemas). ok is false when there is none.
func OfficialDir() (dir string, ok bool) {
	if dir = os.Getenv("KENSA_SCHEMAS"); dir != "" {
		_, err := os.Stat(filepath.Join(dir, SARIF))
		return dir, err == nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", false
	}
	first := filepath.Join(root, "..", "shared", "schemas")
	for d := filepath.Dir(root); ; d = filepath.Dir(d) {
		cand := filepath.Join(d, "shared", "schemas")
		if _, err := os.Stat(filepath.Join(cand, SARIF)); err == nil {
			return cand, true
		}
		if filepath.Dir(d) == d {
			return first, false
		}
	}
}

// Dir returns the directory of the official schemas, or skips t (fails
// it under CI) when there is none.
func Dir(t testing.TB) string {
	t.Helper()
	dir, ok := OfficialDir()
	if !ok {
		testenv.Missing(t, "the official schemas are not in "+dir+" (SARIF 2.1.0, CycloneDX 1.6; set KENSA_SCHEMAS to their directory)")
	}
	return dir
}

// Official returns the compiled schema name (SARIF or CycloneDX) of the
// official schemas directory, with every schema of that directory
// available to its $refs. Formats (uri, date-time, …) are asserted.
func Official(t testing.TB, name string) *jsonschema.Schema {
	t.Helper()
	s, err := Load(Dir(t), name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// KensaDir is the directory of the kensa/v1 schema, docs/ of the checkout.
func KensaDir() (string, error) {
	root, err := RepoRoot()
	return filepath.Join(root, "docs"), err
}

// KensaFile is the name of the kensa/v1 schema in docs/.
const KensaFile = "kensa-v1.schema.json"

// Kensa returns the compiled kensa/v1 schema of docs/.
func Kensa(t testing.TB) *jsonschema.Schema {
	t.Helper()
	dir, err := KensaDir()
	if err != nil {
		t.Fatal(err)
	}
	s, err := Load(dir, KensaFile)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var (
	mu    sync.Mutex
	cache = map[string]*jsonschema.Schema{}
)

// Load compiles the schema file name of dir, with every schema of dir
// available to its $refs (by their $id). Results are cached.
func Load(dir, name string) (*jsonschema.Schema, error) {
	key := filepath.Join(dir, name)
	mu.Lock()
	defer mu.Unlock()
	if s, ok := cache[key]; ok {
		return s, nil
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	loc := ""
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		doc, id, err := load(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		if id == "" {
			id = "file://" + filepath.ToSlash(filepath.Join(dir, e.Name()))
		}
		if err := c.AddResource(id, doc); err != nil {
			return nil, fmt.Errorf("schema %s: %w", e.Name(), err)
		}
		if e.Name() == name {
			loc = id
		}
	}
	if loc == "" {
		return nil, fmt.Errorf("no schema %s in %s", name, dir)
	}
	s, err := c.Compile(loc)
	if err != nil {
		return nil, fmt.Errorf("compiling %s: %w", name, err)
	}
	cache[key] = s
	return s, nil
}

// load reads a schema and its identifier ($id, or draft-04's id).
func load(path string) (any, string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	var ids struct {
		ID    string `json:"$id"`
		OldID string `json:"id"`
	}
	json.Unmarshal(b, &ids)
	id := ids.ID
	if id == "" {
		id = ids.OldID
	}
	return doc, strings.TrimSuffix(id, "#"), nil
}

// Validate checks doc (a JSON document) against s and fails t with every
// violation, naming what the document is.
func Validate(t testing.TB, s *jsonschema.Schema, what string, doc []byte) {
	t.Helper()
	if err := Check(s, doc); err != nil {
		t.Errorf("%s does not validate against %s:\n%v", what, s.Location, err)
	}
}

// Check returns why doc does not validate against s, or nil.
func Check(s *jsonschema.Schema, doc []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return err
	}
	return s.Validate(v)
}
