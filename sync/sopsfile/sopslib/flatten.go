package sopslib

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/stores"

	"github.com/hush-secrets/hush/store"
)

// The mapping from a SOPS tree to names, which Decrypt applies and
// Encrypt's output keeps:
//
//  1. A top-level key holding a scalar whose text is already a valid name
//     ([A-Za-z_][A-Za-z0-9_]*) is the name, exactly, case kept. This is the
//     whole mapping for files hush writes, which makes it reversible:
//     hush → SOPS → hush gives back every name and value unchanged.
//  2. Any other leaf is named by its path: each mapping key upper-cased
//     with '-' and '.' turned into '_', each list index in decimal, joined
//     by '_': db: {password: x} → DB_PASSWORD; hosts: [a, b] → HOSTS_0,
//     HOSTS_1; db-main: {user.name: x} → DB_MAIN_USER_NAME. The keys of an
//     INI file's DEFAULT section count as top-level keys; other sections are
//     the first key of the path ([db] password=x → DB_PASSWORD).
//  3. A key with any other character (a space, '$', a non-ASCII letter), an
//     empty key, or a path whose name would start with a digit cannot be
//     mapped: the file is refused, naming the key's path.
//  4. Two paths that map to the same name (DB_PASSWORD: and db: {password:},
//     or db: and DB:) are a collision: the file is refused, naming both.
//  5. Values: strings as they are (sops' dotenv keeps quotes, '#' and
//     everything after the first '=', and turns \n into a newline, as sops
//     decrypt does); numbers and booleans as sops decrypt --extract prints
//     them in that format; null is refused, naming the path; comments are
//     skipped. An empty mapping or list holds no value and gives no name.
//
// A nested file imported and exported again comes back flat
// (DB_PASSWORD: at the top level) with the same names and values: hush
// keeps no record of the original nesting.

// segment is one step of a path: a mapping key or a list index. A list's
// comments are items to sops (its --extract counts them) but not to names.
type segment struct {
	key        string
	index, raw int
	list       bool
}

type path []segment

// String renders the path as sops decrypt --extract takes it.
func (p path) String() string {
	var b strings.Builder
	for _, s := range p {
		if s.list {
			fmt.Fprintf(&b, "[%d]", s.raw)
		} else {
			fmt.Fprintf(&b, "[%s]", strconv.Quote(truncate(s.key)))
		}
	}
	return b.String()
}

func truncate(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

// walk calls fn for every leaf of branch, in file order, skipping comments.
func walk(branch sops.TreeBranch, prefix path, fn func(path, any) error) error {
	for _, item := range branch {
		if _, ok := item.Key.(sops.Comment); ok {
			continue
		}
		p := append(prefix[:len(prefix):len(prefix)], segment{key: keyText(item.Key)})
		if err := walkValue(item.Value, p, fn); err != nil {
			return err
		}
	}
	return nil
}

func walkValue(v any, p path, fn func(path, any) error) error {
	switch v := v.(type) {
	case sops.TreeBranch:
		return walk(v, p, fn)
	case []any:
		i := 0
		for raw, e := range v {
			if _, ok := e.(sops.Comment); ok {
				continue
			}
			if err := walkValue(e, append(p[:len(p):len(p)], segment{index: i, raw: raw, list: true}), fn); err != nil {
				return err
			}
			i++
		}
		return nil
	}
	// A comment as a mapping's value (not as an item) is a value whose
	// type was changed to comment: fn sees it and flatten refuses it.
	return fn(p, v)
}

// keyText is a mapping key as text: YAML allows numbers and booleans.
func keyText(k any) string {
	if s, ok := k.(string); ok {
		return s
	}
	return fmt.Sprint(k)
}

// flatten maps a decrypted tree to entries, in file order. st renders
// non-string scalars as sops does for that format.
func flatten(branch sops.TreeBranch, f Format, st sops.ValueEmitter) ([]Entry, error) {
	var out []Entry
	byName := map[string]string{}
	err := walk(branch, nil, func(p path, v any) error {
		named := p
		if f == INI && len(p) > 1 && p[0].key == "DEFAULT" {
			named = p[1:]
		}
		name, err := envName(named)
		if err != nil {
			return err
		}
		if prev, ok := byName[name]; ok {
			return fmt.Errorf("%w: %s and %s both map to %s; rename one of them", store.ErrInvalid, prev, p, name)
		}
		if _, ok := v.(sops.Comment); ok {
			return fmt.Errorf("%w: %s: a value is marked as a comment (the file was changed after it was encrypted)", store.ErrIntegrity, p)
		}
		val, err := leafText(v, f, st)
		if err != nil {
			return fmt.Errorf("%w: %s: %v", store.ErrInvalid, p, err)
		}
		byName[name] = p.String()
		out = append(out, Entry{Name: name, Path: p.String(), Value: store.Value(val)})
		return nil
	})
	return out, err
}

// envName applies rules 1–3 of the mapping.
func envName(p path) (string, error) {
	if len(p) == 1 && !p[0].list && store.ValidKeyName(p[0].key) == nil {
		return p[0].key, nil
	}
	parts := make([]string, 0, len(p))
	for _, s := range p {
		if s.list {
			parts = append(parts, strconv.Itoa(s.index))
			continue
		}
		if s.key == "" {
			return "", fmt.Errorf("%w: %s: an empty key cannot be part of an environment name", store.ErrInvalid, p)
		}
		var b strings.Builder
		for i := 0; i < len(s.key); i++ {
			c := s.key[i]
			switch {
			case c >= 'a' && c <= 'z':
				b.WriteByte(c - 'a' + 'A')
			case c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_':
				b.WriteByte(c)
			case c == '-', c == '.':
				b.WriteByte('_')
			default:
				return "", fmt.Errorf("%w: %s cannot be mapped to an environment name: keys may hold only letters, digits, '_', '-' and '.'", store.ErrInvalid, p)
			}
		}
		parts = append(parts, b.String())
	}
	name := strings.Join(parts, "_")
	if err := store.ValidKeyName(name); err != nil {
		return "", fmt.Errorf("%w: %s cannot be mapped to an environment name (it would be %s)", store.ErrInvalid, p, truncate(name))
	}
	return name, nil
}

// leafText is a scalar as sops decrypt prints it. In YAML and JSON that
// is the format's value emitter (what --extract prints too); a dotenv or
// INI file holds text, and sops writes the other types its cipher makes of
// a value's type:int, float, bool or time as stores.ValToString renders
// them. Every type a tree can hold has an answer or a refusal.
func leafText(v any, f Format, st sops.ValueEmitter) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case []byte:
		return string(v), nil
	case nil:
		return "", fmt.Errorf("null value (hush stores text; give it a value or remove it)")
	case sops.Comment, sops.TreeBranch, []any:
		return "", fmt.Errorf("a %T where a value should be", v)
	}
	if f == Dotenv || f == INI {
		return stores.ValToString(v), nil
	}
	b, err := st.EmitValue(v)
	if err != nil {
		return "", fmt.Errorf("a %T value sops cannot print", v)
	}
	return strings.TrimSuffix(string(b), "\n"), nil
}

// Names returns the entries' names, sorted.
func Names(entries []Entry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.Name
	}
	sort.Strings(out)
	return out
}
