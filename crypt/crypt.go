// Package crypt is hush's only door to cryptography: it finds the user's age
// identity (environment, keyring, file, SSH key), parses recipients, and
// encrypts or decrypts byte slices. It knows nothing of projects or secrets and
// imports no other package of hush.
package crypt

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"filippo.io/age"
	"filippo.io/age/armor"
)

var (
	// ErrNoIdentity means no identity at hand can decrypt a file, or no
	// identity was found at all.
	ErrNoIdentity = errors.New("no identity can decrypt")
	// ErrIntegrity means the ciphertext is corrupt, truncated, tampered with
	// or not an age file.
	ErrIntegrity = errors.New("integrity check failed")
)

// MaxCiphertext bounds what Decrypt accepts, so a hostile or corrupt file
// cannot exhaust memory. Stores are far smaller: 10,000 secrets of 1 KiB
// each are about 14 MiB armored.
const MaxCiphertext = 256 << 20

const armorHeader = "-----BEGIN AGE ENCRYPTED FILE-----"

// Encrypt encrypts plaintext to every recipient and returns an ASCII-armored
// age file, which the stock age tool reads and git diffs as text.
func Encrypt(plaintext []byte, recipients ...age.Recipient) ([]byte, error) {
	if len(recipients) == 0 {
		return nil, errors.New("encrypt: no recipients")
	}
	for _, r := range recipients {
		if r == nil {
			// An identity without a recipient of its own (a key
			// service's) asked to encrypt to itself.
			return nil, fmt.Errorf("%w: encrypt: this identity has no age recipient (a key service's identity has no personal files)", ErrNoIdentity)
		}
	}
	var buf bytes.Buffer
	buf.Grow(len(plaintext)*4/3 + 512)
	aw := armor.NewWriter(&buf)
	w, err := age.Encrypt(aw, recipients...)
	if err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	if _, err := w.Write(plaintext); err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	if err := aw.Close(); err != nil {
		return nil, fmt.Errorf("encrypt: %w", err)
	}
	return buf.Bytes(), nil
}

// Decrypt decrypts an armored or binary age file. It is all or nothing: the
// whole payload is authenticated before any plaintext is returned, and
// trailing data after the armor is refused. Errors wrap ErrNoIdentity when
// none of identities is a recipient of the file, and ErrIntegrity for
// anything wrong with the file itself.
func Decrypt(ciphertext []byte, identities ...age.Identity) ([]byte, error) {
	r, size, err := open(ciphertext, identities)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.Grow(size + bytes.MinRead) // one allocation: ReadFrom wants MinRead spare
	if _, err := buf.ReadFrom(r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrIntegrity, err)
	}
	return buf.Bytes(), nil
}

// DecryptString is Decrypt for a caller that wants the plaintext as a
// string, as the store's document decoder does: converting Decrypt's
// bytes would copy the whole plaintext once more, into memory a fresh
// process must fault in page by page.
func DecryptString(ciphertext []byte, identities ...age.Identity) (string, error) {
	r, size, err := open(ciphertext, identities)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.Grow(size)
	// Through a page-sized buffer: io.Copy's would be eight fresh pages.
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		b.Write(buf[:n])
		if err == io.EOF {
			return b.String(), nil
		}
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrIntegrity, err)
		}
	}
}

// open unwraps the file key and returns a reader of the payload, which
// authenticates each chunk as it is read, and an upper bound of the
// payload's size (the binary file's: header and tags only add).
func open(ciphertext []byte, identities []age.Identity) (io.Reader, int, error) {
	if len(identities) == 0 {
		return nil, 0, ErrNoIdentity
	}
	if len(ciphertext) > MaxCiphertext {
		return nil, 0, fmt.Errorf("%w: file larger than %d bytes", ErrIntegrity, MaxCiphertext)
	}
	var in io.Reader = bytes.NewReader(ciphertext)
	size := len(ciphertext)
	if bytes.HasPrefix(bytes.TrimLeft(ciphertext, " \t\r\n"), []byte(armorHeader)) {
		if body, err := checkArmor(ciphertext); err == nil {
			in, size = &armorBody{rest: body}, len(body)/4*3
		} else {
			in = armor.NewReader(in)
		}
	}
	r, err := age.Decrypt(in, identities...)
	if err != nil {
		var kerr *kmsError
		if errors.As(err, &kerr) {
			return nil, 0, kerr
		}
		var nomatch *age.NoIdentityMatchError
		if errors.As(err, &nomatch) {
			// A key service's refusal says more than age's summary.
			for _, e := range nomatch.Errors {
				if e.Error() != age.ErrIncorrectIdentity.Error() && strings.Contains(e.Error(), "did not decrypt") {
					return nil, 0, fmt.Errorf("%w: %v", ErrNoIdentity, e)
				}
			}
			return nil, 0, fmt.Errorf("%w: %v", ErrNoIdentity, err)
		}
		return nil, 0, fmt.Errorf("%w: %v", ErrIntegrity, err)
	}
	return r, size, nil
}
