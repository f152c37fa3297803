package vaulttest

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"
)

// recorder is a testing.TB whose Fatal and Skip are recorded, ending the
// goroutine as the real ones do.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatal(args ...any) {
	r.fatal = fmt.Sprint(args...)
	runtime.Goexit()
}
func (r *recorder) Fatalf(f string, args ...any) {
	r.fatal = fmt.Sprintf(f, args...)
	runtime.Goexit()
}
func (r *recorder) Skip(args ...any) {
	r.skip = fmt.Sprint(args...)
	runtime.Goexit()
}
func (r *recorder) Skipf(f string, args ...any) {
	r.skip = fmt.Sprintf(f, args...)
	runtime.Goexit()
}

func run(t *testing.T, fn func(testing.TB)) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(r)
	}()
	<-done
	return r
}

// A server without the PostgreSQL plugin skips a test that needs it, and
// fails it in CI (HUSH_TEST_REQUIRE_ALL=1), where nothing may skip for want
// of a real component.
func TestPostgresPluginMissing(t *testing.T) {
	s := &Server{Plugins: []string{"other-plugin"}}
	t.Setenv("HUSH_TEST_REQUIRE_ALL", "")
	if r := run(t, func(tb testing.TB) { s.PostgresPlugin(tb) }); r.skip == "" || r.fatal != "" {
		t.Errorf("without CI: skip %q, fatal %q", r.skip, r.fatal)
	}
	t.Setenv("HUSH_TEST_REQUIRE_ALL", "1")
	if r := run(t, func(tb testing.TB) { s.PostgresPlugin(tb) }); r.fatal == "" || r.skip != "" {
		t.Errorf("in CI: skip %q, fatal %q", r.skip, r.fatal)
	}
	s.Plugins = append(s.Plugins, "postgresql-database-plugin")
	var name string
	if r := run(t, func(tb testing.TB) { name = s.PostgresPlugin(tb) }); r.fatal != "" || r.skip != "" || name != "postgresql-database-plugin" {
		t.Errorf("with the plugin: %q, skip %q, fatal %q", name, r.skip, r.fatal)
	}
}

// pluginDir lists the plugins beside the binary, through a symbolic link
// (Vault refuses a plugin directory that is one), and none when the
// directory is missing or empty.
func TestPluginDir(t *testing.T) {
	root := t.TempDir()
	bin := filepath.Join(root, "bin")
	real := filepath.Join(root, "real")
	for _, d := range []string{bin, real} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	vault := filepath.Join(bin, "vault")
	if dir, names := pluginDir(vault); dir != "" || names != nil {
		t.Errorf("no plugins directory: %q %v", dir, names)
	}
	if err := os.Symlink(real, filepath.Join(bin, "plugins")); err != nil {
		t.Fatal(err)
	}
	if dir, names := pluginDir(vault); dir != "" || names != nil {
		t.Errorf("empty plugins directory: %q %v", dir, names)
	}
	for _, n := range []string{"b-plugin", "a-plugin"} {
		if err := os.WriteFile(filepath.Join(real, n), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(real, "subdir"), 0o755); err != nil {
		t.Fatal(err)
	}
	dir, names := pluginDir(vault)
	if want, _ := filepath.EvalSymlinks(real); dir != want || !reflect.DeepEqual(names, []string{"a-plugin", "b-plugin"}) {
		t.Errorf("pluginDir = %q %v, want %q [a-plugin b-plugin]", dir, names, want)
	}
}
