package inject

import (
	"errors"
	"fmt"
	"strings"
)

// refScheme starts a reference to a stored secret: hush://ENV/KEY.
const refScheme = "hush://"

// Ref is a reference to a stored secret, written hush://ENV/KEY as the whole
// value of a variable (in the parent environment or an env file), resolved
// when the child starts so the file holding it carries no secret.
type Ref struct {
	Env string // environment name: [A-Za-z0-9_.-]+
	Key string // secret name: [A-Za-z_][A-Za-z0-9_]*
}

// String is the reference's hush://ENV/KEY form. It is not secret.
func (r Ref) String() string { return refScheme + r.Env + "/" + r.Key }

// Resolver returns the value a reference points to. BuildEnv calls it at most
// once per distinct reference.
type Resolver func(env, key string) (Value, error)

// ErrBadRef is returned for a value that starts with hush:// but is not a
// well-formed hush://ENV/KEY.
var ErrBadRef = errors.New("malformed reference (want hush://ENV/KEY)")

// ParseRef parses a hush://ENV/KEY value. ok is false when s does not start
// with hush://; err is ErrBadRef when it does but is malformed.
func ParseRef(s string) (ref Ref, ok bool, err error) {
	rest, found := strings.CutPrefix(s, refScheme)
	if !found {
		return Ref{}, false, nil
	}
	env, key, found := strings.Cut(rest, "/")
	if !found || !validEnvName(env) || !ValidName(key) {
		return Ref{}, true, ErrBadRef
	}
	return Ref{Env: env, Key: key}, true, nil
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == '-' || c == '.' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// NamedRef is a variable whose value is a reference.
type NamedRef struct {
	Name string
	Ref  Ref
}

// FindRefs lists the references among environ entries ("NAME=value"), in
// order. A malformed reference is an error naming its variable.
func FindRefs(environ []string) ([]NamedRef, error) {
	var refs []NamedRef
	for _, kv := range environ {
		name, v, ok := cut(kv)
		if !ok {
			continue
		}
		ref, isRef, err := ParseRef(v)
		if err != nil {
			return nil, fmt.Errorf("inject: %s: %w", quoteName(name), err)
		}
		if isRef {
			refs = append(refs, NamedRef{Name: name, Ref: ref})
		}
	}
	return refs, nil
}

// FindSecretRefs lists the secrets whose values are references, in order.
func FindSecretRefs(secrets []Secret) ([]NamedRef, error) {
	env := make([]string, len(secrets))
	for i, s := range secrets {
		env[i] = s.Name + "=" + s.Value.s
	}
	return FindRefs(env)
}

// refResolver resolves references once each.
type refResolver struct {
	resolve Resolver
	cache   map[Ref]Value
}

func (r *refResolver) get(name, v string) (Value, error) {
	ref, _, err := ParseRef(v)
	if err != nil {
		return Value{}, fmt.Errorf("inject: %s: %w", quoteName(name), err)
	}
	if val, ok := r.cache[ref]; ok {
		return val, nil
	}
	val, err := r.resolve(ref.Env, ref.Key)
	if err != nil {
		return Value{}, fmt.Errorf("inject: resolve %s for %s: %w", ref, quoteName(name), err)
	}
	r.cache[ref] = val
	return val, nil
}
