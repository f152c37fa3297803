package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/edit"
	"github.com/hush-secrets/hush/inject"
	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
)

func editCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "edit",
		Usage:     "edit an environment as a dotenv buffer in memory-backed storage",
		ArgsUsage: " ",
		Description: `Opens $VISUAL or $EDITOR (default vi) on a dotenv file in a private directory
under /dev/shm or $XDG_RUNTIME_DIR, whichever is first found memory-backed
(tmpfs, ramfs: checked, never assumed), mode 0600, removed on every exit path;
buffers left by a hush that was killed are removed at the next start. Keys
whose value is unchanged keep their metadata; deleted lines delete keys; a
changed value is a rotation. A buffer that does not parse is opened again with
the error marked on its first line; saving it unchanged abandons the edit.
vim, nvim, nano and emacs are started without swap, undo, backup or history
files; another editor is started as configured, with a warning.

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

// bufferBases are the directories an edit buffer may go in, in order:
// HUSH_EDIT_DIRS (colon-separated) when set, else /dev/shm and
// $XDG_RUNTIME_DIR. Each is used only if it is memory-backed.
func bufferBases(s *ui) []string {
	if v := s.env.Getenv("HUSH_EDIT_DIRS"); v != "" {
		return filepath.SplitList(v)
	}
	return []string{"/dev/shm", s.env.Getenv("XDG_RUNTIME_DIR")}
}

// editorSetting is $VISUAL, else $EDITOR, else vi. A variable that is set
// but blank (empty or spaces) is an error: it names an editor nobody can
// run, and falling through to another would open an editor the user did
// not choose.
func editorSetting(s *ui) (string, error) {
	set := map[string]bool{}
	if s.env.Environ != nil {
		for _, kv := range s.env.Environ() {
			if k, _, ok := strings.Cut(kv, "="); ok {
				set[k] = true
			}
		}
	}
	for _, name := range []string{"VISUAL", "EDITOR"} {
		v := s.env.Getenv(name)
		if v == "" && !set[name] {
			continue
		}
		if strings.TrimSpace(v) == "" {
			return "", hint.With(usagef("$%s is blank; it must name an editor", name), "set %s to an editor (vim, nano…) or unset it", name)
		}
		return v, nil
	}
	return "vi", nil
}

// editSignals are the signals an edit handles itself, so that the buffer
// is removed whatever ends it. INT and QUIT belong to the editor while it
// runs (as git does); TERM, HUP, and INT outside the editor abandon the
// edit; PIPE (stderr piped to a reader that left) is only noted, so a
// write to a closed pipe fails instead of killing hush with the buffer on
// /dev/shm.
var editSignals = []os.Signal{syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE}

func runEdit(s *ui, scope store.Scope) error {
	p, envName, id, err := s.OpenEnv()
	if err != nil {
		return err
	}
	// Everything that would refuse the write is checked before a value is
	// decrypted or an editor started: showing plaintext for an edit that
	// cannot be saved is a needless exposure.
	if err := p.CheckWrite(envName, scope, id); err != nil {
		return fmt.Errorf("%w; nothing was decrypted", err)
	}
	if err := s.AuditReady(); err != nil {
		return err
	}
	setting, err := editorSetting(s)
	if err != nil {
		return err
	}
	// From here on hush handles the signals itself (not before: a Ctrl-C
	// at an identity prompt must still end hush at once).
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, editSignals...)
	defer signal.Stop(sigs)
	buf, err := edit.NewBuffer(bufferBases(s))
	if err != nil {
		return hint.With(err, "mount a tmpfs (/dev/shm) or set XDG_RUNTIME_DIR to a tmpfs directory; hush never puts the buffer on a disk")
	}
	// Every exit path below removes the buffer: the deferred Remove for
	// returns and panics, the signal handling for TERM, HUP and INT.
	defer buf.Remove()
	if len(buf.Stale) > 0 {
		s.warnf("removed %d edit buffer(s) left by a hush edit that was killed: %s", len(buf.Stale), strings.Join(buf.Stale, ", "))
	}
	path := filepath.Join(buf.Dir, envName+".env")
	argv, known, err := edit.Command(setting, path)
	if err != nil {
		return hint.With(usagef("%v", err), "set VISUAL or EDITOR to an editor")
	}
	if !known {
		s.warnf("%s is not an editor hush knows how to start without swap, undo, backup or history files (%s); it may keep copies of the secrets outside the memory-backed buffer", argv[0], edit.Known)
	}
	if err := pendingSignal(sigs); err != nil {
		return err
	}

	orig, err := p.Read(envName, scope, id)
	if aerr := s.AuditWith(audit.SecretRead, s.SecretPath(envName, ""), err); aerr != nil {
		return aerr
	}
	var content bytes.Buffer
	fmt.Fprintf(&content, "%s %s (%s store). Save and quit to apply; delete a line to delete a key.\n", editBanner, envName, scope)
	secrets := make([]inject.Secret, 0, len(orig.Secrets))
	for _, n := range orig.Names() {
		secrets = append(secrets, inject.Secret{Name: n, Value: inject.NewValue(orig.Secrets[n].Value.Reveal())})
	}
	// A binary value (stored base64, see store.Secret) has no exact text
	// form for an editor; refusing beats a buffer that would write back
	// something else.
	for _, sec := range secrets {
		if v := sec.Value.Reveal(); !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
			return hint.With(fmt.Errorf("%s in %s holds bytes that are not valid UTF-8 text, which a text buffer cannot carry exactly; nothing was opened or changed", sec.Name, envName),
				"change that value with: hush set %s --from-file FILE --env %s", sec.Name, envName)
		}
	}
	if err := inject.Export(&content, inject.FormatDotenv, secrets, inject.ExportOptions{ForHush: true}); err != nil {
		return err
	}
	newVals, err := editLoop(s, sigs, argv, path, content.Bytes())
	if err != nil {
		return err
	}
	if newVals == nil {
		s.infof("no changes to %s", envName)
		return nil
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
	buf.Remove() // the plaintext is no longer needed; do not keep it through the write
	now := s.env.Now().UTC().Truncate(time.Second)
	// Apply the edit as a diff onto the store as it is now, so a concurrent
	// change to another key is not lost.
	err = p.Update(envName, scope, id, func(d *store.Document) error {
		for _, n := range changed {
			d.SetValue(n, store.Value(newVals[n]), now)
		}
		for _, n := range removed {
			delete(d.Secrets, n)
		}
		return nil
	})
	var wpaths, dpaths []string
	for _, n := range changed {
		wpaths = append(wpaths, s.SecretPath(envName, n))
	}
	for _, n := range removed {
		dpaths = append(dpaths, s.SecretPath(envName, n))
	}
	aerr := s.Audit(audit.SecretWrite, wpaths, err)
	if aerr == nil {
		aerr = s.Audit(audit.SecretDelete, dpaths, err)
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

// editBanner starts the lines hush writes at the top of the buffer.
const editBanner = "# hush edit:"

// editLoop writes content to path, runs the editor, and parses what was
// saved. A buffer that does not parse is written back with the error on
// its first line and the editor opened again, until it parses or is saved
// unchanged (abandoned, an error). It returns the values, or nil (and no
// error) when the first buffer was saved unchanged.
func editLoop(s *ui, sigs chan os.Signal, argv []string, path string, content []byte) (map[string]string, error) {
	first := true
	for {
		if err := writeBuffer(path, content); err != nil {
			return nil, err
		}
		if err := runEditor(sigs, argv, path); err != nil {
			return nil, err
		}
		saved, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read the edit buffer: %w; nothing changed", err)
		}
		unchanged := bytes.Equal(stripBanner(saved), stripBanner(content))
		if unchanged && first {
			return nil, nil
		}
		vals, perr := parseBuffer(saved)
		if perr == nil {
			return vals, nil
		}
		if unchanged {
			return nil, usagef("the edited buffer does not parse (%v); edit abandoned, nothing changed", perr)
		}
		s.warnf("the edited buffer does not parse (%v); opening it again", perr)
		content = markError(saved, perr)
		first = false
	}
}

// parseBuffer reads the buffer's values, refusing what set would refuse
// and a key given twice (one of the two edits would be dropped).
func parseBuffer(b []byte) (map[string]string, error) {
	imp, err := inject.ParseDotenv(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	if len(imp.Duplicates) > 0 {
		return nil, fmt.Errorf("%s set on more than one line; keep one", strings.Join(imp.Duplicates, ", "))
	}
	vals := map[string]string{}
	for _, sec := range imp.Secrets {
		if err := store.ValidKeyName(sec.Name); err != nil {
			return nil, err
		}
		if err := store.ValidValue(sec.Value.Reveal()); err != nil {
			return nil, fmt.Errorf("%s: %v", sec.Name, err)
		}
		vals[sec.Name] = sec.Value.Reveal()
	}
	return vals, nil
}

// stripBanner drops the comment lines hush put at the top.
func stripBanner(b []byte) []byte {
	for bytes.HasPrefix(b, []byte(editBanner)) {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return nil
		}
		b = b[i+1:]
	}
	return b
}

// markError is the saved buffer with its hush lines replaced by one that
// names err, the line number adjusted to the new buffer.
func markError(saved []byte, err error) []byte {
	body := stripBanner(saved)
	dropped := bytes.Count(saved[:len(saved)-len(body)], []byte("\n"))
	var pe *inject.ParseError
	if errors.As(err, &pe) && pe.Line > 0 {
		c := *pe
		c.Line += 1 - dropped
		err = &c
	}
	msg := strings.ReplaceAll(err.Error(), "\n", " ")
	out := fmt.Appendf(nil, "%s ERROR: %s. Fix it and save, or quit without saving to abandon the edit.\n", editBanner, msg)
	return append(out, body...)
}

func writeBuffer(path string, content []byte) error {
	// Replaced, not rewritten in place: the editor may have left a file
	// of another mode, or a link, at the path.
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|store.ONoFollow, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(content)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// pendingSignal turns a TERM, HUP or INT received outside the editor into
// the error that abandons the edit (128+N).
// Signals in ignore are dropped.
func pendingSignal(sigs chan os.Signal, ignore ...os.Signal) error {
	for {
		select {
		case sig := <-sigs:
			if slices.Contains(ignore, sig) {
				continue
			}
			if err := abandon(sig); err != nil {
				return err
			}
		default:
			return nil
		}
	}
}

// abandon is the error for sig, or nil for signals that do not end an
// edit (PIPE).
func abandon(sig os.Signal) error {
	ss, _ := sig.(syscall.Signal)
	if ss == syscall.SIGPIPE {
		return nil
	}
	return &exitCodeError{code: 128 + int(ss), err: fmt.Errorf("%v: edit abandoned, buffer removed, nothing changed", sig)}
}

// runEditor runs argv on the terminal. INT and QUIT are the editor's while
// it runs (the terminal sends them to both); TERM and HUP end the editor
// and the edit.
func runEditor(sigs chan os.Signal, argv []string, path string) error {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0); err == nil {
		defer tty.Close()
		cmd.Stdin, cmd.Stdout = tty, tty
	}
	if err := pendingSignal(sigs); err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return hint.With(fmt.Errorf("start editor %q: %w", argv[0], err), "set EDITOR or VISUAL")
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case err := <-done:
			// A Ctrl-C the editor handled may still be queued; a TERM or
			// HUP that came with the editor's exit still ends the edit.
			if serr := pendingSignal(sigs, syscall.SIGINT, syscall.SIGQUIT); serr != nil {
				return serr
			}
			if err != nil {
				return fmt.Errorf("editor %s failed (%v); nothing changed", argv[0], err)
			}
			return nil
		case sig := <-sigs:
			switch sig {
			case syscall.SIGINT, syscall.SIGQUIT, syscall.SIGPIPE:
				continue
			}
			os.Remove(path)
			_ = cmd.Process.Signal(sig)
			<-done
			return abandon(sig)
		}
	}
}
