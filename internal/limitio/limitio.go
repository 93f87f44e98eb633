// Package limitio reads files whose size kensa bounds: anything a user
// or a hostile peer can point it at (certificates, kubeconfigs, saved
// reports) is read up to a limit, never whole on trust.
package limitio

import (
	"fmt"
	"io"
	"os"
)

// ReadFile reads path, refusing a file larger than limit bytes without
// reading more than limit+1 of it; what names the kind of file it then
// cannot be ("a certificate file").
func ReadFile(path string, limit int64, what string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes: not %s", path, limit, what)
	}
	return data, nil
}
