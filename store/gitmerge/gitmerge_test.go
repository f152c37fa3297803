package gitmerge

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/store"
)

// repo is a real git repository with a base commit, a branch "x" and main
// moved on, each with its own hush.yaml and store blob. The driver-time
// state of each git operation is covered end to end by the
// hostile_merge_*.txtar scripts; this checks Find's verification itself.
type repo struct {
	t    *testing.T
	dir  string
	keys map[string]string
}

func newRepo(t *testing.T) *repo {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("HUSH_TEST_REQUIRE_ALL") == "1" {
			t.Fatal("HUSH_TEST_REQUIRE_ALL=1 but git is not installed")
		}
		t.Skip("needs git")
	}
	r := &repo{t: t, dir: t.TempDir(), keys: map[string]string{}}
	for _, n := range []string{"alice", "bob", "mallory"} {
		id, err := crypt.Generate()
		if err != nil {
			t.Fatal(err)
		}
		r.keys[n] = id.Public
	}
	r.git("init", "-q", "-b", "main")
	return r
}

func (r *repo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_NOSYSTEM=1", "HOME="+r.dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit writes dev's recipients and the store's content, and commits.
func (r *repo) commit(msg, store string, members ...string) string {
	r.t.Helper()
	var b strings.Builder
	b.WriteString("version: 1\nproject: p\ndefault_env: dev\nenvironments:\n  dev:\n    recipients:\n")
	for _, m := range members {
		fmt.Fprintf(&b, "      - key: %s\n        label: %s\n", r.keys[m], m)
	}
	r.write(".hush/hush.yaml", b.String())
	r.write(".hush/dev.age", store)
	r.git("add", "-A")
	r.git("commit", "-q", "-m", msg)
	return r.git("rev-parse", "HEAD")
}

func (r *repo) write(name, content string) string {
	r.t.Helper()
	p := filepath.Join(r.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
	return p
}

func labels(rs []store.Recipient) string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Label)
	}
	return strings.Join(out, " ")
}

func TestFind(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("base", "base\n", "alice", "bob")
	r.git("checkout", "-q", "-b", "x")
	x := r.commit("x", "x\n", "alice", "bob", "mallory")
	r.git("checkout", "-q", "main")
	r.commit("main", "main\n", "alice")
	tmp := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	o, a, b := file("o", "base\n"), file("a", "main\n"), file("b", "x\n")
	req := Request{Dir: r.dir, Path: ".hush/dev.age", Env: "dev", Base: o, Ours: a, Theirs: b}

	for _, tc := range []struct {
		name    string
		environ []string
		edit    func(*Request)
		op      string
		err     string
	}{
		// git merge sets GITHEAD_<id> for the head it merges.
		{name: "merge", environ: []string{"GITHEAD_" + x + "=x"}, op: "merge"},
		// No trace at all: found by the blob pair, as a cherry-pick.
		{name: "single pick", op: "cherry-pick"},
		// A GITHEAD whose commit does not hold %B is not believed.
		{name: "stray GITHEAD", environ: []string{"GITHEAD_" + r.git("rev-parse", "HEAD") + "=y"}, op: "cherry-pick"},
		{name: "theirs from nowhere", edit: func(q *Request) { q.Theirs = file("b2", "elsewhere\n") }, err: "could not tell"},
		{name: "ours from nowhere", edit: func(q *Request) { q.Ours = file("a2", "elsewhere\n") }, err: "neither the index nor HEAD"},
		{name: "base from nowhere", edit: func(q *Request) { q.Base = file("o2", "elsewhere\n") }, err: "could not tell"},
		// An empty %O while the base holds a store is no "no base".
		{name: "empty base, base has the file", edit: func(q *Request) { q.Base, q.BaseEmpty = file("o3", ""), true }, err: "could not tell"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := req
			q.Environ = tc.environ
			if tc.edit != nil {
				tc.edit(&q)
			}
			s, err := Find(q)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, %v; want an error with %q", s, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Op != tc.op || s.NoBase {
				t.Errorf("op %q, no base %v; want %q, false", s.Op, s.NoBase, tc.op)
			}
			if got := labels(s.Base) + " | " + labels(s.Ours) + " | " + labels(s.Theirs); got != "alice bob | alice | alice bob mallory" {
				t.Errorf("recipients base | ours | theirs = %s", got)
			}
		})
	}
}

func TestFindNoBase(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.write("README", "r\n")
	r.git("add", "-A")
	r.git("commit", "-q", "-m", "root")
	r.git("checkout", "-q", "-b", "x")
	x := r.commit("x", "x\n", "alice", "bob")
	r.git("checkout", "-q", "main")
	r.commit("main", "main\n", "alice")
	tmp := t.TempDir()
	o := filepath.Join(tmp, "o")
	if err := os.WriteFile(o, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Find(Request{Dir: r.dir, Environ: []string{"GITHEAD_" + x + "=x"}, Path: ".hush/dev.age", Env: "dev",
		Base: o, Ours: r.write("a.tmp", "main\n"), Theirs: r.write("b.tmp", "x\n"), BaseEmpty: true})
	if err != nil {
		t.Fatal(err)
	}
	if !s.NoBase || s.Base != nil || labels(s.Theirs) != "alice bob" {
		t.Errorf("got %+v; want no base, theirs alice bob", s)
	}
	_, err = Find(Request{Dir: r.dir, Path: ".hush/dev.age", Env: "dev", Base: o, Ours: o, Theirs: o, BaseEmpty: true})
	if err == nil || errors.Is(err, ErrVirtualBase) {
		t.Errorf("ours empty, not in git: got %v, want a refusal", err)
	}
}

func TestTodoCandidate(t *testing.T) {
	t.Parallel()
	r := newRepo(t)
	r.commit("base", "base\n", "alice")
	id := r.commit("next", "next\n", "alice")
	r.git("update-ref", "refs/rewritten/feat", id)
	g := gitCmd{dir: r.dir}
	for _, tc := range []struct {
		line, op, theirs, bases string
		ok                      bool
	}{
		{"pick " + id + " next", "rebase", id, id + "^", true},
		{"p " + id, "rebase", id, id + "^", true},
		{"fixup -C " + id + " next", "rebase", id, id + "^", true},
		{"edit " + id, "rebase", id, id + "^", true},
		{"revert " + id + " next", "revert", id + "^", id, true},
		{"merge -C " + id + " feat # Merge feat", "rebase", "refs/rewritten/feat", id, true},
		{"exec make test", "", "", "", false},
		{"label onto", "", "", "", false},
		{"break", "", "", "", false},
		{"", "", "", "", false},
	} {
		c, ok := todoCandidate(g, "rebase", tc.line)
		if ok != tc.ok {
			t.Errorf("%q: ok %v, want %v", tc.line, ok, tc.ok)
			continue
		}
		if ok && (c.op != tc.op || c.theirs != tc.theirs || strings.Join(c.bases, " ") != tc.bases) {
			t.Errorf("%q: got %+v; want op %q, theirs %q, bases %q", tc.line, c, tc.op, tc.theirs, tc.bases)
		}
	}
}
