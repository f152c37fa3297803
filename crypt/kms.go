package crypt

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"filippo.io/age"
)

// Keys held by a key management service (Vault transit, AWS KMS) as
// recipients. A store is age-encrypted as always; a KMS recipient wraps
// the file key by asking the service to encrypt it, under a context that
// names the project and the environment, and the matching identity asks the
// service to decrypt it under the context the reader computes itself. So a
// machine with the service's decrypt right and no age key reads the
// environment, and a wrapped key copied into another environment or
// project does not decrypt there.
//
// The stanza names only the kind and the key; where the service is (the
// Vault address, the AWS region and endpoint) and how hush logs in come
// from the user's environment and acknowledged configuration, never from
// the repository's file. Which keys a reader asks about is the caller's
// list (the environment's acknowledged recipients), not the stanzas'.

// KMSStanza is the age stanza type of a file key wrapped by a key service:
// args [kind, key], body the service's ciphertext.
const KMSStanza = "hush-kms"

// Kinds of key service a recipient can name, as its prefix
// ("vault-transit:KEY", "aws-kms:KEY").
const (
	KindVaultTransit = "vault-transit"
	KindAWSKMS       = "aws-kms"
)

// ErrKeyService means a key service was needed and is not configured or
// not reachable (exit 8, as a remote that is unavailable).
var ErrKeyService = errors.New("key service unavailable")

// KeyService wraps and unwraps file keys with keys it holds.
type KeyService interface {
	// Wrap encrypts fileKey under key bound to kctx and returns the
	// ciphertext as the service writes it.
	Wrap(ctx context.Context, key string, kctx KeyContext, fileKey []byte) ([]byte, error)
	// Unwrap decrypts wrapped under key and kctx. A ciphertext that does
	// not decrypt under this key and context (another environment's) is an
	// error wrapping age.ErrIncorrectIdentity; a service that refuses or
	// does not answer is any other error.
	Unwrap(ctx context.Context, key string, kctx KeyContext, wrapped []byte) ([]byte, error)
}

// KMS is the user's access to key services, for one project.
type KMS struct {
	// Services are the configured services by kind; a kind missing is one
	// this user has no access to.
	Services map[string]KeyService
	// Project is the project id every context names.
	Project string
	// Ctx bounds every request.
	Ctx context.Context
	// Audit, when set, is told of every wrap and unwrap the service was
	// asked for (op "wrap" or "unwrap"); its error fails the operation.
	Audit func(op, env, recipient string, err error) error
}

// kmsKeyRE is what a key may be: a Vault key name with an optional mount
// before it (transit/prod, a/b/prod), an AWS key id, alias or ARN; at most
// maxKMSKey bytes. The length is checked apart: a bounded repeat ({0,255})
// compiles to 255 copies of the class, a millisecond of every command's
// start-up.
var kmsKeyRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:/+=@-]*$`)

const maxKMSKey = 256

// IsKMS says s names a key-service recipient (by its prefix).
func IsKMS(s string) bool {
	s = strings.TrimSpace(s)
	return strings.HasPrefix(s, KindVaultTransit+":") || strings.HasPrefix(s, KindAWSKMS+":")
}

// ParseKMS splits a KMS recipient into its kind and key, checking both.
func ParseKMS(s string) (kind, key string, err error) {
	kind, key, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || (kind != KindVaultTransit && kind != KindAWSKMS) {
		return "", "", fmt.Errorf("invalid recipient %q: expected vault-transit:KEY or aws-kms:KEY", short(s))
	}
	if len(key) > maxKMSKey || !kmsKeyRE.MatchString(key) || strings.Contains(key, "//") || strings.Contains(key, "..") {
		return "", "", fmt.Errorf("invalid %s key %q", kind, short(key))
	}
	if kind == KindVaultTransit && strings.HasSuffix(key, "/") {
		return "", "", fmt.Errorf("invalid %s key %q", kind, short(key))
	}
	return kind, key, nil
}

// KeyContext is what a file key is wrapped under: what binds a wrapped
// key to one environment of one project. The reader computes it; it is
// never read from the file.
type KeyContext struct{ Project, Env string }

// Bytes is the context as one byte string (Vault transit's derivation
// context).
func (c KeyContext) Bytes() []byte {
	return []byte("hush file key v1\x00project=" + c.Project + "\x00env=" + c.Env)
}

// Map is the context as key-value pairs (AWS KMS's encryption context,
// which CloudTrail logs with each request).
func (c KeyContext) Map() map[string]string {
	return map[string]string{"hush": "file key v1", "hush:project": c.Project, "hush:env": c.Env}
}

// unbound is a KMS recipient parsed without access to its service: it
// validates a recipient list, and cannot encrypt.
type unbound struct{ kind, key string }

func (u unbound) Wrap([]byte) ([]*age.Stanza, error) {
	return nil, fmt.Errorf("%w: encrypting to %s:%s needs access to the key service", ErrKeyService, u.kind, u.key)
}

// Recipient is the KMS recipient s (vault-transit:KEY…) for a store of env.
// It fails with ErrKeyService when this user has no access to the kind.
func (k *KMS) Recipient(s, env string) (age.Recipient, error) {
	kind, key, err := ParseKMS(s)
	if err != nil {
		return nil, err
	}
	if k == nil || k.Services[kind] == nil {
		return nil, fmt.Errorf("%w: environment %s is encrypted to %s:%s, and writing it asks that service to wrap the file key: configure %s", ErrKeyService, env, kind, key, setupHint(kind))
	}
	if k.Project == "" {
		return nil, fmt.Errorf("%w: environment %s has a KMS recipient and the project has no id in .hush/hush.yaml", ErrKeyService, env)
	}
	return &kmsRecipient{k: k, kind: kind, key: key, env: env}, nil
}

func setupHint(kind string) string {
	if kind == KindAWSKMS {
		return "AWS credentials (the default chain, AWS_REGION) and hush-cloud"
	}
	return "Vault (VAULT_ADDR and a login, or hush.yaml's vault: section)"
}

type kmsRecipient struct {
	k              *KMS
	kind, key, env string
}

func (r *kmsRecipient) Wrap(fileKey []byte) ([]*age.Stanza, error) {
	name := r.kind + ":" + r.key
	ct, err := r.k.Services[r.kind].Wrap(r.k.ctx(), r.key, KeyContext{r.k.Project, r.env}, fileKey)
	if aerr := r.k.audit("wrap", r.env, name, err); aerr != nil && err == nil {
		err = aerr
	}
	if err != nil {
		return nil, &kmsError{fmt.Errorf("%s: wrap the file key of %s: %w", name, r.env, err)}
	}
	return []*age.Stanza{{Type: KMSStanza, Args: []string{r.kind, r.key}, Body: ct}}, nil
}

func (k *KMS) ctx() context.Context {
	if k.Ctx == nil {
		return context.Background()
	}
	return k.Ctx
}

func (k *KMS) audit(op, env, name string, err error) error {
	if k.Audit == nil {
		return nil
	}
	return k.Audit(op, env, name, err)
}

// Identity is the identity that unwraps env's file key through the
// services, asking only about keys, the recipients this user accepts for
// env (KMS ones among them; others are ignored), each at most once. Nil
// when there is nothing to ask.
func (k *KMS) Identity(env string, keys []string) age.Identity {
	if k == nil || k.Project == "" || env == "" {
		return nil
	}
	id := &kmsIdentity{k: k, env: env}
	for _, s := range keys {
		kind, key, err := ParseKMS(s)
		if err != nil || k.Services[kind] == nil {
			continue
		}
		if n := kind + ":" + key; !slices.Contains(id.allowed, n) {
			id.allowed = append(id.allowed, n)
		}
	}
	if len(id.allowed) == 0 {
		return nil
	}
	return id
}

type kmsIdentity struct {
	k       *KMS
	env     string
	allowed []string
}

// Unwrap tries the stanzas of allowed keys, one request per key. A stanza
// naming a key not allowed is never sent anywhere.
func (i *kmsIdentity) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	tried := map[string]bool{}
	var misses []string
	for _, s := range stanzas {
		if s.Type != KMSStanza || len(s.Args) != 2 || len(s.Body) == 0 || len(s.Body) > 8192 {
			continue
		}
		name := s.Args[0] + ":" + s.Args[1]
		if !slices.Contains(i.allowed, name) || tried[name] {
			continue
		}
		tried[name] = true
		kind, key := s.Args[0], s.Args[1]
		fk, err := i.k.Services[kind].Unwrap(i.k.ctx(), key, KeyContext{i.k.Project, i.env}, s.Body)
		if err == nil && len(fk) != 16 {
			err = fmt.Errorf("%w: %s returned a %d-byte file key", age.ErrIncorrectIdentity, name, len(fk))
		}
		if aerr := i.k.audit("unwrap", i.env, name, err); aerr != nil {
			return nil, &kmsError{aerr}
		}
		if errors.Is(err, age.ErrIncorrectIdentity) {
			misses = append(misses, name)
			continue
		}
		if err != nil {
			return nil, &kmsError{fmt.Errorf("%s: unwrap the file key of %s: %w", name, i.env, err)}
		}
		return fk, nil
	}
	if len(misses) > 0 {
		return nil, fmt.Errorf("%w: %s did not decrypt the file key under this project's and environment's context (was the store copied from another environment or project?)",
			age.ErrIncorrectIdentity, strings.Join(misses, ", "))
	}
	return nil, age.ErrIncorrectIdentity
}

// kmsError is a key service's failure in a wrap or unwrap: it reaches the
// caller as itself (ErrKeyService or the service's own kind, exit 8), not
// as a damaged file.
type kmsError struct{ err error }

func (e *kmsError) Error() string { return e.err.Error() }
func (e *kmsError) Unwrap() error { return e.err }

// noAge is the age identity of a user with no age key: it matches nothing.
type noAge struct{}

func (noAge) Unwrap([]*age.Stanza) ([]byte, error) { return nil, age.ErrIncorrectIdentity }

// KMSOnly is the identity of a machine with key-service access and no age
// key: it reads environments with a KMS recipient it may use and nothing
// else, and has no personal store. public names it in audit lines.
func KMSOnly(k *KMS, public string) *Identity {
	return &Identity{Identity: noAge{}, Public: public, Source: "key service", KMS: k}
}

// Identities are the age identities that may decrypt a store of env: the
// user's own key, then the key services for the KMS recipients among keys.
func (id *Identity) Identities(env string, keys []string) []age.Identity {
	ki := id.KMS.Identity(env, keys)
	if _, none := id.Identity.(noAge); none && ki != nil {
		return []age.Identity{ki}
	}
	out := []age.Identity{id.Identity}
	if ki != nil {
		out = append(out, ki)
	}
	return out
}
