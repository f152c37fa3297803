package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/inject"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
)

func editCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "edit",
		Usage:     "edit an environment as a dotenv buffer in memory-backed storage",
		ArgsUsage: " ",
		Description: `Opens $VISUAL or $EDITOR (default vi) on a dotenv file in /dev/shm or
$XDG_RUNTIME_DIR, mode 0600, removed on every exit path. Keys whose value is
unchanged keep their metadata; deleted lines delete keys; a buffer that does not
parse changes nothing. hush refuses when no memory-backed directory exists.

EXAMPLE:
   EDITOR=nano hush edit --env staging`,
		Flags: []cli.Flag{personalFlag},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usagef("edit takes no arguments; use --env")
			}
			s, err := newSession(env, c)
			if err != nil {
				return err
			}
			return runEdit(s, scopeOf(c))
		},
	}
}

// bufferDir picks a directory for the plaintext buffer that is not backed
// by a disk: /dev/shm (tmpfs) or the user's runtime dir (tmpfs on systemd).
func bufferDir(s *session) (string, error) {
	for _, d := range []string{"/dev/shm", s.env.Getenv("XDG_RUNTIME_DIR")} {
		if d == "" {
			continue
		}
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			if f, err := os.MkdirTemp(d, "hush-edit-"); err == nil {
				return f, nil
			}
		}
	}
	return "", errors.New("no memory-backed directory (/dev/shm or $XDG_RUNTIME_DIR) for the edit buffer; refusing to write plaintext to disk")
}

func runEdit(s *session, scope store.Scope) error {
	p, envName, id, err := s.openEnv()
	if err != nil {
		return err
	}
	if err := s.auditReady(); err != nil {
		return err
	}
	orig, err := p.Read(envName, scope, id)
	if aerr := s.auditWith(audit.SecretRead, s.secretPath(envName, ""), err); aerr != nil {
		return aerr
	}
	dir, err := bufferDir(s)
	if err != nil {
		return err
	}
	// Every exit path below removes the buffer: the deferred RemoveAll for
	// returns and panics, the signal handler for TERM and HUP.
	defer os.RemoveAll(dir)
	buf := filepath.Join(dir, envName+".env")
	var content bytes.Buffer
	fmt.Fprintf(&content, "# hush edit: %s (%s store). Save and quit to apply; delete a line to delete a key.\n", envName, scope)
	secrets := make([]inject.Secret, 0, len(orig.Secrets))
	for _, n := range orig.Names() {
		secrets = append(secrets, inject.Secret{Name: n, Value: inject.NewValue(orig.Secrets[n].Value.Reveal())})
	}
	if err := inject.Export(&content, inject.FormatDotenv, secrets, inject.ExportOptions{ForHush: true}); err != nil {
		return err
	}
	f, err := os.OpenFile(buf, os.O_WRONLY|os.O_CREATE|os.O_EXCL|store.ONoFollow, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(content.Bytes())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := runEditor(s, buf, dir); err != nil {
		return err
	}
	edited, err := os.Open(buf)
	if err != nil {
		return err
	}
	imp, err := inject.ParseDotenv(edited)
	edited.Close()
	if err != nil {
		return fmt.Errorf("%w: the edited buffer does not parse (%v); nothing changed", store.ErrInvalid, err)
	}
	newVals := map[string]string{}
	for _, sec := range imp.Secrets {
		if err := store.ValidKeyName(sec.Name); err != nil {
			return fmt.Errorf("%v; nothing changed", err)
		}
		if err := store.ValidValue(sec.Value.Reveal()); err != nil {
			return fmt.Errorf("%s: %v; nothing changed", sec.Name, err)
		}
		newVals[sec.Name] = sec.Value.Reveal()
	}
	var changed, removed []string
	for n, v := range newVals {
		if old, ok := orig.Secrets[n]; !ok || old.Value.Reveal() != v {
			changed = append(changed, n)
		}
	}
	for n := range orig.Secrets {
		if _, ok := newVals[n]; !ok {
			removed = append(removed, n)
		}
	}
	if len(changed)+len(removed) == 0 {
		s.infof("no changes to %s", envName)
		return nil
	}
	now := s.env.Now().UTC().Truncate(time.Second)
	// Apply the edit as a diff onto the store as it is now, so a concurrent
	// change to another key is not lost.
	err = p.Update(envName, scope, id, func(d *store.Document) error {
		for _, n := range changed {
			sec, ok := d.Secrets[n]
			if !ok {
				sec = &store.Secret{Created: now}
				d.Secrets[n] = sec
			}
			sec.Value = store.Value(newVals[n])
			sec.Updated, sec.Rotated, sec.Exposed = now, now, nil
		}
		for _, n := range removed {
			delete(d.Secrets, n)
		}
		return nil
	})
	var wpaths, dpaths []string
	for _, n := range changed {
		wpaths = append(wpaths, s.secretPath(envName, n))
	}
	for _, n := range removed {
		dpaths = append(dpaths, s.secretPath(envName, n))
	}
	aerr := s.audit(audit.SecretWrite, wpaths, err)
	if aerr == nil {
		aerr = s.audit(audit.SecretDelete, dpaths, err)
	}
	if err != nil {
		return err
	}
	if aerr != nil {
		return aerr
	}
	s.infof("%s: %d changed, %d removed", envName, len(changed), len(removed))
	return nil
}

// runEditor runs the user's editor on path. Like git, hush ignores SIGINT
// and SIGQUIT while the editor runs (they belong to the editor); TERM and
// HUP remove the buffer at once and end hush with 128+N.
func runEditor(s *session, path, dir string) error {
	editor := s.env.Getenv("VISUAL")
	if editor == "" {
		editor = s.env.Getenv("EDITOR")
	}
	if editor == "" {
		editor = "vi"
	}
	argv := strings.Fields(editor)
	cmd := exec.Command(argv[0], append(argv[1:], path)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0); err == nil {
		defer tty.Close()
		cmd.Stdin, cmd.Stdout = tty, tty
	}
	signal.Ignore(syscall.SIGINT, syscall.SIGQUIT)
	defer signal.Reset(syscall.SIGINT, syscall.SIGQUIT)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return withHint(fmt.Errorf("start editor %q: %w", argv[0], err), "set EDITOR or VISUAL")
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("editor %s failed (%v); nothing changed", argv[0], err)
		}
		return nil
	case sig := <-sigs:
		os.RemoveAll(dir)
		_ = cmd.Process.Signal(sig)
		<-done
		return &exitCodeError{code: 128 + int(sig.(syscall.Signal)), err: fmt.Errorf("%v: edit abandoned, buffer removed, nothing changed", sig)}
	}
}
