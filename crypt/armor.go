package crypt

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
)

// The armor's framing, as age defines it (filippo.io/age/armor).
const (
	armorFooter    = "-----END AGE ENCRYPTED FILE-----"
	armorColumns   = 64
	armorLineBytes = armorColumns / 4 * 3
	armorMaxSpace  = 1024 // whitespace allowed before the header and after the footer
)

var errArmor = errors.New("invalid armor")

// checkArmor validates a whole ASCII-armored age file and returns its body:
// the base64 lines between the header and the footer, for armorBody to
// decode. age's own armor reader is a stream that allocates a line at a
// time — a tenth of the cost of reading a 1,000-secret store — while a
// store is always in memory whole. checkArmor follows the same rules line
// for line (leading and trailing whitespace bounds, 64 columns, strict
// base64, a short line only last, the footer, nothing after it), and
// FuzzDearmor checks it against age's reader. Decrypt takes this path
// only for a file it accepts; anything else is read with age's reader, so
// a broken file is reported exactly as before.
func checkArmor(in []byte) ([]byte, error) {
	pos := 0
	// line returns the next line without its "\n" and one "\r", and where
	// it starts; ok is false at the end of the input.
	line := func() (l []byte, start int, ok bool) {
		if pos >= len(in) {
			return nil, pos, false
		}
		start, end := pos, len(in)
		if i := bytes.IndexByte(in[pos:], '\n'); i >= 0 {
			end = pos + i
			pos = end + 1
		} else {
			pos = len(in)
		}
		return bytes.TrimSuffix(in[start:end], []byte("\r")), start, true
	}
	// end checks what follows the footer and returns the body.
	end := func(bodyStart, footerStart int) ([]byte, error) {
		tail := in[pos:]
		if len(tail) > armorMaxSpace {
			tail = tail[:armorMaxSpace]
		}
		if len(bytes.TrimSpace(tail)) != 0 || len(tail) == armorMaxSpace {
			return nil, errArmor
		}
		return in[bodyStart:footerStart], nil
	}

	skipped := 0
	for {
		l, _, ok := line()
		if !ok {
			return nil, errArmor
		}
		if len(bytes.TrimSpace(l)) == 0 {
			if skipped += len(l) + 1; skipped > armorMaxSpace {
				return nil, errArmor
			}
			continue
		}
		if string(l) != armorHeader {
			return nil, errArmor
		}
		break
	}
	bodyStart := pos
	strict := base64.StdEncoding.Strict()
	var scratch [armorLineBytes]byte
	for {
		l, start, ok := line()
		if !ok {
			return nil, errArmor
		}
		if string(l) == armorFooter {
			return end(bodyStart, start)
		}
		if len(l) == 0 || len(l) > armorColumns || bytes.IndexByte(l, '\r') >= 0 {
			return nil, errArmor
		}
		// A full line of the alphabet is 48 bytes of strict base64 by
		// construction (no padding, every bit used): armorBody decodes it
		// once, later. Anything else — the last line, padding, a stray
		// byte — is decoded here to be judged.
		if len(l) == armorColumns && fullBase64Line(l) {
			continue
		}
		n, err := strict.Decode(scratch[:], l)
		if err != nil {
			return nil, errArmor
		}
		if n < armorLineBytes { // the last line: the footer must follow
			l, start, ok := line()
			if !ok || string(l) != armorFooter {
				return nil, errArmor
			}
			return end(bodyStart, start)
		}
	}
}

// base64Alphabet marks the bytes of the standard alphabet (no padding).
var base64Alphabet = func() (t [256]bool) {
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/" {
		t[c] = true
	}
	return t
}()

// fullBase64Line says every byte of l is of the standard alphabet.
func fullBase64Line(l []byte) bool {
	for _, c := range l {
		if !base64Alphabet[c] {
			return false
		}
	}
	return true
}

// armorBody decodes the body checkArmor returned, as a stream: straight
// into the reader's buffer, so a store's binary form never needs memory of
// its own (in a fresh process every new page is a page fault).
type armorBody struct {
	rest    []byte // lines not yet decoded
	pending []byte // decoded, not yet read: in buf
	buf     [armorLineBytes]byte
}

func (r *armorBody) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	strict := base64.StdEncoding.Strict()
	n := 0
	for n < len(p) {
		if len(r.pending) > 0 {
			c := copy(p[n:], r.pending)
			r.pending = r.pending[c:]
			n += c
			continue
		}
		if len(r.rest) == 0 {
			break
		}
		l := r.rest
		if i := bytes.IndexByte(l, '\n'); i >= 0 {
			l, r.rest = l[:i], l[i+1:]
		} else {
			r.rest = nil
		}
		l = bytes.TrimSuffix(l, []byte("\r"))
		var err error
		if len(p)-n >= armorLineBytes {
			var m int
			m, err = strict.Decode(p[n:], l)
			n += m
		} else {
			var m int
			m, err = strict.Decode(r.buf[:], l)
			r.pending = r.buf[:m]
		}
		if err != nil { // checkArmor accepted these lines: cannot happen
			return n, errArmor
		}
	}
	if n == 0 { // p is not empty: nothing was left
		return 0, io.EOF
	}
	return n, nil
}
