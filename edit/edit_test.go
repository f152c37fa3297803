package edit

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func shm(t *testing.T) string {
	t.Helper()
	if _, mem, err := fsType("/dev/shm"); err != nil || !mem {
		if os.Getenv("HUSH_TEST_REQUIRE_ALL") == "1" {
			t.Fatalf("HUSH_TEST_REQUIRE_ALL=1 but /dev/shm is not memory-backed (%v)", err)
		}
		t.Skip("/dev/shm is not memory-backed here")
	}
	return "/dev/shm"
}

func TestNewBufferRefusesDisk(t *testing.T) {
	// The package directory is in the repository: on a disk.
	disk, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	if _, mem, _ := fsType(disk); mem {
		t.Skip("the repository is on a memory-backed file system")
	}
	b, err := NewBuffer([]string{"", "relative/dir", "/nonexistent-hush-test", disk})
	if b != nil || !errors.Is(err, ErrNoMemoryDir) {
		t.Fatalf("NewBuffer = %v, %v", b, err)
	}
	for _, want := range []string{"relative/dir: not an absolute path", "/nonexistent-hush-test: not a directory", disk + ": on ", "which is disk-backed", "refusing to write plaintext to disk"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if entries, _ := os.ReadDir(disk); slices.ContainsFunc(entries, func(e os.DirEntry) bool { return strings.HasPrefix(e.Name(), prefix) }) {
		t.Error("a buffer directory was made on the disk")
	}
}

func TestNewBufferOnTmpfs(t *testing.T) {
	base := shm(t)
	disk, _ := filepath.Abs(".")
	b, err := NewBuffer([]string{disk, base})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Remove()
	if filepath.Dir(b.Dir) != base || b.FS != "tmpfs" {
		t.Fatalf("buffer %s on %s", b.Dir, b.FS)
	}
	st, err := os.Stat(b.Dir)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("buffer dir: %v, %v", st, err)
	}
	if !strings.HasPrefix(filepath.Base(b.Dir), fmt.Sprintf("%s%d-%s-", prefix, os.Getpid(), startTime(os.Getpid()))) {
		t.Fatalf("buffer name %s does not carry this process", b.Dir)
	}
	// Its own buffer is not stale while this process lives.
	if removed := RemoveStale(base); slices.Contains(removed, b.Dir) {
		t.Fatal("RemoveStale removed a live process's buffer")
	}
	b.Remove()
	if _, err := os.Stat(b.Dir); !os.IsNotExist(err) {
		t.Fatalf("Remove left %s", b.Dir)
	}
}

func TestRemoveStale(t *testing.T) {
	base := shm(t)
	// A process that has exited: its pid is free (until reused).
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := cmd.Process.Pid
	me := os.Getpid()
	mk := func(name string) string {
		p := filepath.Join(base, name)
		if err := os.MkdirAll(p, 0o700); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(p, "dev.env"), []byte("K=v\n"), 0o600)
		t.Cleanup(func() { os.RemoveAll(p) })
		return p
	}
	tag := fmt.Sprintf("%x", me)
	deadDir := mk(fmt.Sprintf("%s%d-%s-%sdead", prefix, dead, "123", tag))
	reused := mk(fmt.Sprintf("%s%d-%s-%sreused", prefix, me, "1", tag)) // this pid, another start time
	live := mk(fmt.Sprintf("%s%d-%s-%slive", prefix, me, startTime(me), tag))
	old := mk(prefix + "oldstyle" + tag) // an older hush's MkdirTemp name: pid unknown
	removed := RemoveStale(base)
	for _, p := range []string{deadDir, reused} {
		if !slices.Contains(removed, p) {
			t.Errorf("%s not removed (removed %v)", p, removed)
		}
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s still there", p)
		}
	}
	for _, p := range []string{live, old} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s removed: %v", p, err)
		}
	}
}

func TestCommand(t *testing.T) {
	cases := []struct {
		setting string
		known   bool
		has     []string
	}{
		{"vim", true, []string{"-n", "-i", "NONE", "--cmd", "-c"}},
		{"nvim -p", true, []string{"-n", "-i", "NONE", "-p"}},
		{"nano", true, []string{"-I"}},
		{"emacs", true, []string{"-nw", "-Q", "--eval"}},
		{"emacsclient -t", false, []string{"-t"}},
		{"code --wait", false, []string{"--wait"}},
	}
	for _, c := range cases {
		argv, known, err := Command(c.setting, "/dev/shm/x/dev.env")
		if err != nil || known != c.known || argv[len(argv)-1] != "/dev/shm/x/dev.env" || argv[0] != strings.Fields(c.setting)[0] {
			t.Errorf("Command(%q) = %q, %v, %v", c.setting, argv, known, err)
			continue
		}
		for _, h := range c.has {
			if !slices.Contains(argv, h) {
				t.Errorf("Command(%q) = %q: no %s", c.setting, argv, h)
			}
		}
	}
	argv, _, _ := Command("vim", "f")
	for _, opt := range []string{"noswapfile", "noundofile", "nobackup", "nowritebackup", "nomodeline", "viminfofile=NONE", "shada="} {
		if !strings.Contains(argv[5], opt) || !strings.Contains(argv[9], opt) {
			t.Errorf("vim --cmd/-c lack %s: %q", opt, argv)
		}
	}
	if !strings.HasPrefix(argv[7], "silent! autocmd BufReadPre") || !strings.Contains(argv[7], "setlocal noswapfile noundofile nobackup nowritebackup nomodeline") {
		t.Errorf("vim lacks the buffer autocommand: %q", argv)
	}
	if _, _, err := Command(" \t ", "f"); err == nil {
		t.Error("a blank setting is accepted")
	}
}
