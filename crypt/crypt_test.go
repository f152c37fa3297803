package crypt

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hush-secrets/hush/crypt/cctvtest"
)

func TestEncryptDecryptRoundTrip(t *testing.T) {
	t.Parallel()
	alice, _ := Generate()
	bob, _ := Generate()
	plain := []byte(`{"version":1}`)
	ct, err := Encrypt(plain, alice.Recipient, bob.Recipient)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(ct, []byte(armorHeader)) {
		t.Fatalf("not armored: %q", ct[:40])
	}
	for _, id := range []*Identity{alice, bob} {
		got, err := Decrypt(ct, id.Identity)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("Decrypt = %q, %v", got, err)
		}
	}
	eve, _ := Generate()
	if _, err := Decrypt(ct, eve.Identity); !errors.Is(err, ErrNoIdentity) {
		t.Fatalf("wrong key: err = %v, want ErrNoIdentity", err)
	}
	if _, err := Encrypt(plain); err == nil {
		t.Fatal("Encrypt with no recipients succeeded")
	}
}

func TestDecryptRefusesDamage(t *testing.T) {
	t.Parallel()
	id, _ := Generate()
	ct, err := Encrypt(bytes.Repeat([]byte("secret "), 200), id.Recipient)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"truncated":     ct[:len(ct)/2],
		"trailing data": append(append([]byte{}, ct...), "more\n"...),
		"empty":         {},
		"not age":       []byte("hello"),
	}
	for i := len(armorHeader) + 5; i < len(ct)-40; i += 37 {
		b := append([]byte{}, ct...)
		if b[i] == 'A' {
			b[i] = 'B'
		} else if b[i] != '\n' {
			b[i] = 'A'
		} else {
			continue
		}
		cases["flip "+string(rune('0'+i%10))+"@"+itoa(i)] = b
	}
	for name, b := range cases {
		got, err := Decrypt(b, id.Identity)
		if err == nil {
			t.Errorf("%s: decrypted %d bytes", name, len(got))
			continue
		}
		if got != nil {
			t.Errorf("%s: returned plaintext alongside an error", name)
		}
		if !errors.Is(err, ErrIntegrity) && !errors.Is(err, ErrNoIdentity) {
			t.Errorf("%s: err = %v, want ErrIntegrity or ErrNoIdentity", name, err)
		}
	}
}

func itoa(i int) string {
	var b []byte
	for i > 0 || len(b) == 0 {
		b = append([]byte{byte('0' + i%10)}, b...)
		i /= 10
	}
	return string(b)
}

// TestCCTVVectors feeds every age test vector of c2sp.org/CCTV/age to
// Decrypt: exactly the vectors expected to succeed decrypt, and every other
// one is an error with no plaintext. DecryptString gives the same answers.
func TestCCTVVectors(t *testing.T) {
	t.Parallel()
	vectors, err := cctvtest.All()
	if err != nil {
		t.Fatal(err)
	}
	var ok, refused int
	for _, v := range vectors {
		if v.Passphrase || len(v.Identities) == 0 {
			continue // hush never decrypts with a passphrase (scrypt)
		}
		got, err := Decrypt(v.File, v.Identities...)
		str, serr := DecryptString(v.File, v.Identities...)
		if str != string(got) || (serr == nil) != (err == nil) || (err != nil && serr.Error() != err.Error()) {
			t.Errorf("%s: DecryptString (%v) differs from Decrypt (%v)", v.Name, serr, err)
		}
		switch {
		case v.Expect == "success" && err != nil:
			t.Errorf("%s: expected success, got %v", v.Name, err)
		case v.Expect != "success" && err == nil:
			t.Errorf("%s: expected %s, decrypted %d bytes", v.Name, v.Expect, len(got))
		case v.Expect == "no match" && !errors.Is(err, ErrNoIdentity):
			t.Errorf("%s: expected no match, got %v", v.Name, err)
		case v.Expect != "success" && v.Expect != "no match" && !errors.Is(err, ErrIntegrity):
			t.Errorf("%s: expected %s as an integrity error, got %v", v.Name, v.Expect, err)
		case err == nil:
			ok++
		default:
			refused++
		}
	}
	if ok < 10 || refused < 50 {
		t.Fatalf("vectors: %d decrypted, %d refused; expected many of both", ok, refused)
	}
}

func TestParseIdentityForms(t *testing.T) {
	t.Parallel()
	id, _ := Generate()
	file := FormatKeyFile(id, nowFunc())
	for name, text := range map[string]string{
		"keygen file": file,
		"bare":        id.SecretText(),
		"bare+space":  "  " + id.SecretText() + "\n\n",
	} {
		got, err := ParseIdentity([]byte(text), "test")
		if err != nil || got.Public != id.Public {
			t.Errorf("%s: got %v, %v", name, got, err)
		}
	}
	_, err := ParseIdentity([]byte("AGE-SECRET-KEY-1NOTAKEY"), "src")
	if err == nil || strings.Contains(err.Error(), "NOTAKEY") {
		t.Errorf("bad key: err = %v (must not quote the input)", err)
	}
	if s := fmtAll(id); strings.Contains(s, "AGE-SECRET-KEY") {
		t.Errorf("formatting an Identity leaks the key: %s", s)
	}
}

func TestParseRecipient(t *testing.T) {
	t.Parallel()
	id, _ := Generate()
	if _, err := ParseRecipient(id.Public); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"", "age1", "age1xyz", "ssh-ed25519 AAAA", "bob"} {
		if _, err := ParseRecipient(bad); err == nil {
			t.Errorf("ParseRecipient(%q) succeeded", bad)
		}
	}
	if got := CanonicalRecipient("ssh-ed25519 AAAAC3Nz alice@laptop"); got != "ssh-ed25519 AAAAC3Nz" {
		t.Errorf("CanonicalRecipient = %q", got)
	}
}

func TestKeyFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "sub", "key.txt")
	if err := WriteKeyFile(p, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %o", st.Mode().Perm())
	}
	if st, _ := os.Stat(filepath.Dir(p)); st.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %o", st.Mode().Perm())
	}
	if err := WriteKeyFile(p, []byte("y")); !errors.Is(err, fs.ErrExist) {
		t.Errorf("overwrite: %v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "x" {
		t.Errorf("overwritten: %q", b)
	}
	if _, err := ReadKeyFile(p); err != nil {
		t.Error(err)
	}
	os.Chmod(p, 0o640)
	if _, err := ReadKeyFile(p); !errors.Is(err, ErrUnsafeFile) || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("group-readable: %v", err)
	}
	os.Chmod(p, 0o600)
	link := filepath.Join(dir, "link")
	os.Symlink(p, link)
	if _, err := ReadKeyFile(link); !errors.Is(err, ErrUnsafeFile) {
		t.Errorf("symlink: %v", err)
	}
	if err := WriteKeyFile(link, []byte("z")); err == nil {
		t.Error("WriteKeyFile through a symlink succeeded")
	}
}

func fmtAll(v any) string {
	return fmt.Sprintf("%v %+v %#v %s %q", v, v, v, v, v)
}
