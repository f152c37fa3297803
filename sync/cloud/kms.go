package cloud

import (
	"context"
	"errors"
	"fmt"

	"filippo.io/age"

	"github.com/hush-secrets/hush/crypt"
)

// A KeyDriver is a kind of key service the companion serves (aws-kms):
// the file key of a store with a KMS recipient wrapped and unwrapped there
// (crypt/kms.go). Check refuses a key hush cannot use, before its first
// wrap.
type KeyDriver interface {
	crypt.KeyService
	Check(ctx context.Context, key string) error
}

// KeyService is a crypt.KeyService reached through the companion: hush
// links no KMS SDK.
type KeyService struct {
	// Open gives the command's companion, started on first use.
	Open func() (*Client, error)
	// Kind names the key driver (crypt.KindAWSKMS).
	Kind string

	checked map[string]bool
}

var _ crypt.KeyService = (*KeyService)(nil)

// Wrap implements crypt.KeyService; the key is checked once first.
func (k *KeyService) Wrap(ctx context.Context, key string, kctx crypt.KeyContext, fileKey []byte) ([]byte, error) {
	c, err := k.Open()
	if err != nil {
		return nil, err
	}
	if !k.checked[key] {
		if _, err := c.call(ctx, &request{Op: "kms-check", Kind: k.Kind, Key: key}); err != nil {
			return nil, err
		}
		if k.checked == nil {
			k.checked = map[string]bool{}
		}
		k.checked[key] = true
	}
	res, err := c.call(ctx, &request{Op: "kms-wrap", Kind: k.Kind, Key: key, KeyContext: &kctx, Data: fileKey})
	if err != nil {
		return nil, err
	}
	return res.Value, nil
}

// Unwrap implements crypt.KeyService.
func (k *KeyService) Unwrap(ctx context.Context, key string, kctx crypt.KeyContext, wrapped []byte) ([]byte, error) {
	c, err := k.Open()
	if err != nil {
		return nil, err
	}
	res, err := c.call(ctx, &request{Op: "kms-unwrap", Kind: k.Kind, Key: key, KeyContext: &kctx, Data: wrapped})
	if err != nil {
		return nil, err
	}
	return res.Value, nil
}

// answerKMS is the companion's side of a kms-* request.
func answerKMS(ctx context.Context, keys map[string]KeyDriver, req *request) *response {
	fail := func(err error) *response { return &response{Error: toWireError(err)} }
	d, ok := keys[req.Kind]
	if !ok {
		return fail(fmt.Errorf("%w: %s serves no key service %q: install hush and %s from the same version", crypt.ErrKeyService, Companion, req.Kind, Companion))
	}
	if req.Key == "" {
		return fail(errors.New(Companion + ": a key request without a key"))
	}
	if req.Op == "kms-check" {
		if err := d.Check(ctx, req.Key); err != nil {
			return fail(err)
		}
		return &response{}
	}
	if req.KeyContext == nil || req.KeyContext.Project == "" || req.KeyContext.Env == "" {
		// Every wrap names its project and environment: a context left
		// empty would let one store's stanza open another's.
		return fail(errors.New(Companion + ": a key request without its project and environment"))
	}
	var v []byte
	var err error
	switch req.Op {
	case "kms-wrap":
		v, err = d.Wrap(ctx, req.Key, *req.KeyContext, req.Data)
	case "kms-unwrap":
		v, err = d.Unwrap(ctx, req.Key, *req.KeyContext, req.Data)
	default:
		return fail(fmt.Errorf("%s: unknown request %q", Companion, req.Op))
	}
	if err != nil {
		return fail(err)
	}
	return &response{Value: v}
}

// ageIncorrect keeps age.ErrIncorrectIdentity's kind across the wire: a
// stanza of another environment is "not for this identity" (exit 4), not
// a service failure.
var ageIncorrect = age.ErrIncorrectIdentity
