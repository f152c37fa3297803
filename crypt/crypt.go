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
	if len(identities) == 0 {
		return nil, ErrNoIdentity
	}
	if len(ciphertext) > MaxCiphertext {
		return nil, fmt.Errorf("%w: file larger than %d bytes", ErrIntegrity, MaxCiphertext)
	}
	var in io.Reader = bytes.NewReader(ciphertext)
	if bytes.HasPrefix(bytes.TrimLeft(ciphertext, " \t\r\n"), []byte(armorHeader)) {
		if bin, err := dearmor(ciphertext); err == nil {
			in = bytes.NewReader(bin)
		} else {
			in = armor.NewReader(in)
		}
	}
	r, err := age.Decrypt(in, identities...)
	if err != nil {
		var nomatch *age.NoIdentityMatchError
		if errors.As(err, &nomatch) {
			return nil, fmt.Errorf("%w: %v", ErrNoIdentity, err)
		}
		return nil, fmt.Errorf("%w: %v", ErrIntegrity, err)
	}
	// The plaintext is smaller than the ciphertext (armor and per-chunk
	// tags only add), so one allocation holds it.
	var buf bytes.Buffer
	buf.Grow(len(ciphertext) + 512)
	if _, err := buf.ReadFrom(r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrIntegrity, err)
	}
	return buf.Bytes(), nil
}
