package session

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/inject"
	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/store"
)

// This file is hush run --mount: the whole injected set as one in-memory
// file, for programs that insist on reading a .env (doppler run --mount,
// sops exec-file). The file is a sealed memfd on Linux, a FIFO fed once by
// hush elsewhere (inject.NewSecretFile): never a file on disk.

// mountFormats are the formats --mount renders: the ones a program reads
// as a configuration file.
var mountFormats = []inject.Format{inject.FormatDotenv, inject.FormatJSON, inject.FormatYAML}

// ParseMount checks one --mount VAR[=FORMAT] and returns its parts, the
// format dotenv when none is given.
func ParseMount(spec string) (name string, format inject.Format, err error) {
	name, f, hasFormat := strings.Cut(spec, "=")
	if store.ValidKeyName(name) != nil {
		return "", "", Usagef("--mount %q: want VAR[=FORMAT], VAR a variable name", spec)
	}
	if slices.ContainsFunc(crypt.IdentityEnv, func(h string) bool { return strings.EqualFold(h, name) }) {
		return "", "", Usagef("--mount %s: %s never reaches the child", spec, name)
	}
	format = inject.FormatDotenv
	if hasFormat {
		format = inject.Format(strings.ToLower(f))
		if !slices.Contains(mountFormats, format) {
			return "", "", Usagef("--mount %s: unknown format %q (want dotenv, json or yaml)", spec, f)
		}
	}
	return name, format, nil
}

// addMounts renders the plan's injected set once per --mount, in its
// format, as an in-memory file whose path it sets in the child's
// environment. The variable is the user's, named on the command line, so
// it passes the loader policy as --file's do; the secrets in the file
// passed it already (allow is what they passed with). A value the format
// cannot carry fails the run, naming the key.
func (pl *RunPlan) addMounts(specs, allow []string) error {
	if len(specs) == 0 {
		// Without a mount, the copy of the injected set below was a
		// fresh slice of every secret on each run (68 KiB at 1,000).
		return nil
	}
	type mount struct {
		spec, name string
		format     inject.Format
	}
	var mounts []mount
	names := map[string]bool{}
	for _, spec := range specs {
		name, format, err := ParseMount(spec)
		if err != nil {
			return err
		}
		if names[name] {
			return Usagef("--mount %s: %s is mounted twice", spec, name)
		}
		names[name] = true
		mounts = append(mounts, mount{spec, name, format})
	}
	// A secret named like a mount's variable is left out of the files and
	// the environment: the variable holds the path.
	var secrets []inject.Secret
	for _, s := range pl.Injected {
		if !names[s.Name] {
			secrets = append(secrets, s)
		}
	}
	for _, m := range mounts {
		var buf bytes.Buffer
		if err := inject.Export(&buf, m.format, secrets, inject.ExportOptions{Allow: allow}); err != nil {
			err = fmt.Errorf("--mount %s: %w", m.spec, err)
			if m.format == inject.FormatDotenv {
				return hint.With(err, "a JSON or YAML file carries every value: --mount %s=json", m.name)
			}
			return err
		}
		sf, err := inject.NewSecretFile(m.name, inject.NewValue(buf.String()))
		// The rendering held every value; it goes as soon as the file has
		// its copy.
		clear(buf.Bytes())
		if err != nil {
			return fmt.Errorf("--mount %s: %w", m.spec, err)
		}
		pl.Files = append(pl.Files, sf)
		pl.Environ = setVar(pl.Environ, m.name, sf.Path())
		pl.pathVar(m.name)
		pl.Mounted = append(pl.Mounted, Mount{Var: m.name, Format: m.format, Keys: len(secrets), Rereadable: sf.Rereadable()})
	}
	if len(mounts) > 0 {
		pl.Injected = secrets
	}
	return nil
}

// Mount is one --mount of a plan, for the CLI to report.
type Mount struct {
	Var    string
	Format inject.Format
	// Keys is how many secrets the file holds.
	Keys int
	// Rereadable is false for a FIFO, which gives its content once.
	Rereadable bool
}

// setVar sets name to value in environ, replacing every entry of that
// name: a duplicate would leave which one the child sees to its C library.
func setVar(environ inject.Environ, name, value string) inject.Environ {
	out := make(inject.Environ, 0, len(environ)+1)
	for _, kv := range environ {
		if k, _, ok := strings.Cut(kv, "="); ok && k == name {
			continue
		}
		out = append(out, kv)
	}
	return append(out, name+"="+value)
}
