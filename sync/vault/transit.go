package vault

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"path"
	"strings"
	gosync "sync"

	"filippo.io/age"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/store"
)

// Transit is a crypt.KeyService on Vault's transit engine: a store's file
// key is encrypted with a derived key (transit/keys/NAME with
// derived=true) under hush's context for the project and environment, and
// decrypted under the context the reader computes. A key that is not
// derived ignores the context — a wrapped key copied into another
// environment would decrypt there — so it is refused, for wrapping and
// unwrapping alike.
//
// The recipient's key is "NAME" (mount "transit") or "MOUNT/NAME". The
// address and the login are the Vault backend's (--address, VAULT_ADDR,
// hush.yaml's acknowledged vault: section; VAULT_TOKEN or the configured
// login), never the repository's file.
type Transit struct {
	// Open returns the Vault to talk to, logged in on first use.
	Open func() (*Vault, error)

	mu      gosync.Mutex
	v       *Vault
	derived map[string]bool
}

var _ crypt.KeyService = (*Transit)(nil)

// splitKey is the mount and the key name of a transit recipient's key.
func splitKey(key string) (mount, name string, err error) {
	mount, name = "transit", key
	if i := strings.LastIndex(key, "/"); i >= 0 {
		mount, name = key[:i], key[i+1:]
	}
	if name == "" || mount == "" || !cleanPath(mount) || strings.ContainsAny(name, ":/+=@") {
		return "", "", fmt.Errorf("%w: %q is not a transit key (NAME or MOUNT/NAME)", store.ErrInvalid, key)
	}
	return mount, name, nil
}

func (t *Transit) vault() (*Vault, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.v != nil {
		return t.v, nil
	}
	v, err := t.Open()
	if err != nil {
		return nil, err
	}
	t.v = v
	return v, nil
}

// Vault is the backend opened, nil before the first wrap or unwrap (for
// closing its login).
func (t *Transit) Vault() *Vault {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.v
}

// checkDerived refuses a key whose context is ignored. Reading
// MOUNT/keys/NAME needs the read capability there; it returns the key's
// settings, never its material.
func (t *Transit) checkDerived(ctx context.Context, v *Vault, mount, name string) error {
	p := path.Join(mount, "keys", name)
	t.mu.Lock()
	ok := t.derived[p]
	t.mu.Unlock()
	if ok {
		return nil
	}
	data, err := v.ReadPath(ctx, p)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("vault transit key %s: %w at %s (make it with: vault write -f %s derived=true)", p, store.ErrNotFound, v.Address(), p)
	}
	if err != nil {
		return fmt.Errorf("%w (hush reads the key's settings to check it is derived: grant read on %s)", err, p)
	}
	if d, _ := data["derived"].(bool); !d {
		return fmt.Errorf("%w: vault transit key %s is not derived, so Vault ignores the context that binds a file key to its project and environment; use a derived key (vault write -f %s_hush derived=true) and name it in hush.yaml",
			store.ErrInvalid, p, path.Join(mount, "keys", name))
	}
	t.mu.Lock()
	if t.derived == nil {
		t.derived = map[string]bool{}
	}
	t.derived[p] = true
	t.mu.Unlock()
	return nil
}

// Wrap encrypts fileKey with MOUNT/encrypt/NAME under kctx.
func (t *Transit) Wrap(ctx context.Context, key string, kctx crypt.KeyContext, fileKey []byte) ([]byte, error) {
	mount, name, err := splitKey(key)
	if err != nil {
		return nil, err
	}
	v, err := t.vault()
	if err != nil {
		return nil, err
	}
	if err := t.checkDerived(ctx, v, mount, name); err != nil {
		return nil, err
	}
	data, err := v.WritePath(ctx, path.Join(mount, "encrypt", name), map[string]any{
		"plaintext": base64.StdEncoding.EncodeToString(fileKey),
		"context":   base64.StdEncoding.EncodeToString(kctx.Bytes()),
	})
	if err != nil {
		return nil, err
	}
	ct, _ := data["ciphertext"].(string)
	if !strings.HasPrefix(ct, "vault:v") {
		return nil, fmt.Errorf("vault: %s/encrypt/%s answered no ciphertext", mount, name)
	}
	return []byte(ct), nil
}

// Unwrap decrypts wrapped with MOUNT/decrypt/NAME under kctx. Vault's
// "message authentication failed" (another context, another key) is
// age.ErrIncorrectIdentity: the stanza is not for this store.
func (t *Transit) Unwrap(ctx context.Context, key string, kctx crypt.KeyContext, wrapped []byte) ([]byte, error) {
	mount, name, err := splitKey(key)
	if err != nil {
		return nil, err
	}
	ct := string(wrapped)
	if !strings.HasPrefix(ct, "vault:v") || strings.ContainsAny(ct, " \r\n\t") {
		return nil, fmt.Errorf("%w: not a transit ciphertext", age.ErrIncorrectIdentity)
	}
	v, err := t.vault()
	if err != nil {
		return nil, err
	}
	if err := t.checkDerived(ctx, v, mount, name); err != nil {
		return nil, err
	}
	if err := v.login(ctx); err != nil {
		return nil, err
	}
	p := path.Join(mount, "decrypt", name)
	sec, err := v.client.write(ctx, p, map[string]any{
		"ciphertext": ct,
		"context":    base64.StdEncoding.EncodeToString(kctx.Bytes()),
	})
	if err != nil {
		var re *apiError
		if errors.As(err, &re) && re.StatusCode == 400 {
			return nil, fmt.Errorf("%w: %s refused the ciphertext (%s)", age.ErrIncorrectIdentity, p, strings.Join(flatten(re.Errors), "; "))
		}
		return nil, v.wrap("write", p, err)
	}
	var pt string
	if sec != nil {
		pt, _ = sec.Data["plaintext"].(string)
	}
	fk, err := base64.StdEncoding.DecodeString(pt)
	if err != nil || len(fk) == 0 {
		return nil, fmt.Errorf("%w: %s answered no plaintext", age.ErrIncorrectIdentity, p)
	}
	return fk, nil
}
