package store

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hush-secrets/hush/crypt"
)

// A checkout this user cannot write — a deploy directory of another user,
// a read-only mount — still reads: the first read pins the configuration
// under this user's own lock instead of failing on .hush/.lock. As root
// (CI) the test runs its reader as nobody, whom the permissions bind.
func TestReadOnlyCheckout(t *testing.T) {
	if root := os.Getenv("HUSH_RO_CHILD"); root != "" {
		readOnlyChild(root)
		return
	}
	p, id := newProject(t)
	set(t, p, id, "dev", Team, "TOKEN", "team-token")
	// Lay the project out as git checks it out for someone else: files
	// 0644, directories 0755, the owner's lock file left behind.
	dir, err := os.MkdirTemp("", "hush-ro-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	checkout := filepath.Join(dir, "app")
	if err := os.CopyFS(checkout, os.DirFS(filepath.Join(p.Root, DirName, ".."))); err != nil {
		t.Fatal(err)
	}
	_ = os.RemoveAll(filepath.Join(checkout, "data"))
	if err := os.WriteFile(filepath.Join(checkout, DirName, ".lock"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(dir, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "store.test")
	b, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestReadOnlyCheckout$")
	cmd.Env = append(os.Environ(), "HUSH_RO_CHILD="+checkout, "HUSH_RO_DATA="+filepath.Join(home, "data"), "HUSH_RO_ID="+id.SecretText())
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		mode := fs.FileMode(0o644)
		if d.IsDir() {
			mode = 0o755
		}
		if path == bin {
			mode = 0o755
		}
		if strings.HasPrefix(path, home) {
			return nil
		}
		return os.Chmod(path, mode)
	})
	if err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(home, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}}
	} else {
		// Ourselves: the checkout's directories made read-only.
		for _, d := range []string{filepath.Join(checkout, DirName), checkout} {
			if err := os.Chmod(d, 0o555); err != nil {
				t.Fatal(err)
			}
		}
		t.Cleanup(func() { _ = os.Chmod(checkout, 0o755); _ = os.Chmod(filepath.Join(checkout, DirName), 0o755) })
	}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "value=team-token") {
		t.Fatalf("reading a checkout this user cannot write: %v\n%s", err, out)
	}
}

// readOnlyChild opens root as a fresh user and prints TOKEN's value.
func readOnlyChild(root string) {
	fail := func(err error) {
		os.Stdout.WriteString("child: " + err.Error() + "\n")
		os.Exit(1)
	}
	id, err := crypt.ParseIdentity([]byte(os.Getenv("HUSH_RO_ID")), "test")
	if err != nil {
		fail(err)
	}
	p, err := Open(root, os.Getenv("HUSH_RO_DATA"))
	if err != nil {
		fail(err)
	}
	if _, err := p.Register(time.Now()); err != nil {
		fail(err)
	}
	d, err := p.Read("dev", Team, id)
	if err != nil {
		fail(err)
	}
	os.Stdout.WriteString("value=" + d.Secrets["TOKEN"].Value.Reveal() + "\n")
}
