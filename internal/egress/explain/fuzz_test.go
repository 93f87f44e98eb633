package explain

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

// FuzzExplain: any bytes are read without a panic, every destination is a
// host and port kensa could name in a rule, every evidence line printable.
func FuzzExplain(f *testing.F) {
	files, _ := filepath.Glob("testdata/*")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("Error response from daemon: Get \"https://x/v2/\": EOF"))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Explain("fuzz", bytes.NewReader(data), "")
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range res.Matches {
			if !utf8.ValidString(m.Evidence) {
				t.Fatalf("evidence not UTF-8: %q", m.Evidence)
			}
			for _, d := range m.Destinations {
				if d.Port < 1 || d.Port > 65535 && !d.Placeholder {
					t.Fatalf("port %d", d.Port)
				}
				if !d.Placeholder && !validHost(d.Host) {
					t.Fatalf("host %q", d.Host)
				}
			}
		}
		Assess(res, nil, nil)
	})
}
