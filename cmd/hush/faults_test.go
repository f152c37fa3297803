package main

import (
	"bytes"
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

// Faults the file system can throw at hush: a full disk, a read-only
// store, permission denied, and SIGKILL in the middle of writing commands.
// Afterwards nothing is lost or half-written and the next command works.

type faultEnv struct {
	t    *testing.T
	bin  string
	dir  string
	home string
	env  []string
}

func newFaultEnv(t *testing.T, home string) *faultEnv {
	w := t.TempDir()
	bin := filepath.Join(w, "bin")
	os.MkdirAll(bin, 0o755)
	self, _ := os.Executable()
	if err := os.Symlink(self, filepath.Join(bin, "hush")); err != nil {
		t.Fatal(err)
	}
	if home == "" {
		home = filepath.Join(w, "home")
	}
	f := &faultEnv{t: t, bin: filepath.Join(bin, "hush"), dir: filepath.Join(w, "proj"), home: home}
	os.MkdirAll(f.dir, 0o755)
	f.env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+home+"/.config", "XDG_DATA_HOME="+home+"/.local/share",
		"XDG_STATE_HOME="+home+"/.local/state", "HUSH_KEYRING=off", "HUSH_ENV=", "HUSH_IDENTITY=", "HUSH_IDENTITY_FILE=")
	return f
}

// withCompanion puts the real hush-cloud on the PATH of the commands f
// runs, for the rotation providers it runs (postgres, mysql, acme): f's
// hush is a link to the test binary, beside which there is none.
func (f *faultEnv) withCompanion() {
	f.t.Helper()
	path, err := hushCloud()
	if err != nil {
		f.t.Fatal(err)
	}
	f.env = append(f.env, "PATH="+filepath.Dir(path)+string(os.PathListSeparator)+os.Getenv("PATH"))
}

func (f *faultEnv) cmd(stdin string, args ...string) *exec.Cmd {
	c := exec.Command(f.bin, args...)
	c.Dir, c.Env, c.Stdin = f.dir, f.env, strings.NewReader(stdin)
	return c
}

func (f *faultEnv) run(stdin string, args ...string) (string, string, error) {
	c := f.cmd(stdin, args...)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	return out.String(), errb.String(), err
}

func (f *faultEnv) must(stdin string, args ...string) string {
	f.t.Helper()
	out, errs, err := f.run(stdin, args...)
	if err != nil {
		f.t.Fatalf("hush %v: %v\n%s", args, err, errs)
	}
	return out
}

func requireRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		if requireAll() {
			t.Fatal("HUSH_TEST_REQUIRE_ALL=1: fault tests need root (tmpfs mounts, setpriv)")
		}
		t.Skip("needs root")
	}
}

// TestDiskFull: the whole home and project live on a 256 KiB tmpfs. A set
// that does not fit fails cleanly; the store still holds its old content
// and no temporary file is left; once space is freed hush works again.
func TestDiskFull(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", mnt).CombinedOutput(); err != nil {
		if requireAll() {
			t.Fatalf("mount tmpfs: %v %s", err, out)
		}
		t.Skipf("cannot mount tmpfs: %s", out)
	}
	t.Cleanup(func() { exec.Command("umount", mnt).Run() })
	f := newFaultEnv(t, filepath.Join(mnt, "home"))
	f.dir = filepath.Join(mnt, "proj")
	os.MkdirAll(f.dir, 0o755)
	f.must("", "init", "--name", "full")
	f.must("keep-this-value\n", "set", "KEEP")
	before, _ := os.ReadFile(filepath.Join(f.dir, ".hush", "dev.age"))
	// Fill the file system, leaving a little room.
	filler := filepath.Join(mnt, "filler")
	fh, _ := os.Create(filler)
	fh.Write(make([]byte, 200<<10))
	fh.Close()
	big := strings.Repeat("x", 100<<10)
	_, errs, err := f.run(big, "set", "BIG")
	if err == nil {
		t.Fatal("set on a full disk succeeded")
	}
	if !strings.Contains(errs, "no space left") {
		t.Errorf("stderr: %s", errs)
	}
	after, _ := os.ReadFile(filepath.Join(f.dir, ".hush", "dev.age"))
	if !bytes.Equal(before, after) {
		t.Fatal("the store changed after a failed write")
	}
	if m, _ := filepath.Glob(filepath.Join(f.dir, ".hush", ".*.tmp-*")); len(m) > 0 {
		t.Fatalf("temporary files left: %v", m)
	}
	os.Remove(filler)
	if out := f.must("", "get", "KEEP"); out != "keep-this-value" {
		t.Fatalf("get after the fault: %q", out)
	}
	f.must("small\n", "set", "AFTER")
	f.must("", "audit", "verify")
}

// TestReadOnlyStore: a store on a read-only file system can be read, and a
// write fails with a clear error and changes nothing.
func TestReadOnlyStore(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	f := newFaultEnv(t, "")
	f.must("", "init", "--name", "ro")
	f.must("value-one\n", "set", "A")
	ro := t.TempDir()
	if out, err := exec.Command("mount", "--bind", "-o", "ro", f.dir, ro).CombinedOutput(); err != nil {
		if requireAll() {
			t.Fatalf("bind mount: %v %s", err, out)
		}
		t.Skipf("cannot bind-mount: %s", out)
	}
	t.Cleanup(func() { exec.Command("umount", ro).Run() })
	// A read-only bind mount needs a remount on older kernels.
	exec.Command("mount", "-o", "remount,bind,ro", ro).Run()
	f.dir = ro
	if out := f.must("", "get", "A"); out != "value-one" {
		t.Fatalf("get from a read-only store: %q", out)
	}
	_, errs, err := f.run("value-two\n", "set", "A")
	if err == nil || !strings.Contains(errs, "read-only file system") {
		t.Fatalf("set on a read-only store: %v %s", err, errs)
	}
	if out := f.must("", "get", "A"); out != "value-one" {
		t.Fatalf("value changed: %q", out)
	}
}

// TestPermissionDenied: another user (nobody, through setpriv) can read
// neither the store nor the identity: a clear error, never a crash.
func TestPermissionDenied(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("needs setpriv")
	}
	f := newFaultEnv(t, "")
	f.must("", "init", "--name", "perm")
	f.must("mine-only\n", "set", "A")
	// Let nobody walk to the project; the files themselves stay 0600.
	for d := f.dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	c := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", f.bin, "get", "A")
	c.Dir = f.dir
	c.Env = append(f.env, "HOME=/nonexistent", "XDG_STATE_HOME=/tmp/hush-nobody-state", "HUSH_IDENTITY_FILE="+filepath.Join(f.home, ".config/hush/identity.txt"))
	out, err := c.CombinedOutput()
	if err == nil {
		t.Fatalf("nobody read the secret: %s", out)
	}
	if strings.Contains(string(out), "mine-only") || strings.Contains(string(out), "panic") {
		t.Fatalf("output: %s", out)
	}
	if !strings.Contains(string(out), "permission denied") {
		t.Errorf("output: %s", out)
	}
}

// TestKillWritingCommands SIGKILLs hush at random moments during commands
// that write (set, member rm, rm, import) many times; after each kill the
// store decrypts, the audit chain verifies, and the next command works.
func TestKillWritingCommands(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("slow")
	}
	f := newFaultEnv(t, "")
	f.must("", "init", "--name", "kill", "--env", "dev,prod")
	other := filepath.Join(t.TempDir(), "other.key")
	f.must("", "keygen", "-o", other)
	c := f.cmd("", "whoami")
	c.Env = append(f.env, "HUSH_IDENTITY_FILE="+other)
	pub, _ := c.Output()
	pubFile := filepath.Join(t.TempDir(), "other.pub")
	os.WriteFile(pubFile, pub, 0o644)
	envFile := filepath.Join(t.TempDir(), "in.env")
	var sb strings.Builder
	for i := 0; i < 300; i++ {
		sb.WriteString("IMPORTED_" + string(rune('A'+i%26)) + strings.Repeat("X", i%7) + "=" + strings.Repeat("v", 64) + "\n")
	}
	os.WriteFile(envFile, []byte(sb.String()), 0o600)
	rng := rand.New(rand.NewPCG(7, 7))
	cmds := [][]string{
		{"set", "K"}, {"import", envFile, "--overwrite"}, {"rm", "K"},
		{"member", "add", pubFile, "--env", "dev,prod", "--label", "other"}, {"member", "rm", "other", "--all"},
	}
	// Each command's kills spread over as long as it takes here whole
	// (under -race on a loaded machine, many times an idle run), so they
	// land inside it rather than all before it began.
	whole := make([]time.Duration, len(cmds))
	for i, args := range cmds {
		start := time.Now()
		f.run("value\n", args...)
		whole[i] = time.Since(start)
	}
	for round := 0; round < 60; round++ {
		args := cmds[round%len(cmds)]
		c := f.cmd("value-"+string(rune('a'+round%26))+"\n", args...)
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.Int64N(int64(whole[round%len(cmds)]) * 11 / 10)))
		c.Process.Signal(syscall.SIGKILL)
		c.Wait()
		for _, env := range []string{"dev", "prod"} {
			if _, errs, err := f.run("", "ls", "--env", env); err != nil {
				t.Fatalf("round %d (%v): %s unreadable after SIGKILL: %s", round, args, env, errs)
			}
		}
		if _, errs, err := f.run("", "audit", "verify"); err != nil {
			t.Fatalf("round %d (%v): audit chain broken after SIGKILL: %s", round, args, errs)
		}
	}
	// An interrupted member removal is finished by running it again.
	f.run("", "member", "rm", "other", "--all")
	out := f.must("", "member", "ls", "--json")
	if strings.Contains(out, `"label": "other"`) {
		t.Fatalf("member still listed after the rerun: %s", out)
	}
	f.must("final\n", "set", "FINAL")
}

// TestDiskFillsBeforeTheLine: contract 4 when the audit log's file system
// is full and the store's is not (a home on its own partition): at every
// level of free space in the home, page by page, a set either changes
// nothing or changes the store and records its line — never a change
// without one. The home and the project are two tmpfs mounts.
func TestDiskFillsBeforeTheLine(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	mount := func(size string) string {
		mnt := t.TempDir()
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", mnt).CombinedOutput(); err != nil {
			if requireAll() {
				t.Fatalf("mount tmpfs: %v %s", err, out)
			}
			t.Skipf("cannot mount tmpfs: %s", out)
		}
		t.Cleanup(func() { exec.Command("umount", mnt).Run() })
		return mnt
	}
	homeFS, projFS := mount("1m"), mount("2m")
	f := newFaultEnv(t, filepath.Join(homeFS, "home"))
	f.dir = filepath.Join(projFS, "proj")
	os.MkdirAll(f.dir, 0o755)
	f.must("", "init", "--name", "fill")
	f.must("first\n", "set", "KEY")
	store := filepath.Join(f.dir, ".hush", "dev.age")
	logPath := filepath.Join(f.home, ".local", "state", "hush", "audit.jsonl")
	filler := filepath.Join(homeFS, "filler")
	free := func() int64 {
		var st syscall.Statfs_t
		if err := syscall.Statfs(homeFS, &st); err != nil {
			t.Fatal(err)
		}
		return int64(st.Bavail) * st.Bsize
	}
	writes := func() int {
		b, err := os.ReadFile(logPath)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, `"action":"secret.write"`) && strings.Contains(line, `"path":"fill/dev/KEY"`) && strings.Contains(line, `"success":true`) {
				n++
			}
		}
		return n
	}
	changes, refusals := 0, 0
	// Down to a full home, then full again and again: the first full
	// level uses the room kept for the line, the next ones the slack left
	// in the log's last page (the anchor and the witness are written in
	// place, so a line needs no new page until that slack is gone), and
	// then find none and refuse.
	var levels []int64
	for leave := int64(64 << 10); leave >= 0; leave -= 4 << 10 {
		levels = append(levels, leave)
	}
	for range 16 {
		levels = append(levels, 0)
	}
	for _, leave := range levels {
		os.Remove(filler)
		if room := free() - leave; room > 0 {
			if err := os.WriteFile(filler, make([]byte, room), 0o600); err != nil && !strings.Contains(err.Error(), "no space") {
				t.Fatal(err)
			}
		}
		before, _ := os.ReadFile(store)
		lines := writes()
		value := fmt.Sprintf("value-at-%d-KiB", leave>>10)
		_, errs, err := f.run(value, "set", "KEY")
		after, _ := os.ReadFile(store)
		changed := !bytes.Equal(before, after)
		os.Remove(filler)
		t.Logf("%d KiB left: changed %v, err %v: %s", leave>>10, changed, err, strings.TrimSpace(errs))
		switch {
		case changed && writes() != lines+1:
			t.Errorf("%d KiB left in the home: the store changed without its audit line (set: %v; %s)", leave>>10, err, strings.TrimSpace(errs))
		case changed:
			changes++
		case err == nil:
			t.Errorf("%d KiB left: set succeeded and changed nothing", leave>>10)
		default:
			refusals++
		}
	}
	if changes == 0 || refusals == 0 {
		t.Fatalf("%d changes, %d refusals: the levels did not reach both sides", changes, refusals)
	}
	f.must("", "audit", "verify")
}
