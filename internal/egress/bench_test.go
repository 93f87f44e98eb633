package egress

import (
	"bytes"
	"context"
	"fmt"
	"testing"
)

// BenchmarkAnalyzeText measures the full parse and aggregation of legacy
// msg lines with timestamps (go test -bench AnalyzeText ./internal/egress).
// bench/egress_analyze.sh compares the same work with mawk on 256 MiB.
func BenchmarkAnalyzeText(b *testing.B) {
	var buf bytes.Buffer
	for i := 0; buf.Len() < 16<<20; i++ {
		fmt.Fprintf(&buf, "2026-11-24T01:%02d:%02d.1234567Z\tHTTPS request from 10.0.%d.%d:%d to host%d.example.com:443. Action: Deny. No rule matched. Proceeding with default action\n",
			i%60, i%59, i%4, i%250, 1024+i%60000, i%50)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Analyze(context.Background(), []Input{bytesInput("bench", data)}, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
