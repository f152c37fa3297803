package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/session"
	"github.com/hush-secrets/hush/store"
)

// Shell completion. Every shell's script calls the hidden command
// `hush __complete WORD...` with the words typed so far (the last one
// possibly empty) and offers the lines it prints. One implementation serves
// bash, zsh, fish and PowerShell alike.

// keyCommands complete secret names as their arguments.
var keyCommands = map[string]bool{"get": true, "rm": true, "rotate": true, "leak": true, "resolve": true, "log": true, "rollback": true}

// dropCommands complete the ids of the inbox's drops (hush inbox accept,
// reject): file names, nothing decrypted.
var dropCommands = map[string]bool{"accept": true, "reject": true}

// envCommands complete environment names as their arguments (env inherit
// NAME PARENT).
var envCommands = map[string]bool{"inherit": true}

func completeCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:            "__complete",
		Hidden:          true,
		SkipFlagParsing: true,
		Action: func(c *cli.Context) error {
			for _, w := range completeWords(env, c.App, c.Args().Slice()) {
				printf(env.Stdout, "%s\n", w)
			}
			return nil
		},
	}
}

func completionCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print the shell completion script for bash, zsh, fish or powershell",
		ArgsUsage: "SHELL",
		Description: `Completes commands, flags, environment names and key names (names only, and
only when your identity is at hand without a prompt).

EXAMPLES:
   hush completion bash > ~/.local/share/bash-completion/completions/hush
   hush completion zsh > "${fpath[1]}/_hush"
   hush completion fish > ~/.config/fish/completions/hush.fish`,
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usagef("completion takes one SHELL: bash, zsh, fish or powershell")
			}
			script, ok := completionScripts[c.Args().First()]
			if !ok {
				return usagef("unknown shell %q: bash, zsh, fish or powershell", c.Args().First())
			}
			_, err := fmt.Fprint(env.Stdout, script)
			return err
		},
	}
}

// completeWords returns the candidates for the last of words.
func completeWords(env *Env, app *cli.App, words []string) []string {
	if len(words) == 0 {
		words = []string{""}
	}
	cur := words[len(words)-1]
	prev := ""
	if len(words) > 1 {
		prev = words[len(words)-2]
	}
	// Walk the command path, noting -e/--env and -C values on the way.
	cmds, flags := app.Commands, app.Flags
	var leaf *cli.Command
	envName, dir := "", ""
	for i := 0; i < len(words)-1; i++ {
		w := words[i]
		switch {
		case w == "--env" || w == "-e":
			if i+1 < len(words)-1 {
				envName = words[i+1]
			}
		case strings.HasPrefix(w, "--env="):
			envName = strings.TrimPrefix(w, "--env=")
		case w == "-C":
			if i+1 < len(words)-1 {
				dir = words[i+1]
			}
		case !strings.HasPrefix(w, "-"):
			if c := findCommand(cmds, w); c != nil {
				leaf, cmds, flags = c, c.Subcommands, c.Flags
			}
		}
	}
	var out []string
	add := func(cands []string) {
		for _, c := range cands {
			if strings.HasPrefix(c, cur) {
				out = append(out, c)
			}
		}
	}
	switch {
	case prev == "--env" || prev == "-e" || prev == "--inherits" || prev == "--from":
		add(completeEnvs(env, dir))
	case leaf != nil && leaf.Name == "gitlab" && (prev == "--file" || prev == "--unmasked"):
		// hush ci push gitlab --file KEY, --unmasked KEY
		add(completeKeys(env, dir, envName))
	case strings.HasPrefix(cur, "-"):
		for _, f := range flags {
			for _, n := range f.Names() {
				if len(n) == 1 {
					add([]string{"-" + n})
				} else {
					add([]string{"--" + n})
				}
			}
		}
	case len(cmds) > 0:
		for _, c := range cmds {
			if !c.Hidden {
				add([]string{c.Name})
			}
		}
	case leaf != nil && keyCommands[leaf.Name]:
		add(completeKeys(env, dir, envName))
	case leaf != nil && dropCommands[leaf.Name]:
		add(completeDrops(env, dir, envName))
	case leaf != nil && envCommands[leaf.Name]:
		add(completeEnvs(env, dir))
	}
	sort.Strings(out)
	return out
}

func completeDrops(env *Env, dir, envName string) []string {
	s := completionSession(env, dir, envName)
	p, err := s.Project()
	if err != nil {
		return nil
	}
	name, err := s.EnvName()
	if err != nil {
		return nil
	}
	ids, _, _ := p.DropIDs(name)
	return ids
}

func completeEnvs(env *Env, dir string) []string {
	p, err := completionSession(env, dir, "").Project()
	if err != nil {
		return nil
	}
	return p.Config.EnvNames()
}

// completeKeys lists key names, only when the identity comes without a
// prompt (hush never prompts for one) and without touching the audit log:
// names are not values.
func completeKeys(env *Env, dir, envName string) []string {
	s := completionSession(env, dir, envName)
	p, err := s.Project()
	if err != nil {
		return nil
	}
	name, err := s.EnvName()
	if err != nil {
		return nil
	}
	id, err := s.Lookup().Find()
	if err != nil {
		return nil
	}
	entries, err := p.Layered(name, id)
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		if store.ValidKeyName(e.Name) == nil {
			out = append(out, e.Name)
		}
	}
	return out
}

// completionSession is a session for completing a word: it reads names
// only and writes nothing, not even to the audit log.
func completionSession(env *Env, dir, envName string) *session.Session {
	if dir == "" {
		dir, _ = env.Getwd()
	}
	if envName == "" {
		envName = env.Getenv("HUSH_ENV")
	}
	return session.New(session.Options{Dir: dir, EnvFlag: envName, Command: "__complete", Getenv: env.Getenv, Now: env.Now, Keyring: env.Keyring})
}
