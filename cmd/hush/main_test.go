package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the test binary act as the hush command inside scripts, so
// they run the real CLI in a real process, as age's and chezmoi's do.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"hush":     hushMain, // acme_test.go
		"tlsserve": tlsServe, // acme_test.go
	})
}

// hushSops builds the real hush-sops once for the whole test binary and
// returns its path (under .cache/test, where go build's cache makes
// later runs quick). It is built, not played by this binary as hush is:
// linking sops here would slow every hush the scripts start by its
// start-up cost, as it would slow hush itself.
var hushSops = sync.OnceValues(func() (string, error) {
	dir, err := filepath.Abs(filepath.Join("..", "..", ".cache", "test"))
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "hush-sops")
	cmd := exec.Command("go", "build", "-o", path, "./cmd/hush-sops")
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building hush-sops: %v\n%s", err, out)
	}
	return path, nil
})

// requireAll is set in CI: a test that would skip for want of a real
// component (age, gnome-keyring, dbus) fails instead.
func requireAll() bool { return os.Getenv("HUSH_TEST_REQUIRE_ALL") == "1" }

func TestScripts(t *testing.T) {
	t.Parallel()
	testscript.Run(t, testscript.Params{
		Dir:                 "../../testdata/script",
		RequireExplicitExec: true,
		Setup:               scriptSetup,
		Cmds:                scriptCmds,
		Condition:           scriptCondition,
	})
}

// scriptCondition: [have:TOOL] is true when TOOL is on PATH; in CI a
// missing tool is a failure, not a skip.
func scriptCondition(cond string) (bool, error) {
	if tool, ok := strings.CutPrefix(cond, "have:"); ok {
		if _, err := exec.LookPath(tool); err != nil {
			if requireAll() {
				return false, fmt.Errorf("HUSH_TEST_REQUIRE_ALL=1 but %s is not installed", tool)
			}
			return false, nil
		}
		return true, nil
	}
	if cond == "journald" {
		if !haveJournald() && requireAll() {
			return false, fmt.Errorf("HUSH_TEST_REQUIRE_ALL=1 but systemd-journald cannot run here (root, unshare, journalctl)")
		}
		return haveJournald(), nil
	}
	return false, fmt.Errorf("unknown condition %q", cond)
}

func scriptSetup(e *testscript.Env) error {
	home := filepath.Join(e.WorkDir, "home")
	bin := filepath.Join(e.WorkDir, ".bin")
	for _, d := range []string{home, bin} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	// xc runs a command and reports its exit code on stderr, so scripts can
	// assert exact codes: exec xc hush get X; stderr '\[exit 3\]'.
	xc := "#!/bin/sh\n\"$@\"\necho \"[exit $?]\" >&2\n"
	if err := os.WriteFile(filepath.Join(bin, "xc"), []byte(xc), 0o755); err != nil {
		return err
	}
	sops, err := hushSops()
	if err != nil {
		return err
	}
	// hush-cloud beside it: what an installed hush has (install.sh puts
	// the three together).
	if _, err := hushCloud(); err != nil {
		return err
	}
	e.Setenv("PATH", bin+string(os.PathListSeparator)+filepath.Dir(sops)+string(os.PathListSeparator)+e.Getenv("PATH"))
	e.Setenv("HOME", home)
	e.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	e.Setenv("XDG_DATA_HOME", filepath.Join(home, ".local", "share"))
	e.Setenv("XDG_STATE_HOME", filepath.Join(home, ".local", "state"))
	e.Setenv("XDG_RUNTIME_DIR", "")
	e.Setenv("NO_COLOR", "1")
	if abs, err := filepath.Abs(filepath.Join("..", "..", "completions")); err == nil {
		e.Setenv("HUSH_COMPLETIONS", abs)
	}
	// HUSH_TESTDATA is the repository's testdata, for committed fixtures
	// scripts copy in (a store written by an older hush).
	if abs, err := filepath.Abs(filepath.Join("..", "..", "testdata")); err == nil {
		e.Setenv("HUSH_TESTDATA", abs)
	}
	e.Setenv("HUSH_ENV", "")
	e.Setenv("HUSH_IDENTITY", "")
	e.Setenv("HUSH_IDENTITY_FILE", "")
	// No session bus: the keyring must fall through, fast. Scripts that
	// test the real Secret Service start their own with dbus-run-session.
	e.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+filepath.Join(e.WorkDir, "no-bus"))
	return nil
}

var scriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	// corrupt FILE OFFSET flips one byte of FILE at OFFSET (negative: from
	// the end).
	"corrupt": func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 2 {
			ts.Fatalf("usage: corrupt FILE OFFSET")
		}
		path := ts.MkAbs(args[0])
		b, err := os.ReadFile(path)
		ts.Check(err)
		off, err := strconv.Atoi(args[1])
		ts.Check(err)
		if off < 0 {
			off += len(b)
		}
		if off < 0 || off >= len(b) {
			ts.Fatalf("offset %d outside %d bytes", off, len(b))
		}
		// Flip to another base64 character so armor still parses and the
		// damage reaches age's authentication.
		if b[off] == 'A' {
			b[off] = 'B'
		} else {
			b[off] = 'A'
		}
		ts.Check(os.WriteFile(path, b, 0o600))
	},
	// truncate FILE N keeps the first N bytes.
	"truncate": func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 2 {
			ts.Fatalf("usage: truncate FILE N")
		}
		n, err := strconv.Atoi(args[1])
		ts.Check(err)
		ts.Check(os.Truncate(ts.MkAbs(args[0]), int64(n)))
	},
	// bigfile FILE N writes N bytes of 'x'.
	"bigfile": func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 2 {
			ts.Fatalf("usage: bigfile FILE N")
		}
		n, err := strconv.Atoi(args[1])
		ts.Check(err)
		ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(strings.Repeat("x", n)), 0o600))
	},
	// nonl FILE removes one trailing newline from FILE (txtar files always
	// end in one).
	"nonl": func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 1 {
			ts.Fatalf("usage: nonl FILE")
		}
		path := ts.MkAbs(args[0])
		b, err := os.ReadFile(path)
		ts.Check(err)
		ts.Check(os.WriteFile(path, []byte(strings.TrimSuffix(string(b), "\n")), 0o600))
	},
	// waitfile FILE waits (up to 20 s) until FILE exists, so a script can
	// signal a background process only once it is ready.
	"waitfile": func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 1 {
			ts.Fatalf("usage: waitfile FILE")
		}
		for i := 0; i < 2000; i++ {
			if _, err := os.Stat(ts.MkAbs(args[0])); err == nil {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		ts.Fatalf("%s did not appear", args[0])
	},
	// sendsig SIG FILE sends signal SIG (TERM, INT, HUP, USR1…) to the
	// process whose pid is in FILE.
	"sendsig": func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 2 {
			ts.Fatalf("usage: sendsig SIG PIDFILE")
		}
		sigs := map[string]syscall.Signal{"TERM": syscall.SIGTERM, "INT": syscall.SIGINT, "HUP": syscall.SIGHUP,
			"QUIT": syscall.SIGQUIT, "USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2, "WINCH": syscall.SIGWINCH}
		sig, ok := sigs[args[0]]
		if !ok {
			ts.Fatalf("unknown signal %s", args[0])
		}
		b, err := os.ReadFile(ts.MkAbs(args[1]))
		ts.Check(err)
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		ts.Check(err)
		ts.Check(syscall.Kill(pid, sig))
	},
	// mode FILE PERM asserts a file's permission bits.
	"mode": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: mode FILE PERM")
		}
		st, err := os.Lstat(ts.MkAbs(args[0]))
		ts.Check(err)
		want, err := strconv.ParseUint(args[1], 8, 32)
		ts.Check(err)
		if (uint64(st.Mode().Perm()) == want) == neg {
			ts.Fatalf("%s has mode %04o, want %s%04o", args[0], st.Mode().Perm(), map[bool]string{true: "not ", false: ""}[neg], want)
		}
	},
	// detached CMD... runs CMD in a new session (no controlling terminal)
	// with stdin from /dev/null, writing its stderr to $WORK/detached.err.
	"detached": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) == 0 {
			ts.Fatalf("usage: detached CMD...")
		}
		runDetached(ts, neg, args)
	},
}
