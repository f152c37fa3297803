package edit

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRealVimKeepsNoCopies runs the real vim on a terminal (a pty from
// util-linux's script) with a vimrc that asks for a swap file, an undo
// file and a viminfo file on disk. Started as configured it writes all
// three (the control, so the test can fail); started by Command's argv it
// writes none. The keystrokes delete a line, list the swap directory from
// inside vim while the buffer is open, and save.
func TestRealVimKeepsNoCopies(t *testing.T) {
	for _, tool := range []string{"vim", "script"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s", tool)
		}
	}
	run := func(t *testing.T, safe bool) (swap, undo string, viminfo bool, content string) {
		dir := t.TempDir()
		for _, d := range []string{"swap", "undo", "home"} {
			os.Mkdir(filepath.Join(dir, d), 0o700)
		}
		rc := filepath.Join(dir, "vimrc")
		os.WriteFile(rc, []byte("set swapfile directory="+dir+"/swap// updatecount=1 undofile undodir="+dir+"/undo viminfofile="+dir+"/viminfo viminfo='100\n"), 0o600)
		file := filepath.Join(dir, "dev.env")
		os.WriteFile(file, []byte("A=1\nDROP=2\n"), 0o600)
		argv := []string{"vim", "-u", rc, file}
		if safe {
			argv, _, _ = Command("vim -u "+rc, file)
		}
		quoted := make([]string, len(argv))
		for i, a := range argv {
			quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "script", "-qfec", strings.Join(quoted, " "), "/dev/null")
		cmd.Env = append(os.Environ(), "HOME="+filepath.Join(dir, "home"), "TERM=xterm")
		cmd.Stdin = strings.NewReader("jdd:!ls " + dir + "/swap > " + dir + "/swap.during\r\r:wq\r")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("vim: %v\n%q", err, out)
		}
		b, _ := os.ReadFile(filepath.Join(dir, "swap.during"))
		u, _ := os.ReadDir(filepath.Join(dir, "undo"))
		var names []string
		for _, e := range u {
			names = append(names, e.Name())
		}
		_, err := os.Stat(filepath.Join(dir, "viminfo"))
		c, _ := os.ReadFile(file)
		return strings.TrimSpace(string(b)), strings.Join(names, " "), err == nil, string(c)
	}
	swap, undo, viminfo, content := run(t, false)
	if swap == "" || undo == "" || !viminfo || content != "A=1\n" {
		t.Fatalf("control: swap %q, undo %q, viminfo %v, content %q: the vimrc did not make vim keep copies", swap, undo, viminfo, content)
	}
	swap, undo, viminfo, content = run(t, true)
	if swap != "" || undo != "" || viminfo || content != "A=1\n" {
		t.Fatalf("with hush's flags: swap %q, undo %q, viminfo %v, content %q", swap, undo, viminfo, content)
	}
}
