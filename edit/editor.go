package edit

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// vimSafe turns off, after the user's vimrc has run (-c) and before it
// (--cmd), everything with which vim and neovim keep a copy of what they
// edit: swap (-n too), undo and backup files, viminfo/shada (-i NONE
// too, but a vimrc setting viminfofile overrides it), and modelines, which
// would let a value in the buffer set options. silent! keeps an option a
// build lacks (vim.tiny has no persistent undo) from stopping at an error.
var vimSafe = strings.Join([]string{
	"silent! set noswapfile", "silent! set noundofile", "silent! set nobackup", "silent! set nowritebackup",
	"silent! set nomodeline", "silent! set viminfo=", "silent! set viminfofile=NONE",
	"silent! set shada=", "silent! set shadafile=NONE",
}, " | ")

// vimBufSafe sets the same options for the buffer as it is read, from an
// autocommand defined before the vimrc (which could turn swap files or
// modelines back on before -c runs): the recipe gopass and pass give for
// editing secrets. It is an --cmd of its own, since :autocmd takes a "|"
// as part of its command.
const vimBufSafe = "silent! autocmd BufReadPre,BufNewFile * setlocal noswapfile noundofile nobackup nowritebackup nomodeline"

// emacsSafe turns off backups (file~), auto-save (#file#), lock files and
// the auto-save list; -Q already skips the init files and site files
// where such settings and history packages (savehist, recentf) load.
const emacsSafe = "(setq make-backup-files nil backup-inhibited t auto-save-default nil create-lockfiles nil auto-save-list-file-prefix nil)"

// Known names the editors Command starts without swap, undo, backup or
// history files.
const Known = "vim, nvim (and vi when it is vim), nano, emacs"

// Command is the argv that opens path in the editor setting names ($VISUAL
// or $EDITOR: a program and its arguments, split at spaces, never given to
// a shell). For an editor hush knows it adds the flags that keep the
// editor from writing swap, undo, backup or history files; known is false
// for any other editor, which is started as configured (the caller warns).
// A blank setting is an error.
func Command(setting, path string) (argv []string, known bool, err error) {
	argv = strings.Fields(setting)
	if len(argv) == 0 {
		return nil, false, fmt.Errorf("the editor setting is blank")
	}
	var extra []string
	switch kind(argv[0]) {
	case "vim":
		extra = []string{"-n", "-i", "NONE", "--cmd", vimSafe, "--cmd", vimBufSafe, "-c", vimSafe}
	case "nano":
		// -I skips every nanorc: backups, the search and position
		// history files and lock files are all nanorc settings, off by
		// default.
		extra = []string{"-I"}
	case "emacs":
		extra = []string{"-nw", "-Q", "--eval", emacsSafe}
	default:
		return append(argv, path), false, nil
	}
	out := append(append([]string{argv[0]}, extra...), argv[1:]...)
	return append(out, path), true, nil
}

// kind names the editor program prog is, after following symlinks
// (/usr/bin/vi → /etc/alternatives/vi → vim.basic), or "".
func kind(prog string) string {
	names := []string{filepath.Base(prog)}
	if p, err := exec.LookPath(prog); err == nil {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			names = append(names, filepath.Base(r))
		}
	}
	// The resolved name decides: vi may be nvi or busybox, which take
	// none of vim's flags.
	n := names[len(names)-1]
	switch {
	case n == "vim" || strings.HasPrefix(n, "vim.") || n == "nvim":
		return "vim"
	case n == "nano":
		return "nano"
	case n == "emacs" || n == "emacs-nox" || strings.HasPrefix(n, "emacs-") || strings.HasPrefix(n, "emacs2") || strings.HasPrefix(n, "emacs3"):
		return "emacs"
	}
	return ""
}
