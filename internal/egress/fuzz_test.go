package egress

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
)

func seedFixtures(f *testing.F, files ...string) {
	for _, name := range files {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		for _, l := range strings.Split(string(data), "\n") {
			f.Add([]byte(l))
		}
	}
}

// FuzzParseMsg: never panics; what it accepts is well formed.
func FuzzParseMsg(f *testing.F) {
	seedFixtures(f, "azfw.log", "malformed.log")
	f.Fuzz(func(t *testing.T, line []byte) {
		var ev Event
		ev.reset()
		if !parseMsg(line, &ev) {
			return
		}
		if ev.Kind == KindTraffic {
			if bytes.ContainsAny(ev.Host, " \n") || len(ev.Src) == 0 || ev.Action == ActionUnknown {
				t.Fatalf("parseMsg(%q) accepted a bad event: %s", line, evString(&ev))
			}
			if ev.Port < -1 || ev.Port > 65535 {
				t.Fatalf("port %d", ev.Port)
			}
			_ = formatRule(string(ev.Rule))
		}
	})
}

// FuzzParseSquid: never panics; accepted lines have a host and a time.
func FuzzParseSquid(f *testing.F) {
	seedFixtures(f, "access.log")
	f.Fuzz(func(t *testing.T, line []byte) {
		var ev Event
		ev.reset()
		if parseSquid(line, &ev) && ev.Kind != KindOther && (len(ev.Host) == 0 || ev.Time == 0 && !bytes.HasPrefix(bytes.TrimSpace(line), []byte("0"))) {
			t.Fatalf("parseSquid(%q) = %s", line, evString(&ev))
		}
	})
}

// FuzzParseRecord: any JSON record, never a panic.
func FuzzParseRecord(f *testing.F) {
	seedFixtures(f, "blob.jsonl", "structured.jsonl", "aws-nfw.jsonl", "truncated.jsonl")
	f.Fuzz(func(t *testing.T, data []byte) {
		var ev Event
		n := 0
		parseRecord(data, &ev, func(e *Event) {
			n++
			if e.Kind == KindTraffic && e.Port > 65535 {
				t.Fatalf("port %d", e.Port)
			}
		})
		if n > len(data) {
			t.Fatalf("%d events from %d bytes", n, len(data))
		}
	})
}

// FuzzAnalyze runs whole inputs through detection and every reader
// (streamed JSON, CSV, lines), then the planner and the rule writers.
func FuzzAnalyze(f *testing.F) {
	for _, name := range []string{"eventhub.json", "la-tables.json", "la-export.json", "la-export.csv", "access.log", "azfw.log", "truncated-pretty.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, uint8(0))
	}
	// Byte order marks and UTF-16 (PowerShell's ">") reach decodeBOM.
	msg := "HTTPS request from 10.0.2.254:50347 to app.scm.azurewebsites.net:443. Action: Deny. No rule matched. Proceeding with default action\r\n"
	f.Add(append([]byte("\xef\xbb\xbf[\n"), `{"msg_s":"x"}]`...), uint8(0))
	f.Add(utf16Bytes(msg, true), uint8(0))
	f.Add(utf16Bytes(`{"records":[{"properties":{"msg":"`+msg[:len(msg)-2]+`"}}]}`, false), uint8(0))
	// Small chunks: cheap runs, and chunk boundaries inside the records.
	defer func(n int) { chunkSize = n }(chunkSize)
	chunkSize = 4 << 10
	f.Fuzz(func(t *testing.T, data []byte, format uint8) {
		opts := Options{Format: Formats[int(format)%len(Formats)], Workers: 2, All: format&0x80 != 0}
		// The fuzzer has no per-input timeout: a hang would only stall it
		// (that is how FuzzAnalyze once ran 11 inputs a minute).
		var res *Result
		var err error
		done := make(chan struct{})
		go func() {
			defer close(done)
			res, err = Analyze(context.Background(), []Input{bytesInput("fuzz", data)}, opts)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("Analyze still running after 10s on %d bytes (format %s)", len(data), opts.Format)
		}
		if err != nil {
			t.Fatal(err)
		}
		tot := res.Total()
		if tot.Records < tot.Traffic || tot.Traffic < tot.Denied {
			t.Fatalf("counts: %+v", tot)
		}
		p := MakePlan(res.Destinations, PlanOptions{})
		for _, lang := range EmitFormats {
			var b bytes.Buffer
			if err := WriteRules(&b, lang, p); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range p.Collections {
			for _, s := range append(append(c.Rule.FQDNs, c.Rule.Addresses...), c.Rule.Sources...) {
				if strings.ContainsAny(s, "'\"$\\ \n{}`;") {
					t.Fatalf("unsafe value %q in a rule", s)
				}
			}
		}
	})
}

// FuzzParseTime: where both read a time, parseTime agrees with time.Parse.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2024-11-05T06:18:42.5170360Z", "2025-01-27T16:44:09.310482+00:00", "2021-09-09T08:48:08.126655+0000", "2024-02-29T23:59:59-05:30"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseTime([]byte(s))
		want, err := time.Parse(time.RFC3339Nano, s)
		// parseTime is stricter (two-digit hours, zone minutes below 60);
		// where both read a time within int64 nanoseconds, they agree.
		if ok && err == nil && want.Year() >= 1700 && want.Year() <= 2200 {
			if got != want.UnixNano() {
				t.Fatalf("parseTime(%q) = %d %v, time.Parse = %d", s, got, ok, want.UnixNano())
			}
		}
	})
}

// FuzzDecodeUTF16: the streaming UTF-16 decoder agrees with
// unicode/utf16.Decode on the whole input, read in pieces of any size.
func FuzzDecodeUTF16(f *testing.F) {
	f.Add([]byte("\xff\xfeH\x00i\x00"), uint8(1))
	f.Add([]byte("\xfe\xff\xd8\x3d\xde\x00\x00a"), uint8(3))
	f.Add([]byte("\xff\xfe\x00\xd8a\x00\x00\xdc"), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, piece uint8) {
		if len(data) < 2 || !(data[0] == 0xff && data[1] == 0xfe || data[0] == 0xfe && data[1] == 0xff) {
			return
		}
		le := data[0] == 0xff
		units := make([]uint16, 0, len(data)/2)
		for i := 2; i+1 < len(data); i += 2 {
			if le {
				units = append(units, uint16(data[i])|uint16(data[i+1])<<8)
			} else {
				units = append(units, uint16(data[i+1])|uint16(data[i])<<8)
			}
		}
		want := string(utf16.Decode(units))
		r := decodeBOM(bufio.NewReader(bytes.NewReader(data)))
		var got []byte
		buf := make([]byte, int(piece)%7+1)
		for {
			n, err := r.Read(buf)
			got = append(got, buf[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if string(got) != want {
			t.Fatalf("decoded %q, want %q", got, want)
		}
	})
}
