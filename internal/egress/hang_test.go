package egress

import (
	"context"
	"testing"
	"time"
)

// TestNoHang runs inputs that once made a reader loop, under a deadline.
func TestNoHang(t *testing.T) {
	inputs := []string{
		"msg_s,x\n\"a\n",
		"msg_s\n\"\"x\"\n\"",
		"TimeGenerated,msg_s\n\"unterminated",
		"{\"records\":[{\"a\":1},",
		"[[[[[[[[[[[[[[[[[[[[",
		"{\"tables\":[{\"columns\":[{\"name\":\"msg_s\"}],\"rows\":[[\"x\"],",
	}
	for _, in := range inputs {
		for _, f := range Formats {
			done := make(chan struct{})
			go func() {
				defer close(done)
				Analyze(context.Background(), []Input{bytesInput("x", []byte(in))}, Options{Format: f})
			}()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatalf("Analyze(%q, %s) hangs", in, f)
			}
		}
	}
}
