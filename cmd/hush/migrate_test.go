package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/hush-secrets/hush/session"
)

// A migrated file's name comes from the repository: rendered, it is one
// escaped word on hush's own lines, and in a hint's command line never an
// option.
func TestRenderMigrateEscapesNames(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	env := &Env{Stderr: &stderr, Now: time.Now, Getenv: func(string) string { return "" }}
	s := newUI(env, t.TempDir(), "migrate")
	names := []string{"--all.env", "\x1b[31mred.env", "evil\nhush: added /x to .gitignore\n.env", "\u202ex.env"}
	rep := &session.MigrateReport{Env: "dev", Keys: 4, Applied: true, Verified: true, Checked: true, Searched: true,
		Leftovers: []session.Leftover{{File: "a\x1b]52;c;aGk=\x07\n.env", Keys: []string{"K"}}}}
	for _, n := range names {
		rep.Files = append(rep.Files, &session.MigratedFile{Path: n, Names: []string{"K"}, Tracked: "is tracked by git", Exposed: []string{"K"},
			Kept: []string{"K (line 1): " + n}, Ignore: &session.Ignore{Line: "/" + n, File: ".gitignore"}, Removal: session.KeptUnsure, Real: n})
	}
	renderMigrate(s, rep, true)
	out := stderr.String()
	if strings.ContainsAny(out, "\x1b\x07\r\u202e") {
		t.Fatalf("a control character reached the terminal:\n%q", out)
	}
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if !strings.HasPrefix(l, "hush: ") && !strings.HasPrefix(l, "hush:   ") || strings.HasPrefix(l, "hush: added /x") {
			t.Fatalf("a line not hush's own: %q\n%s", l, out)
		}
	}
	if !strings.Contains(out, "git rm --cached ./--all.env\n") || !strings.Contains(out, "then delete ./--all.env yourself\n") {
		t.Fatalf("a leading dash in a hint's command line:\n%s", out)
	}
	if n := strings.Count(out, "\n"); n != 4*(2+4+2)+4 {
		t.Fatalf("%d lines:\n%s", n, out)
	}
}
