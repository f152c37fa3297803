package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/edit"
	"github.com/hush-secrets/hush/inject"
	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/session"
	"github.com/hush-secrets/hush/store"
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
		Action: withSession(env, func(c *cli.Context, s *ui) error {
			if c.NArg() > 0 {
				return usagef("edit takes no arguments; use --env")
			}
			return runEdit(s, scopeOf(c))
		}),
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
	envName, err := s.EnvName()
	if err != nil {
		return err
	}
	if err := s.EditCheck(envName, scope); err != nil {
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
	draft, err := s.EditRead(envName, scope)
	if err != nil {
		return err
	}
	content := fmt.Appendf(nil, "%s %s (%s store). Save and quit to apply; delete a line to delete a key.\n", editBanner, envName, scope)
	newVals, err := editLoop(s, sigs, argv, path, append(content, draft.Body...))
	if err != nil {
		return err
	}
	buf.Remove() // the plaintext is no longer needed; do not keep it through the write
	if newVals == nil {
		s.infof("no changes to %s", envName)
		return nil
	}
	r, err := s.ApplyEdit(draft, newVals)
	if err != nil {
		return err
	}
	if len(r.Changed)+len(r.Removed) == 0 {
		s.infof("no changes to %s", envName)
		return nil
	}
	s.infof("%s: %d changed, %d removed", envName, len(r.Changed), len(r.Removed))
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
		vals, perr := session.ParseEdit(saved)
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

// runEditor runs the editor (package edit) on the terminal. INT and QUIT
// are the editor's while it runs; TERM and HUP end the editor and the
// edit.
func runEditor(sigs chan os.Signal, argv []string, path string) error {
	if err := pendingSignal(sigs); err != nil {
		return err
	}
	sig, err := edit.Run(argv, path, sigs)
	var se *edit.StartError
	switch {
	case errors.As(err, &se):
		return hint.With(err, "set EDITOR or VISUAL")
	case sig != nil:
		return abandon(sig)
	}
	// A Ctrl-C the editor handled may still be queued; a TERM or HUP that
	// came with the editor's exit still ends the edit.
	if serr := pendingSignal(sigs, syscall.SIGINT, syscall.SIGQUIT); serr != nil {
		return serr
	}
	if err != nil {
		return fmt.Errorf("editor %s failed (%v); nothing changed", argv[0], err)
	}
	return nil
}
