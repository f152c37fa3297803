package crypt

import (
	"bytes"
	"encoding/base64"
	"errors"
)

// The armor's framing, as age defines it (filippo.io/age/armor).
const (
	armorFooter    = "-----END AGE ENCRYPTED FILE-----"
	armorColumns   = 64
	armorLineBytes = armorColumns / 4 * 3
	armorMaxSpace  = 1024 // whitespace allowed before the header and after the footer
)

var errArmor = errors.New("invalid armor")

// dearmor decodes a whole ASCII-armored age file at once. age's own armor
// reader is a stream that allocates a line at a time — a tenth of the cost
// of reading a 1,000-secret store — while a store is always in memory
// whole. dearmor follows the same rules line for line (leading and
// trailing whitespace bounds, 64 columns, strict base64, a short line only
// last, the footer, nothing after it), and FuzzDearmor checks it against
// age's reader. Decrypt only takes its answer when it succeeds; on any
// error it reads the file again with age's reader, so a broken file is
// reported exactly as before.
func dearmor(in []byte) ([]byte, error) {
	rest := in
	line := func() ([]byte, bool) {
		if len(rest) == 0 {
			return nil, false
		}
		l := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			l, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		return bytes.TrimSuffix(l, []byte("\r")), true
	}
	trailer := func() error {
		tail := rest
		if len(tail) > armorMaxSpace {
			tail = tail[:armorMaxSpace]
		}
		if len(bytes.TrimSpace(tail)) != 0 || len(tail) == armorMaxSpace {
			return errArmor
		}
		return nil
	}

	skipped := 0
	for {
		l, ok := line()
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
	out := make([]byte, 0, len(rest)/4*3)
	strict := base64.StdEncoding.Strict()
	var chunk [armorLineBytes]byte
	for {
		l, ok := line()
		if !ok {
			return nil, errArmor
		}
		if string(l) == armorFooter {
			return out, trailer()
		}
		if len(l) == 0 || len(l) > armorColumns || bytes.IndexByte(l, '\r') >= 0 {
			return nil, errArmor
		}
		n, err := strict.Decode(chunk[:], l)
		if err != nil {
			return nil, errArmor
		}
		out = append(out, chunk[:n]...)
		if n < armorLineBytes {
			if l, ok := line(); !ok || string(l) != armorFooter {
				return nil, errArmor
			}
			return out, trailer()
		}
	}
}
