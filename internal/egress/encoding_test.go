package egress

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/google/go-cmp/cmp"
)

// utf16Bytes encodes s as UTF-16 with a byte order mark, as Windows
// PowerShell 5.1's ">" writes a command's output.
func utf16Bytes(s string, le bool) []byte {
	var b bytes.Buffer
	if le {
		b.Write([]byte{0xff, 0xfe})
	} else {
		b.Write([]byte{0xfe, 0xff})
	}
	for _, u := range utf16.Encode([]rune(s)) {
		if le {
			b.Write([]byte{byte(u), byte(u >> 8)})
		} else {
			b.Write([]byte{byte(u >> 8), byte(u)})
		}
	}
	return b.Bytes()
}

// TestByteOrderMarksAndUTF16: every shape reads the same with a UTF-8
// byte order mark (Out-File -Encoding utf8) and as UTF-16 (PowerShell's
// "az … -o json > logs.json"), CRLF line ends included.
func TestByteOrderMarksAndUTF16(t *testing.T) {
	const msg = "HTTPS request from 10.0.2.254:50347 to app.scm.azurewebsites.net:443. Action: Deny. No rule matched. Proceeding with default action"
	shapes := map[string]string{
		"text":   msg + "\r\n" + strings.Replace(msg, "10.0.2.254", "10.0.2.253", 1) + "\r\n",
		"jsonl":  `{"category":"AzureFirewallApplicationRule","time":"2024-11-05T06:18:42Z","properties":{"msg":"` + msg + `"}}` + "\r\n",
		"pretty": "{\r\n  \"records\": [\r\n    {\"time\": \"2024-11-05T06:18:42Z\", \"properties\": {\"msg\": \"" + msg + "\"}}\r\n  ]\r\n}\r\n",
		"az-cli": "[\r\n  {\r\n    \"TimeGenerated\": \"2024-11-05T06:18:42.517Z\",\r\n    \"msg_s\": \"" + msg + "\"\r\n  }\r\n]\r\n",
		"csv":    "TimeGenerated [UTC],msg_s\r\n\"11/5/2024, 6:18:42.517 AM\",\"" + msg + "\"\r\n",
	}
	for name, body := range shapes {
		want := summarize(analyze(t, Options{}, bytesInput(name, []byte(body))))
		if len(want) != 1 || !strings.Contains(want[0], "app.scm.azurewebsites.net:443") {
			t.Fatalf("%s: plain = %q", name, want)
		}
		for enc, data := range map[string][]byte{
			"utf-8 bom": append([]byte("\xef\xbb\xbf"), body...),
			"utf-16le":  utf16Bytes(body, true),
			"utf-16be":  utf16Bytes(body, false),
		} {
			res := analyze(t, Options{}, bytesInput(name, data))
			if diff := cmp.Diff(want, summarize(res)); diff != "" || res.Files[0].Err != "" || res.Files[0].Unknown != 0 {
				t.Errorf("%s, %s: err %q, %s (-plain +got):\n%s", name, enc, res.Files[0].Err, counts(res.Files[0]), diff)
			}
		}
	}
}

func TestUTF16SurrogatesAndOddBytes(t *testing.T) {
	data := utf16Bytes("a\U0001F600b", true)
	data = append(data, 0x00, 0xd8) // a lone high surrogate (U+D800, little-endian) at the end
	data = append(data, 'x')        // and an odd byte
	br := newTestReader(data)
	got := readAllString(t, decodeBOM(br))
	if want := "a\U0001F600b\uFFFD"; got != want {
		t.Errorf("decoded %q, want %q", got, want)
	}
}

func newTestReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }

func readAllString(t *testing.T, r io.Reader) string {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestTruncatedGzipIsAReadError: a gzip file cut short (a partial
// download) ends in io.ErrUnexpectedEOF, which is a broken input, never
// the end of a clean one.
func TestTruncatedGzipIsAReadError(t *testing.T) {
	for _, name := range []string{"azfw.log", "blob.jsonl", "eventhub.json", "la-export.csv"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write(data)
		zw.Close()
		whole := analyze(t, Options{}, bytesInput(name+".gz", gz.Bytes()))
		if e := whole.Files[0].Err; e != "" {
			t.Fatalf("%s.gz whole: %s", name, e)
		}
		res := analyze(t, Options{}, bytesInput(name+".gz", gz.Bytes()[:gz.Len()*2/3]))
		if e := res.Files[0].Err; !strings.Contains(e, "gzip stream is cut short") {
			t.Errorf("%s.gz cut short: Err = %q", name, e)
		}
	}
}
