package egress

import (
	"bufio"
	"io"
	"unicode/utf16"
	"unicode/utf8"
)

// Windows PowerShell 5.1 writes "az … -o json > logs.json" as UTF-16LE
// with a byte order mark, and Out-File -Encoding utf8 adds a UTF-8 one.
// decodeBOM strips a UTF-8 BOM and decodes UTF-16 (either byte order) to
// UTF-8, so every reader sees plain UTF-8.
func decodeBOM(br *bufio.Reader) io.Reader {
	head, _ := br.Peek(3)
	switch {
	case len(head) >= 3 && head[0] == 0xef && head[1] == 0xbb && head[2] == 0xbf:
		br.Discard(3)
	case len(head) >= 2 && head[0] == 0xff && head[1] == 0xfe:
		br.Discard(2)
		return &utf16Reader{r: br, le: true}
	case len(head) >= 2 && head[0] == 0xfe && head[1] == 0xff:
		br.Discard(2)
		return &utf16Reader{r: br}
	}
	return br
}

// utf16Reader decodes UTF-16 code units from r into UTF-8.
type utf16Reader struct {
	r   *bufio.Reader
	le  bool
	out []byte // decoded, not yet returned
	hi  rune   // a high surrogate waiting for its pair, or 0
	err error
}

func (u *utf16Reader) unit() (rune, error) {
	var b [2]byte
	if _, err := io.ReadFull(u.r, b[:]); err != nil {
		if err == io.ErrUnexpectedEOF {
			err = io.EOF // an odd trailing byte: dropped
		}
		return 0, err
	}
	if u.le {
		return rune(b[0]) | rune(b[1])<<8, nil
	}
	return rune(b[1]) | rune(b[0])<<8, nil
}

func (u *utf16Reader) Read(p []byte) (int, error) {
	for len(u.out) < len(p) && u.err == nil {
		c, err := u.unit()
		if err != nil {
			u.err = err
			if u.hi != 0 {
				u.out = utf8.AppendRune(u.out, utf8.RuneError)
			}
			break
		}
		if u.hi != 0 {
			if c >= 0xdc00 && c < 0xe000 {
				u.out = utf8.AppendRune(u.out, utf16.DecodeRune(u.hi, c))
				u.hi = 0
				continue
			}
			u.out = utf8.AppendRune(u.out, utf8.RuneError) // a lone high surrogate
			u.hi = 0
		}
		if c >= 0xd800 && c < 0xdc00 {
			u.hi = c
			continue
		}
		u.out = utf8.AppendRune(u.out, c) // a lone low surrogate becomes U+FFFD
	}
	n := copy(p, u.out)
	u.out = u.out[:copy(u.out, u.out[n:])]
	if n == 0 && u.err != nil {
		return 0, u.err
	}
	return n, nil
}
