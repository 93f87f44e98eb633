package limitio

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		size    int
		limit   int64
		wantErr string
	}{
		{"under the limit", 9, 10, ""},
		{"at the limit", 10, 10, ""},
		{"over the limit", 11, 10, "is larger than 10 bytes: not a test file"},
		{"empty", 0, 10, ""},
	}
	for _, tc := range tests {
		p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
		if err := os.WriteFile(p, []byte(strings.Repeat("x", tc.size)), 0o644); err != nil {
			t.Fatal(err)
		}
		b, err := ReadFile(p, tc.limit, "a test file")
		switch {
		case tc.wantErr == "" && (err != nil || len(b) != tc.size):
			t.Errorf("%s: %d bytes, %v; want %d bytes", tc.name, len(b), err, tc.size)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.wantErr)
		}
	}
	if _, err := ReadFile(filepath.Join(dir, "missing"), 10, "a test file"); !os.IsNotExist(err) {
		t.Errorf("missing file: %v, want a not-exist error", err)
	}
}
