package session

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/hush-secrets/hush/inject"
	"github.com/hush-secrets/hush/internal/safe"
	"github.com/hush-secrets/hush/scan"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
)

// This file is hush example: a .env.example made from an environment's
// team stores — names, types and notes, never a value — and the check
// that keeps a committed one in step (CI, a pre-commit hook).
//
// It is a command of its own, not an export format: an export is values
// (each one a secret.read, the loader policy applied, a 0600 file), while
// an example is metadata only (a listing, a file meant to be committed),
// and its --check has no export counterpart.

// ExampleKey is one key of an example: what the team's stores say about
// it, never its value.
type ExampleKey struct {
	Name string `json:"name"`
	Type string `json:"type,omitempty"`
	Note string `json:"note,omitempty"`
	// From is the environment the key is inherited from, "" for the
	// environment's own.
	From string `json:"inherited_from,omitempty"`
}

// Example is an environment's example: its keys, sorted, and the file.
type Example struct {
	Env  string
	Keys []ExampleKey
	// Dropped names the keys whose note was left out because it holds
	// the key's value, or some line of it.
	Dropped []string
	Data    []byte
}

// Example describes env for a .env.example: the keys its team stores give
// it (its own and those it inherits; a personal override is the user's
// own and not the team's, so personal-only keys are left out). Reading
// them is a listing of env and each parent. No value reaches the result:
// a note that holds its key's value is dropped, and every comment is one
// line of printable text.
func (s *Session) Example(env string) (*Example, error) {
	x, _, err := s.example(env)
	return x, err
}

func (s *Session) example(env string) (*Example, []store.Entry, error) {
	p, id, err := s.projectIdentity()
	if err != nil {
		return nil, nil, err
	}
	if err := s.AuditReady(); err != nil {
		return nil, nil, err
	}
	entries, err := p.TeamLayered(env, id)
	paths := []string{s.SecretPath(env, "")}
	if err == nil {
		paths = s.EnvPaths(s.readEnvs(env))
	}
	if err := join(err, s.Audit(audit.SecretList, paths, err)); err != nil {
		return nil, nil, err
	}
	x := &Example{Env: env}
	for _, e := range entries {
		k := ExampleKey{Name: e.Name, Type: oneLine(e.Secret.Type), Note: oneLine(e.Secret.Note)}
		if e.Inherited(env) {
			k.From = e.Env
		}
		if k.Note != "" && holdsValue(e.Secret.Note, e.Secret.Value.Reveal()) {
			k.Note = ""
			x.Dropped = append(x.Dropped, e.Name)
		}
		if k.Type != "" && holdsValue(e.Secret.Type, e.Secret.Value.Reveal()) {
			k.Type = ""
			x.Dropped = append(x.Dropped, e.Name)
		}
		x.Keys = append(x.Keys, k)
	}
	x.Data = renderExample(p.Config.Project, env, x.Keys)
	return x, entries, nil
}

// holdsValue says whether text (a note, a type) contains value, or a line
// of it of four bytes or more: a note is free text a member typed, and
// "the password is …" must not reach a committed file.
func holdsValue(text, value string) bool {
	if value == "" {
		return false
	}
	if strings.Contains(text, value) {
		return len(value) >= 4 || text == value
	}
	for _, l := range strings.Split(value, "\n") {
		if l = strings.TrimSpace(l); len(l) >= 4 && strings.Contains(text, l) {
			return true
		}
	}
	return false
}

// oneLine makes store text one printable line: a note with a newline would
// otherwise end its comment and start a line a dotenv reader takes for a
// variable.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return safe.Term(s)
}

func renderExample(project, env string, keys []ExampleKey) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# The variables %s needs, from hush environment %s: names, types and notes, no values.\n", safe.Term(project), env)
	fmt.Fprintf(&b, "# The values live in hush: hush run --env %s -- CMD\n", env)
	fmt.Fprintf(&b, "# Made by hush example --env %s; checked by hush example --env %s --check FILE.\n", env, env)
	for _, k := range keys {
		b.WriteString("\n")
		var about []string
		if k.Type != "" {
			about = append(about, k.Type)
		}
		if k.Note != "" {
			about = append(about, k.Note)
		}
		if len(about) > 0 {
			fmt.Fprintf(&b, "# %s\n", strings.Join(about, ": "))
		}
		fmt.Fprintf(&b, "%s=\n", k.Name)
	}
	return []byte(b.String())
}

// ExampleCheck is a committed example compared with the environment.
type ExampleCheck struct {
	Env, File string
	// Missing are the environment's keys the file lacks, Extra the file's
	// keys the environment does not have; both sorted.
	Missing, Extra []string
	// Leaked are the keys whose value in the file is the stored one: an
	// example is committed, and a value pasted into it is a leak.
	Leaked []string
	Keys   int
}

// InStep says the file names exactly the environment's keys.
func (c *ExampleCheck) InStep() bool { return len(c.Missing) == 0 && len(c.Extra) == 0 }

// CheckExample compares the keys of the dotenv file at path with env's
// (Example's keys). The file's values may be defaults (PORT=3000); only one
// that is the key's stored value, of scan.MinKnownLength bytes or more, is
// reported, in Leaked. Comparing is a read of each key the file gives a
// value: one secret.read line each, as a scan with known values records.
func (s *Session) CheckExample(env, path string) (*ExampleCheck, error) {
	x, entries, err := s.example(env)
	if err != nil {
		return nil, err
	}
	var roots []string
	if p := s.Opened(); p != nil {
		roots = SourceRoots(p)
	}
	if src, _ := store.WalkSource(path, roots); src != nil && src.Escapes {
		return nil, fmt.Errorf("--check: %w: %s is a link in the project (%s) leading out of it", store.ErrOutside, path, src.Planted)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--check: %w", err)
	}
	defer f.Close()
	imp, err := inject.ParseDotenv(f)
	if err != nil {
		return nil, fmt.Errorf("--check %s: %w", path, err)
	}
	inFile := map[string]bool{}
	c := &ExampleCheck{Env: env, File: path, Keys: len(x.Keys)}
	stored := map[string]store.Entry{}
	for _, e := range entries {
		stored[e.Name] = e
	}
	var compared []string
	for _, sec := range imp.Secrets {
		inFile[sec.Name] = true
		e, ok := stored[sec.Name]
		v := sec.Value.Reveal()
		if !ok || v == "" {
			continue
		}
		compared = append(compared, s.EntryPath(env, e))
		if len(v) >= scan.MinKnownLength && v == e.Secret.Value.Reveal() {
			c.Leaked = append(c.Leaked, sec.Name)
		}
	}
	if len(compared) > 0 {
		if err := s.Audit(audit.SecretRead, compared, nil); err != nil {
			return nil, err
		}
	}
	inEnv := map[string]bool{}
	for _, k := range x.Keys {
		inEnv[k.Name] = true
		if !inFile[k.Name] {
			c.Missing = append(c.Missing, k.Name)
		}
	}
	for n := range inFile {
		if !inEnv[n] {
			c.Extra = append(c.Extra, n)
		}
	}
	sort.Strings(c.Missing)
	sort.Strings(c.Extra)
	sort.Strings(c.Leaked)
	return c, nil
}
