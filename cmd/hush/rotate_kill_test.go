package main

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// killScript is a command provider whose "source" is src/valid, the keys
// it accepts. It converges on a rerun (create adds the proposed key once),
// and stops at a point named by a file src/pause-POINT, touching
// src/at-POINT, so a test can kill hush exactly there.
const killScript = `#!/bin/sh
old=$(cat <&3)
new=$(cat <&4)
pause() { if [ -e src/pause-$1 ]; then : > src/at-$1; sleep 30; fi; }
case $1 in
create) pause create-before
	grep -qxF -- "$new" src/valid || printf '%s\n' "$new" >> src/valid
	pause create-after
	printf '%s\n' "$new" ;;
verify) pause verify; grep -qxF -- "$new" src/valid ;;
retire) pause retire-before
	grep -vxF -- "$old" src/valid > src/valid.tmp; mv src/valid.tmp src/valid
	pause retire-after ;;
*) exit 2 ;;
esac
`

func killProject(t *testing.T) *faultEnv {
	f := newFaultEnv(t, "")
	f.must("", "init", "--name", "rotkill")
	script := filepath.Join(f.dir, "rot.sh")
	if err := os.WriteFile(script, []byte(killScript), 0o755); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(f.dir, "src"), 0o755)
	os.WriteFile(filepath.Join(f.dir, "src", "valid"), []byte("old-key-0\n"), 0o644)
	f.must("old-key-0", "set", "API_KEY")
	sum, err := fileSHA256(script)
	if err != nil {
		t.Fatal(err)
	}
	fh, _ := os.OpenFile(filepath.Join(f.dir, ".hush", "hush.yaml"), os.O_APPEND|os.O_WRONLY, 0)
	fh.WriteString("rotation:\n  sources:\n    API_KEY:\n      provider: command\n      command: [./rot.sh]\n      sha256: {./rot.sh: " + sum + "}\n")
	fh.Close()
	f.must("", "ack", "--yes")
	return f
}

// agree checks the invariant a finished rotation leaves: the source
// accepts exactly the stored key, the journal is gone, the audit chain
// verifies.
func agree(t *testing.T, f *faultEnv, when string) {
	t.Helper()
	stored := f.must("", "get", "API_KEY")
	b, _ := os.ReadFile(filepath.Join(f.dir, "src", "valid"))
	if got := strings.TrimSpace(string(b)); got != stored {
		t.Fatalf("%s: the source accepts %q, the store holds %q", when, got, stored)
	}
	if out := f.must("", "status"); strings.Contains(out, "unfinished rotation") {
		t.Fatalf("%s: status still shows a rotation: %s", when, out)
	}
	f.must("", "audit", "verify")
}

// TestKillRotationAtEachStep SIGKILLs hush at each step of a rotation at
// a source (before and after the source changes in create, in verify,
// before and after retire): status then names the unfinished rotation,
// and hush rotate --resume finishes it with store and source agreeing.
func TestKillRotationAtEachStep(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("slow")
	}
	f := killProject(t)
	for _, point := range []string{"create-before", "create-after", "verify", "retire-before", "retire-after"} {
		pause := filepath.Join(f.dir, "src", "pause-"+point)
		at := filepath.Join(f.dir, "src", "at-"+point)
		os.WriteFile(pause, nil, 0o644)
		c := f.cmd("", "rotate", "API_KEY")
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			if _, err := os.Stat(at); err == nil {
				break
			}
			if time.Now().After(deadline) {
				c.Process.Kill()
				t.Fatalf("%s: the script never reached the point", point)
			}
			time.Sleep(10 * time.Millisecond)
		}
		c.Process.Signal(syscall.SIGKILL)
		c.Wait()
		os.Remove(pause)
		os.Remove(at)
		out := f.must("", "status")
		if !strings.Contains(out, "unfinished rotation of API_KEY in dev (command)") {
			t.Fatalf("%s: status does not show the unfinished rotation: %s", point, out)
		}
		// A value by hand is refused meanwhile.
		if _, errs, err := f.run("by-hand", "rotate", "API_KEY", "--manual"); err == nil || !strings.Contains(errs, "unfinished rotation") {
			t.Fatalf("%s: a manual rotation during an unfinished one: %v %s", point, err, errs)
		}
		out, errs, err := f.run("", "rotate", "--resume")
		if err != nil {
			t.Fatalf("%s: resume: %v %s", point, err, errs)
		}
		if !strings.Contains(out, "rotated API_KEY in dev at its source (command)") {
			t.Fatalf("%s: resume said %q", point, out)
		}
		agree(t, f, point)
	}
}

// TestKillRotationAtRandom kills hush at random moments of rotations (the
// instants between phases included: after the store write and before the
// journal says so, after retire and before the journal is removed), and
// each time the next run — rerunning hush rotate KEY, which continues the
// unfinished rotation — leaves store and source agreeing.
func TestKillRotationAtRandom(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("slow")
	}
	f := killProject(t)
	// The kills land at random instants of a window that follows the
	// rotation wherever it is on this machine (under -race, beside other
	// tests, a rotation takes many times what it takes idle, and varies
	// from run to run): a kill after the rotation finished narrows the
	// window from above, one before it began (nothing changed) from
	// below. It starts as the length of one unkilled run.
	start := time.Now()
	f.must("", "rotate", "API_KEY")
	lo, hi := time.Duration(0), time.Since(start)
	agree(t, f, "unkilled")
	rng := rand.New(rand.NewPCG(21, 21))
	killed, rounds := 0, 0
	for ; rounds < 30 || killed < 5 && rounds < 120; rounds++ {
		before := f.must("", "get", "API_KEY")
		c := f.cmd("", "rotate", "API_KEY")
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		d := lo + time.Duration(rng.Int64N(int64(hi-lo)+1))
		time.Sleep(d)
		c.Process.Signal(syscall.SIGKILL)
		c.Wait()
		switch out := f.must("", "status"); {
		case strings.Contains(out, "unfinished rotation"):
			killed++
		case f.must("", "get", "API_KEY") != before:
			hi = max(d, lo+time.Millisecond) // it had finished: kill sooner
		default:
			lo = d * 9 / 10 // it had not begun: kill later
		}
		if _, errs, err := f.run("", "rotate", "API_KEY"); err != nil {
			t.Fatalf("round %d: rerun: %v %s", rounds, err, errs)
		}
		agree(t, f, "round "+string(rune('a'+rounds%26)))
	}
	t.Logf("%d of %d rotations killed before they finished (window %v-%v)", killed, rounds, lo, hi)
	if killed < 5 {
		t.Fatalf("only %d kills in %d rounds landed inside a rotation: the window never found it", killed, rounds)
	}
}

func fileSHA256(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%x", sha256.Sum256(b)), nil
}

// TestRotationStoreConflict: the source changed (create ran) but hush
// died before storing, and then the key was set by hand: the resumed
// rotation refuses to overwrite (exit 6), saying why, until --force; a
// resumed rotation under changed settings is refused too.
func TestRotationStoreConflict(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("slow")
	}
	f := killProject(t)
	pause := filepath.Join(f.dir, "src", "pause-create-after")
	at := filepath.Join(f.dir, "src", "at-create-after")
	os.WriteFile(pause, nil, 0o644)
	c := f.cmd("", "rotate", "API_KEY")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2000; i++ {
		if _, err := os.Stat(at); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.Process.Signal(syscall.SIGKILL)
	c.Wait()
	os.Remove(pause)
	f.must("typed-by-hand", "set", "API_KEY")
	_, errs, err := f.run("", "rotate", "--resume")
	if exitCodeOf(err) != exitConflict || !strings.Contains(errs, "API_KEY in dev changed since its rotation began") || !strings.Contains(errs, "--resume --force") {
		t.Fatalf("resume over a value set by hand: %v %s", err, errs)
	}
	if got := f.must("", "get", "API_KEY"); got != "typed-by-hand" {
		t.Fatalf("the value by hand was overwritten: %q", got)
	}
	// Settings changed under the unfinished rotation: refused.
	appendConfig(t, f, "      overlap: true\n")
	f.must("", "ack", "--yes")
	if _, errs, err := f.run("", "rotate", "--resume", "--force"); exitCodeOf(err) != exitConflict || !strings.Contains(errs, "began under other rotation.sources settings") {
		t.Fatalf("resume under changed settings: %v %s", err, errs)
	}
	b, _ := os.ReadFile(filepath.Join(f.dir, ".hush", "hush.yaml"))
	os.WriteFile(filepath.Join(f.dir, ".hush", "hush.yaml"), []byte(strings.Replace(string(b), "      overlap: true\n", "", 1)), 0o644)
	f.must("", "ack", "--yes")
	f.must("", "rotate", "--resume", "--force")
	agree(t, f, "after --force")
}

func exitCodeOf(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}
