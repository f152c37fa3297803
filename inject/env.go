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
	// Secrets are injected in order; where a name repeats, the last wins.
	Secrets []Secret
	// NoOverride keeps a parent variable when a secret has the same name.
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
	// Resolve, when set, replaces every value of the form hush://ENV/KEY,
	// from Parent or Secrets, by the value it returns. When nil, such values
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
	// Dropped names the secrets (and resolved parent references) left out
	// because IsDangerous and not in Allow. Warn about them.
	Dropped []string
	// Kept names the secrets not injected because NoOverride and the parent
	// already had the variable.
	Kept []string
}

// pristineNames are kept from the parent under Pristine: what a program needs
// to find its tools, its user and its terminal, nothing that carries data.
var pristineNames = []string{"PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "TERM", "TZ"}

// dangerousNames change which code a program, its interpreter or its dynamic
// loader runs, or run commands by themselves. A team secret must not be able to
// do that silently, so these are dropped unless allowed by name.
var dangerousNames = map[string]bool{
	// shells
	"BASH_ENV": true, "ENV": true, "SHELLOPTS": true, "BASHOPTS": true, "PS4": true,
	"PROMPT_COMMAND": true, "IFS": true, "CDPATH": true, "GLOBIGNORE": true,
	"ZDOTDIR": true, "PATH": true,
	// C library and loader
	"GCONV_PATH": true, "GLIBC_TUNABLES": true, "LOCPATH": true, "NLSPATH": true,
	"HOSTALIASES": true, "OPENSSL_CONF": true, "OPENSSL_ENGINES": true, "OPENSSL_MODULES": true,
	// interpreters and runtimes
	"NODE_OPTIONS": true, "NODE_PATH": true,
	"PYTHONSTARTUP": true, "PYTHONPATH": true, "PYTHONHOME": true, "PYTHONUSERBASE": true,
	"PYTHONBREAKPOINT": true, "PYTHONWARNINGS": true,
	"PERL5OPT": true, "PERL5LIB": true, "PERLLIB": true, "PERL5DB": true,
	"RUBYOPT": true, "RUBYLIB": true, "GEM_HOME": true, "GEM_PATH": true,
	"JAVA_TOOL_OPTIONS": true, "_JAVA_OPTIONS": true, "JDK_JAVA_OPTIONS": true, "CLASSPATH": true,
	"DOTNET_STARTUP_HOOKS": true, "CORECLR_ENABLE_PROFILING": true,
	"COR_ENABLE_PROFILING": true, "LUA_INIT": true, "LUA_PATH": true, "LUA_CPATH": true,
	"PHPRC": true, "PHP_INI_SCAN_DIR": true, "R_PROFILE": true, "R_PROFILE_USER": true,
	"GOFLAGS": true,
	// tools that run a command named by a variable
	"GIT_SSH_COMMAND": true, "GIT_SSH": true, "GIT_EXEC_PATH": true, "GIT_ASKPASS": true,
	"GIT_PROXY_COMMAND": true, "GIT_EXTERNAL_DIFF": true, "GIT_TEMPLATE_DIR": true,
	"GIT_CONFIG": true, "GIT_CONFIG_GLOBAL": true, "GIT_CONFIG_SYSTEM": true,
	"GIT_CONFIG_PARAMETERS": true, "GIT_PAGER": true, "GIT_EDITOR": true,
	"GIT_SEQUENCE_EDITOR": true, "SSH_ASKPASS": true, "SUDO_ASKPASS": true,
	"PAGER": true, "MANPAGER": true, "EDITOR": true, "VISUAL": true, "BROWSER": true,
	"LESSOPEN": true, "LESSCLOSE": true,
}

// dangerousPrefixes are families: the dynamic loaders' LD_PRELOAD and kin,
// bash's exported functions, git's numbered config entries (core.sshCommand),
// the .NET profilers.
var dangerousPrefixes = []string{"LD_", "DYLD_", "BASH_FUNC_", "GIT_CONFIG_KEY_",
	"GIT_CONFIG_VALUE_", "GIT_CONFIG_COUNT", "CORECLR_PROFILER", "COR_PROFILER"}

// IsDangerous reports whether a variable named name changes how programs load
// or run code (LD_PRELOAD, BASH_ENV, NODE_OPTIONS, PATH, GIT_SSH_COMMAND…).
// BuildEnv drops such secrets unless EnvOptions.Allow names them.
func IsDangerous(name string) bool {
	if dangerousNames[name] {
		return true
	}
	for _, p := range dangerousPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

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
	allowed := func(name string) bool { return !IsDangerous(name) || slices.Contains(opts.Allow, name) }

	// The parent, de-duplicated (the last entry wins, as for os/exec) and
	// filtered, in its own order.
	// Sized for all of them: with 1,000 secrets, growing maps and slices by
	// doubling costs more than the rest of this function.
	names := make([]string, 0, len(opts.Parent)+len(opts.Secrets))
	vals := make(map[string]string, len(opts.Parent)+len(opts.Secrets))
	for _, kv := range opts.Parent {
		k, v, ok := cut(kv)
		if !ok || (opts.Pristine && !keptPristine(k, opts.Keep)) {
			continue
		}
		if _, seen := vals[k]; !seen {
			names = append(names, k)
		}
		vals[k] = v
	}
	fromSecret := make(map[string]bool, len(opts.Secrets))
	for _, s := range lastWins(opts.Secrets) {
		switch {
		case !matchAny(opts.Only, s.Name, true) || matchAny(opts.Except, s.Name, false):
			continue
		case !allowed(s.Name):
			out.Dropped = append(out.Dropped, s.Name)
			continue
		}
		if _, inParent := vals[s.Name]; inParent && opts.NoOverride {
			out.Kept = append(out.Kept, s.Name)
			continue
		} else if !inParent {
			names = append(names, s.Name)
		}
		vals[s.Name] = s.Value.s
		fromSecret[s.Name] = true
	}

	r := refResolver{resolve: opts.Resolve, cache: map[Ref]Value{}}
	out.Environ = make([]string, 0, len(names))
	out.Injected = make([]Secret, 0, len(fromSecret))
	for _, k := range names {
		v := vals[k]
		if opts.Resolve != nil && strings.HasPrefix(v, refScheme) {
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
		} else if fromSecret[k] {
			out.Injected = append(out.Injected, Secret{Name: k, Value: NewValue(v)})
		}
		out.Environ = append(out.Environ, k+"="+v)
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
