package crypt

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
)

// KeyringUser is the item name of the identity in the OS keyring.
const KeyringUser = "identity"

// IdentityFileName is the identity file under hush's config directory.
const IdentityFileName = "identity.txt"

// IdentityEnv are the environment variables Find reads the identity from.
// They must never reach a program hush starts: hush run hides them from
// the child.
var IdentityEnv = []string{"HUSH_IDENTITY", "HUSH_IDENTITY_FILE"}

// Lookup describes where Find looks for the user's identity.
type Lookup struct {
	// Getenv reads the environment (HUSH_IDENTITY, HUSH_IDENTITY_FILE).
	Getenv func(string) string
	// Keyring is the OS keyring; nil skips it.
	Keyring Keyring
	// ConfigDir is hush's config directory ($XDG_CONFIG_HOME/hush).
	ConfigDir string
	// SSHKeys are private key paths to try last (empty: SSH not allowed).
	SSHKeys []string
	// Note receives one-line remarks about sources that were skipped
	// ("keyring unavailable: …"). May be nil.
	Note func(string)
}

// IdentityFile is the path of the fallback identity file.
func (l *Lookup) IdentityFile() string { return filepath.Join(l.ConfigDir, IdentityFileName) }

func (l *Lookup) note(format string, args ...any) {
	if l.Note != nil {
		l.Note(fmt.Sprintf(format, args...))
	}
}

// Find returns the first identity in DESIGN.md's order: HUSH_IDENTITY,
// HUSH_IDENTITY_FILE, the OS keyring, the identity file, SSH keys. An
// explicitly named source that is broken is an error, never a fall-through:
// a user who set HUSH_IDENTITY_FILE wants that file or a clear failure. When
// nothing is found the error wraps ErrNoIdentity.
func (l *Lookup) Find() (*Identity, error) {
	if v := l.Getenv("HUSH_IDENTITY"); v != "" {
		return ParseIdentity([]byte(v), "HUSH_IDENTITY")
	}
	if p := l.Getenv("HUSH_IDENTITY_FILE"); p != "" {
		b, err := ReadKeyFile(p)
		if err != nil {
			return nil, fmt.Errorf("HUSH_IDENTITY_FILE: %w", err)
		}
		return l.parseKeyFile(b, p)
	}
	if l.Keyring != nil {
		s, err := l.Keyring.Get(KeyringService, KeyringUser)
		switch {
		case err == nil:
			return ParseIdentity([]byte(s), "keyring")
		case errors.Is(err, ErrKeyringNotFound):
		default:
			l.note("%v; trying the identity file", err)
		}
	}
	if l.ConfigDir != "" {
		b, err := ReadKeyFile(l.IdentityFile())
		switch {
		case err == nil:
			return l.parseKeyFile(b, l.IdentityFile())
		case !errors.Is(err, fs.ErrNotExist):
			return nil, err
		}
	}
	for _, p := range l.SSHKeys {
		b, err := ReadKeyFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			l.note("skipping SSH key: %v", err)
			continue
		}
		id, err := ParseIdentity(b, p)
		if err != nil {
			l.note("skipping SSH key: %v", err)
			continue
		}
		return id, nil
	}
	return nil, fmt.Errorf("%w: no identity found", ErrNoIdentity)
}

// parseKeyFile parses a key file, unsealing a TPM-sealed one in the TPM
// (HUSH_TPM names it: a device or swtpm's unix socket; /dev/tpmrm0 when
// unset).
func (l *Lookup) parseKeyFile(b []byte, source string) (*Identity, error) {
	if !IsSealed(b) {
		return ParseIdentity(b, source)
	}
	t, err := OpenTPM(l.Getenv("HUSH_TPM"))
	if err != nil {
		return nil, fmt.Errorf("%w: %s is sealed to a TPM, and %v", ErrNoIdentity, source, err)
	}
	defer t.Close()
	id, err := Unseal(t, b, source)
	if err != nil {
		return nil, err
	}
	id.secret = "" // never stored again in the clear
	return id, nil
}

// Store saves a new identity where Find will see it: in the keyring when it
// answers, else in the identity file. It returns a description of where the
// identity went.
func (l *Lookup) Store(id *Identity) (string, error) {
	if id.secret == "" {
		return "", errors.New("only X25519 identities can be stored")
	}
	if l.Keyring != nil {
		err := l.Keyring.Set(KeyringService, KeyringUser, id.secret)
		if err == nil {
			// Read it back: some Secret Service setups accept a write and
			// then cannot return it (a locked collection).
			if got, err := l.Keyring.Get(KeyringService, KeyringUser); err == nil && got == id.secret {
				return "the OS keyring", nil
			}
			l.note("the keyring accepted the identity but did not return it; using the identity file")
		} else {
			l.note("%v; using the identity file", err)
		}
	}
	if l.ConfigDir == "" {
		return "", errors.New("no keyring and no config directory to keep an identity in")
	}
	if err := WriteKeyFile(l.IdentityFile(), []byte(FormatKeyFile(id, nowFunc()))); err != nil {
		return "", err
	}
	return l.IdentityFile(), nil
}
