package image

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// go-containerregistry reads the metadata of local images whole into
// memory (a layout's index.json, manifests and configuration; a docker
// archive's manifest.json and configuration): a hostile archive or layout
// could make that gigabytes. The sizes on disk are checked first, against
// the bounds a registry manifest is held to.

// maxMetadata bounds an index, a manifest or a manifest.json read whole.
const maxMetadata = 16 << 20

// maxArchiveEntries bounds the entries of a docker-save archive listed
// before it is read (docker saves a few per layer).
const maxArchiveEntries = 100_000

// layoutBlobs checks the size of a layout's blobs before they are read
// whole.
type layoutBlobs string

func (l layoutBlobs) check(h v1.Hash, max int64, what string) error {
	if l == "" {
		return nil // not a layout
	}
	st, err := os.Stat(filepath.Join(string(l), "blobs", h.Algorithm, h.Hex))
	if err != nil {
		return nil // go-containerregistry reports it
	}
	if st.Size() > max {
		return fmt.Errorf("%w: %s %s is %d bytes (at most %d)", ErrLimit, what, h, st.Size(), max)
	}
	return nil
}

func checkLayoutIndex(dir string) error {
	st, err := os.Stat(filepath.Join(dir, "index.json"))
	if err == nil && st.Size() > maxMetadata {
		return fmt.Errorf("%w: index.json is %d bytes (at most %d)", ErrLimit, st.Size(), maxMetadata)
	}
	return nil
}

// checkArchive lists a docker-save archive's entries and checks that its
// manifest.json, and each configuration it names, are small enough to be
// read whole.
func checkArchive(open tarball.Opener) error {
	f, err := open()
	if err != nil {
		return nil // go-containerregistry reports it
	}
	defer f.Close()
	sizes := map[string]int64{}
	var manifest []byte
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("reading the archive: %w", err)
		}
		if len(sizes) >= maxArchiveEntries {
			return fmt.Errorf("%w: the archive has more than %d entries", ErrLimit, maxArchiveEntries)
		}
		name := path.Clean(hdr.Name)
		sizes[name] = hdr.Size
		if name == "manifest.json" {
			if hdr.Size > maxMetadata {
				return fmt.Errorf("%w: manifest.json is %d bytes (at most %d)", ErrLimit, hdr.Size, maxMetadata)
			}
			if manifest, err = io.ReadAll(io.LimitReader(tr, maxMetadata)); err != nil {
				return fmt.Errorf("reading manifest.json: %w", err)
			}
		}
	}
	if manifest == nil {
		return errors.New("no manifest.json in the archive (is it docker save or podman save output?)")
	}
	var entries []struct {
		Config string
		Layers []string
	}
	if err := json.Unmarshal(manifest, &entries); err != nil {
		return fmt.Errorf("reading manifest.json: %w", err)
	}
	for _, e := range entries {
		if n := sizes[path.Clean(e.Config)]; n > maxConfigSize {
			return fmt.Errorf("%w: the image configuration %s is %d bytes (at most %d)", ErrLimit, e.Config, n, maxConfigSize)
		}
		if len(e.Layers) > maxLayers {
			return fmt.Errorf("%w: manifest.json lists %d layers (at most %d)", ErrLimit, len(e.Layers), maxLayers)
		}
	}
	return nil
}
