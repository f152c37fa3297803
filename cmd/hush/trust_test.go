package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	gosync "sync"

	"github.com/rogpeppe/go-internal/testscript"
)

// The commands of the hostile-repository scripts, added to scriptCmds here
// so the shared main_test.go stays as it is.
func init() {
	// projectdir VAR sets VAR to $XDG_DATA_HOME/hush/projects/<id> for the
	// id in ./.hush/hush.yaml.
	scriptCmds["projectdir"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 1 {
			ts.Fatalf("usage: projectdir VAR")
		}
		b, err := os.ReadFile(ts.MkAbs(".hush/hush.yaml"))
		ts.Check(err)
		m := regexp.MustCompile(`(?m)^id: ([0-9a-f]{32})$`).FindSubmatch(b)
		if m == nil {
			ts.Fatalf("no id in .hush/hush.yaml")
		}
		ts.Setenv(args[0], filepath.Join(ts.Getenv("XDG_DATA_HOME"), "hush", "projects", string(m[1])))
	}
	// tokentrap VAR starts an HTTP server that stands for an attacker's
	// Vault: it answers every request with 403 and appends each request's
	// method, path, X-Vault-Token header and body to $WORK/trap.log. VAR
	// is set to its URL. The server lives as long as the script.
	scriptCmds["tokentrap"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 1 {
			ts.Fatalf("usage: tokentrap VAR")
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		ts.Check(err)
		logPath := ts.MkAbs("trap.log")
		ts.Check(os.WriteFile(logPath, nil, 0o600))
		var mu gosync.Mutex
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
			mu.Lock()
			f, err := os.OpenFile(logPath, os.O_APPEND|os.O_WRONLY, 0)
			if err == nil {
				fmt.Fprintf(f, "%s %s token=%q body=%q\n", r.Method, r.URL.Path, r.Header.Get("X-Vault-Token"), strings.TrimSpace(string(body)))
				f.Close()
			}
			mu.Unlock()
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `{"errors":["permission denied"]}`)
		})}
		go srv.Serve(ln)
		ts.Defer(func() { srv.Close() })
		ts.Setenv(args[0], "http://"+ln.Addr().String())
	}
}
