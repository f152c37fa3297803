package crypt

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"golang.org/x/crypto/ssh"
)

// Identity is the user's secret key together with its public recipient and
// a description of where it was found ("keyring", "HUSH_IDENTITY", a path…).
type Identity struct {
	age.Identity
	Recipient age.Recipient
	// Public is the recipient in text form: "age1…" or an SSH public key line.
	Public string
	// Source says where the identity came from, for `hush whoami` and notes.
	Source string
	// secret is the identity in age-keygen form, kept only for identities
	// hush generated or parsed from text, so they can be stored.
	secret string
	// material is the secret key's text (age or SSH), for DeriveKey.
	material []byte
	// KMS is the user's access to key services (kms.go), nil for none:
	// stores with a KMS recipient are read and written through it.
	KMS *KMS
}

// DeriveKey returns a 32-byte key bound to this identity and to purpose,
// for keyed hashes that must not be guessable by anyone without the
// identity (the git diff driver's value hashes). It is HMAC-SHA256 keyed
// with a hash of the secret key, so the key itself never leaves memory.
func (id *Identity) DeriveKey(purpose string) ([]byte, error) {
	if len(id.material) == 0 {
		return nil, errors.New("this identity cannot derive keys")
	}
	k := sha256.Sum256(append([]byte("hush derived key v1\x00"), id.material...))
	m := hmac.New(sha256.New, k[:])
	m.Write([]byte(purpose))
	return m.Sum(nil), nil
}

// String never prints the secret key.
func (id *Identity) String() string { return id.Public }

// GoString never prints the secret key.
func (id *Identity) GoString() string { return "crypt.Identity{" + id.Public + "}" }

// SecretText is the identity in age-keygen's file format. It is only
// available for X25519 identities hush generated or parsed from text.
func (id *Identity) SecretText() string { return id.secret }

// Generate makes a new X25519 identity.
func Generate() (*Identity, error) {
	x, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, fmt.Errorf("generate identity: %w", err)
	}
	return fromX25519(x, "generated"), nil
}

func fromX25519(x *age.X25519Identity, source string) *Identity {
	return &Identity{Identity: x, Recipient: x.Recipient(), Public: x.Recipient().String(), Source: source, secret: x.String(), material: []byte(x.String())}
}

// FormatKeyFile renders an identity the way age-keygen writes it, so the
// stock age tool reads hush's key files.
func FormatKeyFile(id *Identity, now time.Time) string {
	return fmt.Sprintf("# created: %s\n# public key: %s\n%s\n", now.UTC().Format(time.RFC3339), id.Public, id.secret)
}

// ParseIdentity reads an identity from text: an age-keygen file (comments
// allowed, the first key is used), a bare AGE-SECRET-KEY-1… line, or an
// unencrypted OpenSSH ed25519/RSA private key. Errors never quote the input.
func ParseIdentity(text []byte, source string) (*Identity, error) {
	trimmed := bytes.TrimSpace(text)
	if bytes.HasPrefix(trimmed, []byte("-----BEGIN")) {
		sid, err := agessh.ParseIdentity(trimmed)
		if err != nil {
			var pm *ssh.PassphraseMissingError
			if errors.As(err, &pm) {
				return nil, fmt.Errorf("%s: SSH key is passphrase-protected; hush cannot prompt for it", source)
			}
			return nil, fmt.Errorf("%s: not a usable SSH private key", source)
		}
		id := &Identity{Identity: sid, Source: source, material: append([]byte(nil), trimmed...)}
		switch k := sid.(type) {
		case *agessh.Ed25519Identity:
			id.Recipient = k.Recipient()
		case *agessh.RSAIdentity:
			id.Recipient = k.Recipient()
		}
		if id.Recipient == nil {
			return nil, fmt.Errorf("%s: unsupported SSH key type", source)
		}
		if signer, err := ssh.ParsePrivateKey(trimmed); err == nil {
			id.Public = CanonicalRecipient(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
		}
		return id, nil
	}
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		x, err := age.ParseX25519Identity(line)
		if err != nil {
			// Do not wrap err: age's message is safe, but a parse error of
			// arbitrary text is not worth the risk of quoting it.
			return nil, fmt.Errorf("%s: not an age identity (expected AGE-SECRET-KEY-1…)", source)
		}
		return fromX25519(x, source), nil
	}
	return nil, fmt.Errorf("%s: no identity found", source)
}

// ParseRecipient parses an age1… recipient or an ssh-ed25519/ssh-rsa public
// key line (an authorized_keys line, comment allowed).
func ParseRecipient(s string) (age.Recipient, error) {
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, "age1pq1"):
		r, err := age.ParseHybridRecipient(s)
		if err != nil {
			return nil, fmt.Errorf("invalid recipient %q: %v", short(s), err)
		}
		return r, nil
	case strings.HasPrefix(s, "age1"):
		r, err := age.ParseX25519Recipient(s)
		if err != nil {
			return nil, fmt.Errorf("invalid recipient %q: %v", short(s), err)
		}
		return r, nil
	case IsKMS(s):
		kind, key, err := ParseKMS(s)
		if err != nil {
			return nil, err
		}
		return unbound{kind, key}, nil
	case strings.HasPrefix(s, "ssh-"):
		r, err := agessh.ParseRecipient(s)
		if err != nil {
			return nil, fmt.Errorf("invalid SSH recipient %q: %v", short(s), err)
		}
		return r, nil
	}
	return nil, fmt.Errorf("invalid recipient %q: expected age1…, an ssh-ed25519/ssh-rsa public key, vault-transit:KEY or aws-kms:KEY", short(s))
}

// CanonicalRecipient returns the stable text form of a recipient: age keys
// as they are, SSH keys without their trailing comment.
func CanonicalRecipient(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "ssh-") {
		if f := strings.Fields(s); len(f) >= 2 {
			return f[0] + " " + f[1]
		}
	}
	return s
}

// Fingerprint is a short, stable name for a recipient, for listings and the
// audit log: "age1abc…wxyz" for age keys, "SHA256:…" prefix for SSH keys.
func Fingerprint(public string) string {
	c := CanonicalRecipient(public)
	if strings.HasPrefix(c, "ssh-") {
		sum := sha256.Sum256([]byte(c))
		return "ssh:" + hex.EncodeToString(sum[:8])
	}
	if IsKMS(c) {
		return c // a key's name, whole: vault-transit:prod and vault-transit:prod2 are two keys
	}
	return short(c)
}

func short(s string) string {
	if len(s) <= 20 {
		return s
	}
	return s[:12] + "…" + s[len(s)-6:]
}
