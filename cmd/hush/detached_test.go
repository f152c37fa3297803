package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/rogpeppe/go-internal/testscript"
)

func runDetached(ts *testscript.TestScript, neg bool, args []string) {
	path, err := exec.LookPath(args[0])
	if err != nil {
		// testscript puts its commands on the script's PATH, not ours.
		for _, dir := range filepath.SplitList(ts.Getenv("PATH")) {
			if p := filepath.Join(dir, args[0]); fileExists(p) {
				path = p
				break
			}
		}
	}
	if path == "" {
		ts.Fatalf("%s not found", args[0])
	}
	devnull, err := os.Open(os.DevNull)
	ts.Check(err)
	defer devnull.Close()
	var stderr strings.Builder
	cmd := exec.Command(path, args[1:]...)
	cmd.Dir = ts.MkAbs(".")
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if v := ts.Getenv(k); v != "" || k == "PATH" {
			env = append(env, k+"="+ts.Getenv(k))
		}
	}
	for _, k := range []string{"HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "DBUS_SESSION_BUS_ADDRESS", "PATH", "NO_COLOR"} {
		env = append(env, k+"="+ts.Getenv(k))
	}
	cmd.Env = env
	cmd.Stdin = devnull
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Run()
	ts.Check(os.WriteFile(ts.MkAbs("detached.err"), []byte(stderr.String()), 0o600))
	if (err != nil) != neg {
		ts.Fatalf("detached %v: unexpected result %v; stderr:\n%s", args, err, stderr.String())
	}
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
