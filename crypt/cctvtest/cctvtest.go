// Package cctvtest loads the age test vectors of c2sp.org/CCTV/age for
// hush's tests and fuzz seeds. Only test code imports it.
package cctvtest

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"filippo.io/age"

	agetest "c2sp.org/CCTV/age"
)

// Vector is one parsed test vector.
type Vector struct {
	Name string
	// Expect is "success", "no match", "HMAC failure", "header failure",
	// "armor failure" or "payload failure".
	Expect string
	// Passphrase marks vectors that need an scrypt identity, which hush
	// never uses.
	Passphrase bool
	Identities []age.Identity
	// File is the age file, decompressed when the vector was compressed.
	File []byte
}

// All returns every vector.
func All() ([]Vector, error) {
	entries, err := fs.ReadDir(agetest.Vectors, ".")
	if err != nil {
		return nil, err
	}
	out := make([]Vector, 0, len(entries))
	for _, e := range entries {
		raw, err := fs.ReadFile(agetest.Vectors, e.Name())
		if err != nil {
			return nil, err
		}
		v, err := Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		v.Name = e.Name()
		out = append(out, v)
	}
	return out, nil
}

// Parse reads the CCTV text format: "key: value" header lines, a blank
// line, then the age file.
func Parse(raw []byte) (Vector, error) {
	var v Vector
	compressed := false
	rest := raw
	for {
		line, r, ok := bytes.Cut(rest, []byte("\n"))
		if !ok {
			return v, fmt.Errorf("vector without payload")
		}
		rest = r
		if len(line) == 0 {
			break
		}
		key, value, _ := strings.Cut(string(line), ": ")
		switch key {
		case "expect":
			v.Expect = value
		case "identity":
			var id age.Identity
			id, err := age.ParseX25519Identity(value)
			if err != nil {
				id, err = age.ParseHybridIdentity(value)
			}
			if err != nil {
				return v, err
			}
			v.Identities = append(v.Identities, id)
		case "passphrase":
			v.Passphrase = true
		case "compressed":
			compressed = true
		}
	}
	v.File = rest
	if compressed {
		zr, err := zlib.NewReader(bytes.NewReader(rest))
		if err != nil {
			return v, err
		}
		if v.File, err = io.ReadAll(zr); err != nil {
			return v, err
		}
	}
	return v, nil
}
