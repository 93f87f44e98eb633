package cli

import (
	"encoding/json"
	"testing"
	"time"
)

func TestParseWhen(t *testing.T) {
	at := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2h", time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)},
		{"7d", time.Date(2026, 11, 17, 12, 0, 0, 0, time.UTC)},
		{"2026-11-22T08:00:00Z", time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)},
		{"2026-11-22T08:00:00+09:00", time.Date(2026, 11, 21, 23, 0, 0, 0, time.UTC)},
		// No zone: UTC, as --help says.
		{"2026-11-22 08:00", time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)},
		{"2026-11-22 08:00:00", time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)},
		{"2026-11-22T08:00", time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)},
		{"2026-11-22T08:00:00", time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)},
		{"2026-11-22T08:00+09:00", time.Date(2026, 11, 21, 23, 0, 0, 0, time.UTC)},
		{" 2026-11-22 08:00 ", time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)},
		{"2026-11-22", time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		got, err := parseWhen(tt.in, at)
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("parseWhen(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "yesterday", "22/11/2026", "2026-11-22 8am", "2026-13-01", "2026-11-22 08", "11/22/2026 08:00"} {
		if got, err := parseWhen(bad, at); err == nil {
			t.Errorf("parseWhen(%q) = %v, want an error", bad, got)
		}
	}
}

// TestEgressSinceSpaceTime runs the command with the forms people paste
// from a portal or a ticket: a space between date and time, no zone.
func TestEgressSinceSpaceTime(t *testing.T) {
	for _, tt := range []struct {
		since, until string
		wantOut      int64
	}{
		// structured.jsonl has 10 connections (a DNS query and a DNAT aside),
		// 5 of them from 11:06:19 to 11:10:00 and 2 in 11:00-11:07:30.
		{"2026-11-22 11:00", "2026-11-22 11:07:30", 8},
		{"2026-11-22 11:00:00", "", 5},
		{"2026-11-22", "2026-11-23", 0},
	} {
		args := []string{"egress", "analyze", "--format", "json", "--fail-on", "never", "--since", tt.since}
		if tt.until != "" {
			args = append(args, "--until", tt.until)
		}
		code, out, stderr := run(t, append(args, egressFixture("structured.jsonl"))...)
		if code != ExitOK {
			t.Fatalf("%q: exit %d, stderr %q", args, code, stderr)
		}
		var rep struct {
			Summary struct {
				Files []struct {
					OutOfRange int64 `json:"out_of_range"`
				} `json:"files"`
			} `json:"summary"`
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Summary.Files) != 1 {
			t.Fatalf("%q: report %v: %s", args, err, out)
		}
		if got := rep.Summary.Files[0].OutOfRange; got != tt.wantOut {
			t.Errorf("%q: out_of_range = %d, want %d", args, got, tt.wantOut)
		}
	}
}
