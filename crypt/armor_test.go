package crypt

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"filippo.io/age/armor"

	"github.com/hush-secrets/hush/crypt/cctvtest"
)

// FuzzDearmor: checkArmor with armorBody and age's armor reader agree on every input — the
// same bytes when both succeed, and neither succeeds alone — so Decrypt's
// fast path never changes what a store decrypts to, and is taken for every
// file age would read.
func FuzzDearmor(f *testing.F) {
	vectors, err := cctvtest.All()
	if err != nil {
		f.Fatal(err)
	}
	for _, v := range vectors {
		if bytes.Contains(v.File, []byte("-----BEGIN")) {
			f.Add(v.File)
		}
	}
	id, _ := Generate()
	for _, n := range []int{0, 1, 47, 48, 49, 95, 96, 200} {
		ct, err := Encrypt(bytes.Repeat([]byte{'x'}, n), id.Recipient)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(ct)
		f.Add(bytes.ReplaceAll(ct, []byte("\n"), []byte("\r\n")))
		f.Add(append([]byte("\n \t\n"), ct...))
		f.Add(append(append([]byte{}, ct...), " \n\x0b"...))
		f.Add(bytes.TrimSuffix(ct, []byte("\n")))
	}
	f.Add([]byte(armorHeader + "\n" + armorFooter + "\n"))
	f.Add([]byte(armorHeader + "\nAAAA\n" + armorFooter))
	f.Add([]byte(armorHeader + "\n" + strings.Repeat("A", 64) + "\n" + armorFooter + "\n" + strings.Repeat(" ", 1024)))
	f.Fuzz(func(t *testing.T, in []byte) {
		var fast []byte
		body, ferr := checkArmor(in)
		if ferr == nil {
			fast, ferr = io.ReadAll(&armorBody{rest: body})
			// Read in small, odd pieces too: the decoded line is split.
			var pieces []byte
			r, p := &armorBody{rest: body}, make([]byte, 7)
			for {
				n, err := r.Read(p)
				pieces = append(pieces, p[:n]...)
				if err == io.EOF {
					break
				}
			}
			if !bytes.Equal(pieces, fast) {
				t.Fatalf("reading in pieces differs: %q", in)
			}
		}
		slow, serr := io.ReadAll(armor.NewReader(bytes.NewReader(in)))
		switch {
		case ferr == nil && serr != nil:
			t.Fatalf("checkArmor accepted what age's reader refuses (%v): %q", serr, in)
		case ferr != nil && serr == nil:
			t.Fatalf("checkArmor refused what age's reader accepts: %q", in)
		case ferr == nil && !bytes.Equal(fast, slow):
			t.Fatalf("armorBody and age's reader decode %q differently", in)
		}
	})
}
