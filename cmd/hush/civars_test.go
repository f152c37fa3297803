package main

import (
	"fmt"
	"strconv"
	"strings"
	gosync "sync"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/hush-secrets/hush/sync/civars/civarstest"
)

// Script commands for hush ci (testdata/script/civars_*.txtar): local
// fakes of GitHub's and GitLab's APIs, in this test process, stopped when
// the script ends.
var ciFakes = struct {
	gosync.Mutex
	m map[string]any
}{m: map[string]any{}}

func ciFake(ts *testscript.TestScript, name string) any {
	ciFakes.Lock()
	defer ciFakes.Unlock()
	f := ciFakes.m[fmt.Sprintf("%p/%s", ts, name)]
	if f == nil {
		ts.Fatalf("no fake %s", name)
	}
	return f
}

func init() {
	// cifake github NAME TOKEN [-page N] SCOPE...   (SCOPE: owner/repo or owner/repo:environment)
	// cifake gitlab NAME TOKEN [-page N] ID=PATH...
	//     start a fake for the rest of the script, its API base URL in $NAME
	// cifake dump NAME          what the fake holds (GitHub: decrypted), a line each
	// cifake requests NAME      every request so far, "METHOD PATH"
	// cifake seed NAME SCOPE|ID KEY VALUE [SCOPE]   a variable set at the service
	// cifake fault NAME METHOD STATUS [HEADER=VALUE] [skip=N]  the next METHOD (or any: -), after N, answers STATUS
	// cifake rotate NAME        GitHub: a new key pair; the old key_id is refused
	// cifake readonly NAME TOKEN  GitHub: a token it accepts and then refuses (403)
	scriptCmds["cifake"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) < 2 {
			ts.Fatalf("usage: cifake github|gitlab|dump|requests|seed|fault|rotate|readonly NAME ...")
		}
		op, name, rest := args[0], args[1], args[2:]
		key := fmt.Sprintf("%p/%s", ts, name)
		switch op {
		case "github", "gitlab":
			if len(rest) < 1 {
				ts.Fatalf("usage: cifake %s NAME TOKEN [-page N] ...", op)
			}
			token, rest := rest[0], rest[1:]
			page := 100
			if len(rest) >= 2 && rest[0] == "-page" {
				n, err := strconv.Atoi(rest[1])
				ts.Check(err)
				page, rest = n, rest[2:]
			}
			var f any
			if op == "github" {
				g := civarstest.NewGitHub(token, rest...)
				g.SetPageSize(page)
				ts.Defer(g.Close)
				ts.Setenv(name, g.URL)
				f = g
			} else {
				g := civarstest.NewGitLab(token, rest...)
				g.SetPageSize(page)
				ts.Defer(g.Close)
				ts.Setenv(name, g.URL+"/api/v4")
				f = g
			}
			ciFakes.Lock()
			ciFakes.m[key] = f
			ciFakes.Unlock()
			ts.Defer(func() {
				ciFakes.Lock()
				delete(ciFakes.m, key)
				ciFakes.Unlock()
			})
		case "dump":
			var lines []string
			switch f := ciFake(ts, name).(type) {
			case *civarstest.GitHub:
				lines = f.Dump()
			case *civarstest.GitLab:
				lines = f.Dump()
			}
			w := ts.Stdout() // called even for no lines: it resets stdout
			for _, l := range lines {
				fmt.Fprintln(w, l)
			}
		case "requests":
			var lines []string
			switch f := ciFake(ts, name).(type) {
			case *civarstest.GitHub:
				lines = f.Requests()
			case *civarstest.GitLab:
				lines = f.Requests()
			}
			w := ts.Stdout() // called even for no lines: it resets stdout
			for _, l := range lines {
				fmt.Fprintln(w, l)
			}
		case "seed":
			if len(rest) < 3 {
				ts.Fatalf("usage: cifake seed NAME SCOPE|ID KEY VALUE [SCOPE]")
			}
			switch f := ciFake(ts, name).(type) {
			case *civarstest.GitHub:
				f.Seed(rest[0], rest[1], rest[2])
			case *civarstest.GitLab:
				v := civarstest.GitLabVar{Key: rest[1], Value: rest[2]}
				if len(rest) > 3 {
					v.EnvironmentScope = rest[3]
				}
				f.Seed(rest[0], v)
			}
		case "fault":
			if len(rest) < 2 {
				ts.Fatalf("usage: cifake fault NAME METHOD STATUS [HEADER=VALUE...]")
			}
			status, err := strconv.Atoi(rest[1])
			ts.Check(err)
			fl := civarstest.Fault{Method: strings.TrimPrefix(rest[0], "-"), Status: status, Header: map[string]string{}}
			for _, h := range rest[2:] {
				k, v, _ := strings.Cut(h, "=")
				if k == "skip" {
					fl.Skip, err = strconv.Atoi(v)
					ts.Check(err)
					continue
				}
				fl.Header[k] = v
			}
			switch f := ciFake(ts, name).(type) {
			case *civarstest.GitHub:
				f.AddFault(fl)
			case *civarstest.GitLab:
				f.AddFault(fl)
			}
		case "rotate":
			ciFake(ts, name).(*civarstest.GitHub).RotateKey()
		case "readonly":
			ciFake(ts, name).(*civarstest.GitHub).SetReadOnlyToken(rest[0])
		default:
			ts.Fatalf("cifake: unknown %s", op)
		}
	}
}
