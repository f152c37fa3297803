//go:build unix

package daemon

import (
	"bufio"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A grouped server's children end with it, even one that ignores the
// signal its parent got and would otherwise be left running.
func TestStopEndsTheGroup(t *testing.T) {
	cmd := exec.Command("sh", "-c", `trap "" TERM; sleep 300 & echo $!; wait`)
	Group(cmd)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	child, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	Stop(cmd, done, syscall.SIGTERM, 200*time.Millisecond)
	for i := 0; alive(child); i++ {
		if i > 100 {
			t.Fatalf("the server's child %d outlived it", child)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// alive says pid runs: a zombie (killed, its parent gone, not yet reaped
// by init) does not.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return syscall.Kill(pid, 0) == nil
	}
	// pid (comm) STATE …; comm may hold spaces, so from the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}
