package elfx

import (
	"bytes"
	"compress/zlib"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Caps on the cargo-auditable crate list.
const (
	maxDepCompressed = 4 << 20
	maxDepJSON       = 16 << 20
	maxCrates        = 8192
)

// Crate is one package of a Rust binary's dependency tree, as
// cargo-auditable records it.
type Crate struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Source  string `json:"source"`
	// Kind is "runtime" (linked in) or "build" (build scripts only).
	Kind string `json:"kind"`
}

// ErrNoCrateList means the file has no cargo-auditable .dep-v0 section.
var ErrNoCrateList = errors.New("no cargo-auditable crate list")

// CrateList reads the crate list cargo-auditable embeds in the .dep-v0
// section: zlib-compressed JSON {"packages":[{name, version, source,
// kind, …}]}. Both the compressed and the decompressed sizes are capped.
func (f *File) CrateList() ([]Crate, error) {
	s := f.section(".dep-v0")
	if s == nil {
		return nil, ErrNoCrateList
	}
	r := f.sectionReader(s)
	if r.Size() > maxDepCompressed {
		return nil, fmt.Errorf("the .dep-v0 section is %d bytes, more than kensa reads", r.Size())
	}
	return ParseCrateList(io.NewSectionReader(r, 0, r.Size()))
}

// ParseCrateList decodes a .dep-v0 section's contents.
func ParseCrateList(r io.Reader) ([]Crate, error) {
	zr, err := zlib.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("the .dep-v0 section is not zlib data: %w", err)
	}
	defer zr.Close()
	data, err := io.ReadAll(io.LimitReader(zr, maxDepJSON+1))
	if err != nil {
		return nil, fmt.Errorf("decompressing the .dep-v0 section: %w", err)
	}
	if len(data) > maxDepJSON {
		return nil, fmt.Errorf("the .dep-v0 crate list is larger than %d bytes", maxDepJSON)
	}
	var doc struct {
		Packages []Crate `json:"packages"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("the .dep-v0 crate list is not valid JSON: %w", err)
	}
	if len(doc.Packages) > maxCrates {
		doc.Packages = doc.Packages[:maxCrates]
	}
	return doc.Packages, nil
}
