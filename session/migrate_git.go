package session

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hush-secrets/hush/inject"
	"github.com/hush-secrets/hush/internal/git"
	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/scan"
	"github.com/hush-secrets/hush/store"
)

// What hush migrate asks git, and the search for plaintext left behind.
// Every path goes to git after "--" and relative to the work tree's top
// (internal/git), so a name starting with "-" is a name, never an option.

// gitTracked says why git holds a file's values: it is tracked now, or a
// commit in the history has it. "" when neither, or outside git.
func gitTracked(abs string) string {
	top, rel := git.Path(abs)
	if top == "" {
		return ""
	}
	if git.OK(context.Background(), top, "ls-files", "--error-unmatch", "--", rel) {
		return "is tracked by git"
	}
	if c, err := git.Line(context.Background(), top, "log", "--all", "--format=%h", "-1", "--", rel); err == nil && c != "" {
		return "was committed to git (commit " + c + ")"
	}
	return ""
}

// gitIgnored says whether a pattern of the work tree's ignore files
// matches rel, tracked or not (as check-ignore --no-index would; but
// check-ignore refuses the literal pathspecs every hush git call has, and
// ls-files honours them).
func gitIgnored(top, rel string) bool {
	out, err := git.Output(context.Background(), top, "ls-files", "-z", "--cached", "--others", "--ignored", "--exclude-standard", "--", rel)
	if err != nil {
		return false
	}
	for _, name := range strings.Split(string(out), "\x00") {
		if name == rel {
			return true
		}
	}
	return false
}

// ensureIgnored appends FILE to the .gitignore at the top of its git work
// tree (or of the project, outside git) unless git already ignores it, and
// sets f.Ignore to what it did.
func ensureIgnored(projectRoot string, f *MigratedFile) error {
	ig := &Ignore{}
	top, rel := git.Path(f.abs)
	base := top
	if top == "" {
		base = projectRoot
		r, err := filepath.Rel(projectRoot, f.abs)
		if err != nil || strings.HasPrefix(r, "..") {
			ig.Outside, f.Ignore = true, ig
			return nil
		}
		rel = filepath.ToSlash(r)
	}
	if top != "" && gitIgnored(top, rel) {
		f.Ignore = ig
		return nil
	}
	if strings.ContainsAny(rel, "\n\r") {
		ig.LineBreak, f.Ignore = true, ig
		return nil
	}
	line := "/" + gitignoreEscape(rel)
	path := filepath.Join(base, ".gitignore")
	// The .gitignore is the repository's: read without following a link,
	// replaced atomically with its mode kept, never written through.
	changed, err := store.UpdateFile(path, 8<<20, 0o644, func(old []byte, _ bool) ([]byte, error) {
		if containsLine(old, line) {
			return nil, nil
		}
		data := append([]byte(nil), old...)
		if len(data) > 0 && data[len(data)-1] != '\n' {
			data = append(data, '\n')
		}
		if !bytes.Contains(old, []byte(migrateComment)) {
			data = append(data, migrateComment+"\n"...)
		}
		return append(data, line+"\n"...), nil
	})
	if err != nil {
		return hint.With(fmt.Errorf("the secrets are in hush (verified) but %s was not changed: %w", path, err),
			"add %s to it yourself; no file was removed", line)
	}
	if changed {
		ig.Line, ig.File = line, path
	}
	ig.NotIgnored = top != "" && !gitIgnored(top, rel)
	f.Ignore = ig
	return nil
}

const migrateComment = "# plaintext env files moved into hush (hush migrate)"

func containsLine(b []byte, line string) bool {
	for _, l := range strings.Split(string(b), "\n") {
		if strings.TrimRight(l, "\r") == line {
			return true
		}
	}
	return false
}

// gitignoreEscape makes a path a literal .gitignore pattern.
func gitignoreEscape(p string) string {
	var b strings.Builder
	for i, r := range p {
		switch {
		case r == '\\' || r == '*' || r == '?' || r == '[':
			b.WriteByte('\\')
		case r == ' ' && i == len(p)-1:
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// minProbe is the shortest imported value looked for in other files:
// shorter ones (ports, flags) match by chance.
const minProbe = 6

// findLeftovers lists the plaintext env files under root (scan.IsEnvFile;
// not in .git or node_modules, not the migrated ones) that hold an imported
// value: file and key names, never a value. searched is false when no
// value is long enough to look for.
func findLeftovers(root string, skip []string, secrets []inject.Secret) (found []Leftover, searched bool) {
	var probes []inject.Secret
	for _, sec := range secrets {
		if len(sec.Value.Reveal()) >= minProbe {
			probes = append(probes, sec)
		}
	}
	if len(probes) == 0 {
		return nil, false
	}
	if abs, err := filepath.Abs(root); err == nil {
		root = abs // so paths compare with the migrated files' absolute ones
	}
	skipped := map[string]bool{}
	for _, p := range skip {
		skipped[p] = true
	}
	walked := 0
	_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if walked++; err != nil || walked > 200000 {
			return nil
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (name == ".git" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || skipped[path] || !scan.IsEnvFile(name) {
			return nil
		}
		if info, err := d.Info(); err != nil || info.Size() > 1<<20 {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		var keys []string
		for _, p := range probes {
			if bytes.Contains(b, []byte(p.Value.Reveal())) {
				keys = append(keys, p.Name)
			}
		}
		if len(keys) > 0 {
			rel, _ := filepath.Rel(root, path)
			found = append(found, Leftover{File: rel, Keys: keys})
		}
		return nil
	})
	return found, true
}
