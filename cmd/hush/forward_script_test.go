package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	gosync "sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// Script commands for audit forwarding (testdata/script/audit_forward*.txtar).
func init() {
	// collector NAME TOKEN [hang] starts an HTTP collector for the rest
	// of the script, its URL in $NAME. It appends each request's body to
	// $WORK/NAME.got when it carries the token and the JSON-lines content
	// type, and answers 401 otherwise (recorded in $WORK/NAME.denied);
	// with hang it never answers. Every request is a line in
	// $WORK/NAME.req.
	scriptCmds["collector"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) < 2 || len(args) > 3 {
			ts.Fatalf("usage: collector NAME TOKEN [hang]")
		}
		name, token, hang := args[0], args[1], len(args) == 3 && args[2] == "hang"
		var mu gosync.Mutex
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			appendFile(ts.MkAbs(name+".req"), []byte("request\n"))
			if hang {
				<-r.Context().Done()
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if r.Method != http.MethodPost || r.Header.Get("Authorization") != "Bearer "+token || r.Header.Get("Content-Type") != "application/x-ndjson" {
				appendFile(ts.MkAbs(name+".denied"), fmt.Appendf(nil, "%s %q %q\n", r.Method, r.Header.Get("Authorization"), r.Header.Get("Content-Type")))
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			appendFile(ts.MkAbs(name+".got"), body)
		}))
		ts.Defer(srv.Close)
		ts.Setenv(name, srv.URL)
	}
	// freeport NAME sets $NAME to a TCP and UDP port of 127.0.0.1 nothing
	// listens on (yet).
	scriptCmds["freeport"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 1 {
			ts.Fatalf("usage: freeport NAME")
		}
		for {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			ts.Check(err)
			port := l.Addr().(*net.TCPAddr).Port
			l.Close()
			if pc, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
				pc.Close()
				ts.Setenv(args[0], strconv.Itoa(port))
				return
			}
		}
	}
	// waitport PORT waits (up to 20 s) until 127.0.0.1:PORT accepts TCP.
	scriptCmds["waitport"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 1 {
			ts.Fatalf("usage: waitport PORT")
		}
		for range 2000 {
			if c, err := net.Dial("tcp", "127.0.0.1:"+args[0]); err == nil {
				c.Close()
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		ts.Fatalf("nothing listens on 127.0.0.1:%s", args[0])
	}
	// waitlines FILE N waits (up to 20 s) until FILE has N lines.
	scriptCmds["waitlines"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 2 {
			ts.Fatalf("usage: waitlines FILE N")
		}
		want, err := strconv.Atoi(args[1])
		ts.Check(err)
		n := 0
		for range 2000 {
			b, _ := os.ReadFile(ts.MkAbs(args[0]))
			if n = bytes.Count(b, []byte("\n")); n >= want {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		ts.Fatalf("%s has %d lines, want %d", args[0], n, want)
	}
	// journald NAME starts a real systemd-journald for the rest of the
	// script in a mount namespace of its own, with directories of $WORK
	// over /run and /var/log (the machine's journal is not touched): its
	// socket in $NAME, its journal directory in $NAME_DIR. Guard it with
	// [journald].
	scriptCmds["journald"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 1 {
			ts.Fatalf("usage: journald NAME")
		}
		run, varlog := ts.MkAbs(args[0]+".run"), ts.MkAbs(args[0]+".varlog")
		ts.Check(os.MkdirAll(run, 0o755))
		ts.Check(os.MkdirAll(varlog, 0o755))
		ns := []string{"-m", "--propagation", "private"}
		if os.Geteuid() != 0 {
			ns = append([]string{"-r"}, ns...) // in a user namespace of its own
		}
		cmd := exec.Command("unshare", append(ns, "sh", "-c",
			`mount --bind "$1" /run && mount --bind "$2" /var/log && exec `+journaldBin, "sh", run, varlog)...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		ts.Check(cmd.Start())
		ts.Defer(func() { cmd.Process.Kill(); cmd.Wait() })
		sock := filepath.Join(run, "systemd", "journal", "socket")
		for i := 0; ; i++ {
			if c, err := net.Dial("unixgram", sock); err == nil {
				c.Close()
				break
			}
			if i == 400 {
				ts.Fatalf("systemd-journald did not open its socket: %s", out.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
		ts.Setenv(args[0], sock)
		ts.Setenv(args[0]+"_DIR", filepath.Join(run, "log", "journal"))
	}
	// journal DIR N [MATCH...] waits (up to 20 s) until the journal in DIR
	// holds N entries of hush (and MATCHes, journalctl's FIELD=VALUE), and
	// prints their MESSAGE fields, one a line.
	scriptCmds["journal"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) < 2 {
			ts.Fatalf("usage: journal DIR N [MATCH...]")
		}
		want, err := strconv.Atoi(args[1])
		ts.Check(err)
		var out []byte
		for range 200 {
			out, err = exec.Command("journalctl", append([]string{"--directory", args[0], "--no-pager", "--all", "-o", "cat", "SYSLOG_IDENTIFIER=hush"}, args[2:]...)...).Output()
			if err == nil && bytes.Count(out, []byte("\n")) >= want {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if n := bytes.Count(out, []byte("\n")); n != want {
			ts.Fatalf("the journal holds %d entries of hush, want %d (%v)", n, want, err)
		}
		ts.Stdout().Write(out)
	}
	// lines FILE N asserts FILE has N lines.
	scriptCmds["lines"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: lines FILE N")
		}
		b, err := os.ReadFile(ts.MkAbs(args[0]))
		if err != nil && !os.IsNotExist(err) {
			ts.Fatalf("%v", err)
		}
		n := bytes.Count(b, []byte("\n"))
		if (strconv.Itoa(n) == args[1]) == neg {
			ts.Fatalf("%s has %d lines", args[0], n)
		}
	}
}

const journaldBin = "/lib/systemd/systemd-journald"

// haveJournald says the journald command can run: Debian's
// systemd-journald, unshare and journalctl. (A machine that allows no
// mount namespace, not even in a user namespace, fails the command.)
func haveJournald() bool {
	if _, err := os.Stat(journaldBin); err != nil {
		return false
	}
	for _, tool := range []string{"unshare", "journalctl"} {
		if _, err := exec.LookPath(tool); err != nil {
			return false
		}
	}
	return true
}

func appendFile(path string, b []byte) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return
	}
	f.Write(b)
	f.Close()
}
