package inject

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// EnvOptions says how to build a child's environment.
type EnvOptions struct {
	// Parent is the environment hush itself was given, in os.Environ form.
	Parent []string
	// Hidden names parent variables the child never sees, whatever else
	// says (hush's identity: HUSH_IDENTITY, HUSH_IDENTITY_FILE), in any
	// case.
	Hidden []string
	// Files are the variables of --env-file files, in os.Environ form, in
	// order: a later one overrides an earlier one, they override Parent
	// (but for NoOverride), references in them are resolved, and
	// the loader policy applies to them as to secrets, since such a file is
	// usually committed.
	Files []string
	// Secrets are injected in order; where a name repeats, the last wins.
	// Their values are never resolved as references: a store is written by
	// every member of its environment, and hush://prod/KEY in dev must not
	// read prod for a member who can.
	Secrets []Secret
	// NoOverride keeps a parent variable when a secret or a file variable
	// has the same name.
	NoOverride bool
	// Pristine keeps only PATH HOME USER LOGNAME SHELL LANG LC_* TERM TZ (and
	// the names in Keep) from Parent.
	Pristine bool
	// Keep names further parent variables that survive Pristine.
	Keep []string
	// Only, when not empty, injects only the secrets whose names match one of
	// these patterns (path.Match syntax: "DB_*").
	Only []string
	// Except drops the secrets whose names match one of these patterns.
	Except []string
	// Allow lets the named secrets through although IsDangerous says they
	// change how programs load code.
	Allow []string
	// Resolve, when set, replaces every value of the form hush://ENV/KEY
	// from Parent or Files by the value it returns. When nil, such values
	// pass through as they are; FindRefs lists them.
	Resolve Resolver
}

// Env is a built environment and what happened on the way.
type Env struct {
	// Environ is the child's environment.
	Environ Environ
	// Injected are the secret values that ended up in Environ, including
	// parent variables resolved from references, in Environ order: the set
	// to hand to NewMasker.
	Injected []Secret
	// Dropped names the secrets, env-file variables and parent references
	// left out because IsDangerous and not in Allow. Warn about them.
	Dropped []string
	// Literal names the secrets whose values look like hush:// references
	// and were passed as written. Tell the user references resolve only
	// from the environment and --env-file.
	Literal []string
	// Kept names the secrets not injected because NoOverride and the parent
	// already had the variable.
	Kept []string
}

// pristineNames are kept from the parent under Pristine: what a program needs
// to find its tools, its user and its terminal, nothing that carries data.
var pristineNames = []string{"PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "TERM", "TZ"}

// BuildEnv builds a child's environment from the parent's and the secrets.
// It fails, before anything is resolved, on an invalid secret name, a NUL in
// a value or a malformed filter pattern, and on any reference that cannot be
// resolved. The returned error never contains a value.
func BuildEnv(opts EnvOptions) (*Env, error) {
	for _, p := range append(slices.Clone(opts.Only), opts.Except...) {
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("inject: bad name pattern %q: %w", p, err)
		}
	}
	for _, s := range opts.Secrets {
		if err := checkSecret(s); err != nil {
			return nil, fmt.Errorf("inject: %w", err)
		}
	}
	out := &Env{}
	allowed := func(name string) bool { return Allowed(name, opts.Allow) }
	hidden := func(name string) bool {
		for _, h := range opts.Hidden {
			if strings.EqualFold(h, name) {
				return true
			}
		}
		return false
	}

	// The parent, de-duplicated (the last entry wins, as for os/exec) and
	// filtered, in its own order.
	// Sized for all of them: with 1,000 secrets, growing maps and slices by
	// doubling costs more than the rest of this function.
	// One map for every name, which also says whether its value is a
	// secret's: a second map of 1,000 names cost as much again.
	type val struct {
		v      string
		secret bool
	}
	names := make([]string, 0, len(opts.Parent)+len(opts.Files)+len(opts.Secrets))
	vals := make(map[string]val, len(opts.Parent)+len(opts.Files)+len(opts.Secrets))
	set := func(k, v string, secret bool) {
		if _, seen := vals[k]; !seen {
			names = append(names, k)
		}
		vals[k] = val{v, secret}
	}
	for _, kv := range opts.Parent {
		k, v, ok := cut(kv)
		if !ok || hidden(k) || (opts.Pristine && !keptPristine(k, opts.Keep)) {
			continue
		}
		set(k, v, false)
	}
	// Files in order, a later one over an earlier one (as docker's
	// --env-file and compose's env_file lists), all over the parent but
	// under NoOverride, which keeps what the user's environment already
	// has, as it does for secrets.
	parentHas := make(map[string]bool, len(vals))
	if opts.NoOverride {
		for k := range vals {
			parentHas[k] = true
		}
	}
	for _, kv := range opts.Files {
		k, v, ok := cut(kv)
		switch {
		case !ok:
			continue
		case !allowed(k) || hidden(k):
			out.Dropped = append(out.Dropped, k)
			continue
		case parentHas[k]:
			if !slices.Contains(out.Kept, k) {
				out.Kept = append(out.Kept, k)
			}
			continue
		}
		set(k, v, false)
	}
	injected := 0
	for _, s := range lastWins(opts.Secrets) {
		switch {
		case !matchAny(opts.Only, s.Name, true) || matchAny(opts.Except, s.Name, false):
			continue
		case !allowed(s.Name) || hidden(s.Name):
			out.Dropped = append(out.Dropped, s.Name)
			continue
		}
		if _, inParent := vals[s.Name]; inParent && opts.NoOverride {
			if !slices.Contains(out.Kept, s.Name) {
				out.Kept = append(out.Kept, s.Name)
			}
			continue
		}
		if old, seen := vals[s.Name]; !seen || !old.secret {
			injected++
		}
		set(s.Name, s.Value.s, true)
	}

	r := refResolver{resolve: opts.Resolve, cache: map[Ref]Value{}}
	out.Environ = make([]string, 0, len(names))
	out.Injected = make([]Secret, 0, injected)
	// The secrets' KEY=VALUE strings are cut from one buffer, not
	// concatenated one by one (1,000 allocations at 1,000 secrets).
	size := 0
	for _, k := range names {
		if kv := vals[k]; kv.secret {
			size += len(k) + 1 + len(kv.v)
		}
	}
	var buf strings.Builder
	buf.Grow(size)
	// For each secret in order: its index in Environ, where its string
	// starts in buf.
	var slot, start []int
	if size > 0 {
		slot, start = make([]int, 0, injected), make([]int, 0, injected)
	}
	for _, k := range names {
		kv := vals[k]
		v := kv.v
		isRef := strings.HasPrefix(v, refScheme)
		switch {
		case kv.secret:
			if isRef {
				out.Literal = append(out.Literal, k)
			}
			out.Injected = append(out.Injected, Secret{Name: k, Value: NewValue(v)})
			slot, start = append(slot, len(out.Environ)), append(start, buf.Len())
			buf.WriteString(k)
			buf.WriteByte('=')
			buf.WriteString(v)
			out.Environ = append(out.Environ, "") // cut from buf below
			continue
		case isRef && opts.Resolve != nil:
			if !allowed(k) {
				out.Dropped = append(out.Dropped, k)
				continue
			}
			rv, err := r.get(k, v)
			if err != nil {
				return nil, err
			}
			if strings.IndexByte(rv.s, 0) >= 0 {
				return nil, fmt.Errorf("inject: %s: %w", quoteName(k), ErrNUL)
			}
			v = rv.s
			out.Injected = append(out.Injected, Secret{Name: k, Value: rv})
		}
		out.Environ = append(out.Environ, k+"="+v)
	}
	// Fill in the secrets' strings, now that buf will not move again.
	all := buf.String()
	for j, i := range slot {
		end := len(all)
		if j+1 < len(start) {
			end = start[j+1]
		}
		out.Environ[i] = all[start[j]:end]
	}
	return out, nil
}

func keptPristine(name string, keep []string) bool {
	return slices.Contains(pristineNames, name) || strings.HasPrefix(name, "LC_") ||
		slices.Contains(keep, name)
}

// matchAny reports whether name matches one of patterns; an empty list
// yields empty.
func matchAny(patterns []string, name string, empty bool) bool {
	if len(patterns) == 0 {
		return empty
	}
	for _, p := range patterns {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}
