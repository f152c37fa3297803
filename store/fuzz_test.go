package store

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"filippo.io/age"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/crypt/cctvtest"
)

// FuzzDecodeDocument: the decoder never panics, and whatever it accepts
// re-encodes to a document it accepts again with the same secrets.
func FuzzDecodeDocument(f *testing.F) {
	f.Add([]byte(`{"version":1,"environment":"dev","secrets":{"A":{"value":"x","type":"api-key","rotate_every":"30d"}}}`))
	f.Add([]byte(`{"version":1,"environment":"dev","secrets":{}}`))
	f.Add([]byte(`{"version":2,"environment":"dev","secrets":{}}`))
	f.Add([]byte(`{"version":1,"environment":"dev","secrets":{"A":{"value":"\u0000"}}}`))
	f.Add([]byte(`{"version":1,"environment":"dev","secrets":{"A":{"value":"x","exposed":[{"to":"b","since":"2026-01-01T00:00:00Z"}]}}}  `))
	f.Add([]byte(`{"version":2,"environment":"dev","secrets":{"A":{"value":"/wD+","encoding":"base64"},"B":{"value":"x"}}}`))
	f.Add([]byte(`{"version":1,"environment":"dev","secrets":{"A":{"value":"/wD+","encoding":"base64"}}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		d, err := DecodeDocument(in, "dev")
		if err != nil {
			if !errors.Is(err, ErrIntegrity) {
				t.Fatalf("error not ErrIntegrity: %v", err)
			}
			return
		}
		b, err := d.Encode()
		if err != nil {
			t.Fatal(err)
		}
		d2, err := DecodeDocument(b, "dev")
		if err != nil {
			t.Fatalf("re-encoded document refused: %v", err)
		}
		if len(d2.Secrets) != len(d.Secrets) {
			t.Fatalf("secrets lost in re-encoding")
		}
		for k, s := range d.Secrets {
			if d2.Secrets[k].Value != s.Value {
				t.Fatalf("value of %s changed in re-encoding", k)
			}
		}
	})
}

// multiIdentity tries several identities, as a vector may list more than one.
type multiIdentity []age.Identity

func (m multiIdentity) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	for _, id := range m {
		k, err := id.Unwrap(stanzas)
		if errors.Is(err, age.ErrIncorrectIdentity) {
			continue
		}
		return k, err
	}
	return nil, age.ErrIncorrectIdentity
}

// FuzzReadStore feeds arbitrary bytes as .hush/dev.age to the full read
// path (age decryption, then the document decoder), seeded with every CCTV
// age vector, as age seeds its own fuzzers. Nothing is returned unless all
// of it decrypted and validated.
func FuzzReadStore(f *testing.F) {
	p, id := newProject(f)
	vectors, err := cctvtest.All()
	if err != nil {
		f.Fatal(err)
	}
	for _, v := range vectors {
		f.Add(v.File)
	}
	set(f, p, id, "dev", Team, "A", "value")
	good, _ := os.ReadFile(p.TeamPath("dev"))
	f.Add(good)
	f.Fuzz(func(t *testing.T, in []byte) {
		if err := os.WriteFile(p.TeamPath("dev"), in, 0o600); err != nil {
			t.Fatal(err)
		}
		d, err := p.Read("dev", Team, id)
		if err != nil {
			if d != nil {
				t.Fatal("document returned with an error")
			}
			if !errors.Is(err, ErrIntegrity) && !errors.Is(err, ErrNoIdentity) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		// Only the real file (give or take armor whitespace) can decrypt
		// and authenticate: anything accepted must hold exactly its content.
		if len(d.Secrets) != 1 || d.Secrets["A"] == nil || d.Secrets["A"].Value.Reveal() != "value" {
			t.Fatalf("forged content accepted: %d secrets (input %d bytes, equal to good: %v)", len(d.Secrets), len(in), bytes.Equal(in, good))
		}
	})
}

// TestCCTVVectorsThroughStore: every CCTV vector placed as a store file is
// refused (none holds a hush document), each with the right kind of error.
func TestCCTVVectorsThroughStore(t *testing.T) {
	t.Parallel()
	p, _ := newProject(t)
	vectors, err := cctvtest.All()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range vectors {
		if v.Passphrase || len(v.Identities) == 0 {
			continue
		}
		if err := os.WriteFile(p.TeamPath("dev"), v.File, 0o600); err != nil {
			t.Fatal(err)
		}
		id := &crypt.Identity{Identity: multiIdentity(v.Identities)}
		d, err := p.Read("dev", Team, id)
		switch {
		case err == nil:
			t.Errorf("%s: accepted as a store (%d secrets)", v.Name, len(d.Secrets))
		case v.Expect == "no match" && !errors.Is(err, ErrNoIdentity):
			t.Errorf("%s: %v, want ErrNoIdentity", v.Name, err)
		case v.Expect != "no match" && !errors.Is(err, ErrIntegrity):
			t.Errorf("%s (%s): %v, want ErrIntegrity", v.Name, v.Expect, err)
		}
		n++
	}
	if n < 50 {
		t.Fatalf("only %d vectors tried", n)
	}
}
