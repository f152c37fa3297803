package main

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/hush-secrets/hush/internal/hint"
	"github.com/urfave/cli/v2"
)

// version is stamped at build time with -ldflags "-X main.version=…".
var version = "dev"

const exitCodeHelp = `EXIT CODES:
   0 success      1 error          2 usage           3 not found
   4 no identity can decrypt       5 integrity failure (tampered, corrupt, unsupported version)
   6 conflict     7 policy failure 8 remote unavailable or denied
   hush run: the child's code; 128+N when killed by signal N; 125 hush failed
   before the child started; 126 not executable; 127 not found`

// Main runs hush with args (args[0] is the program name) and returns the
// exit code. It never calls os.Exit and writes only to env's streams.
func Main(ctx context.Context, args []string, env *Env) int {
	var cmds []*cli.Command
	if c := hotCommand(env, args); c != nil {
		cmds = []*cli.Command{c}
	}
	app := newApp(env, cmds)
	env.redact = argvRedactions(app, args)
	err := app.RunContext(ctx, reorderArgs(app, args))
	if err != nil {
		printError(env, err)
	}
	return exitCode(err)
}

func printError(env *Env, err error) {
	var ce *exitCodeError
	if errors.As(err, &ce) && ce.err == nil {
		return // a child's exit status: nothing to say
	}
	// The one place every error is shown: one line (errors.Join's and a
	// relayed tool's newlines become "; "), escaped for the terminal, and
	// without what the command line had after an '=' (redact.go).
	msg := redactArgv(err.Error(), env.redact)
	printf(env.Stderr, "hush: %s\n", strings.ReplaceAll(strings.TrimRight(msg, "\n"), "\n", "; "))
	var he *hint.Error
	if errors.As(err, &he) {
		printf(env.Stderr, "hush: hint: %s\n", redactArgv(he.Hint, env.redact))
	} else if h := pinHint(err); h != "" {
		printf(env.Stderr, "hush: hint: %s\n", h)
	}
}

// globalFlags are accepted before the command and, for convenience, after
// it too: `hush get KEY -e prod` works like `hush -e prod get KEY`.
func globalFlags() []cli.Flag {
	return []cli.Flag{
		// Not EnvVars: urfave/cli would count HUSH_ENV as the flag set on
		// every command, and globalString would take it over a --env given
		// before the command. envOption reads HUSH_ENV from env instead.
		&cli.StringFlag{Name: "env", Aliases: []string{"e"}, Usage: "environment to use (default: $HUSH_ENV, then the project's default_env)"},
		&cli.StringFlag{Name: "C", Usage: "run as if hush was started in `DIR`"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only what was asked for and errors"},
	}
}

// newApp is hush's command line with cmds, or with every command when
// cmds is nil.
func newApp(env *Env, cmds []*cli.Command) *cli.App {
	if cmds == nil {
		cmds = commands(env)
	}
	app := &cli.App{
		Name:                  "hush",
		Usage:                 "age-encrypted secrets per environment, injected into programs, audited",
		Version:               version,
		Writer:                env.Stdout,
		ErrWriter:             env.Stderr,
		Flags:                 globalFlags(),
		EnableBashCompletion:  true,
		HideHelpCommand:       true,
		CustomAppHelpTemplate: cli.AppHelpTemplate + "\n" + exitCodeHelp + "\n",
		// urfave/cli would print and os.Exit by itself; hush decides in Main.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return usagef("%v", err)
		},
		CommandNotFound: func(c *cli.Context, name string) {},
		Commands:        cmds,
	}
	app.Action = func(c *cli.Context) error {
		if c.NArg() > 0 {
			return hint.With(usagef("unknown command %q", c.Args().First()), "run hush --help for the list of commands")
		}
		return cli.ShowAppHelp(c)
	}
	for _, cmd := range app.Commands {
		prepare(cmd)
	}
	return app
}

// prepare gives every command the global flags and a usage-error handler.
func prepare(cmd *cli.Command) {
	cmd.OnUsageError = func(_ *cli.Context, err error, _ bool) error {
		return hint.With(usagef("%v", err), "run hush %s --help", cmd.FullName())
	}
	for _, sub := range cmd.Subcommands {
		prepare(sub)
	}
	if len(cmd.Subcommands) == 0 || cmd.Action != nil {
		cmd.Flags = append(cmd.Flags, globalFlags()...)
	}
	if len(cmd.Subcommands) > 0 && cmd.Action == nil {
		// urfave/cli would take an unknown subcommand for a help topic,
		// print nothing and exit 0.
		cmd.Action = func(c *cli.Context) error {
			if c.NArg() > 0 {
				return hint.With(usagef("unknown command %q", cmd.FullName()+" "+c.Args().First()), "run hush %s --help", cmd.FullName())
			}
			return cli.ShowSubcommandHelp(c)
		}
	}
}

func commands(env *Env) []*cli.Command {
	var cmds []*cli.Command
	cmds = append(cmds, identityCommands(env)...)
	cmds = append(cmds, projectCommands(env)...)
	cmds = append(cmds, secretCommands(env)...)
	cmds = append(cmds, runCommand(env), injectCommand(env))
	cmds = append(cmds, exportCommands(env)...)
	cmds = append(cmds, exampleCommand(env))
	cmds = append(cmds, scanCommands(env)...)
	cmds = append(cmds, completionCommand(env), completeCommand(env), doctorCommand(env), manCommand(env))
	cmds = append(cmds, memberCommands(env)...)
	cmds = append(cmds, trustCommands(env)...)
	cmds = append(cmds, statusCommand(env), rotateCommand(env), dismissCommand(env), leakCommand(env))
	cmds = append(cmds, postureCommand(env))
	cmds = append(cmds, gitCommands(env)...)
	cmds = append(cmds, historyCommands(env)...)
	cmds = append(cmds, inboxCommand(env))
	cmds = append(cmds, auditCommands(env)...)
	cmds = append(cmds, vaultCommands(env)...)
	cmds = append(cmds, ciCommands(env)...)
	cmds = append(cmds, cloudCommands(env)...)
	cmds = append(cmds, sopsCommands(env)...)
	return cmds
}

// reorderArgs moves a leaf command's flags in front of its positional
// arguments, because urfave/cli v2 stops parsing flags at the first
// positional one and users write `hush set KEY --env prod`. Everything
// after "--" is left exactly as given: it is a child's argv.
func reorderArgs(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	// Global flags before the command.
	i := commandAt(app.Flags, args)
	out := slices.Clone(args[:i])
	cmds := app.Commands
	var leaf *cli.Command
	for i < len(args) {
		cmd := findCommand(cmds, args[i])
		if cmd == nil {
			break
		}
		out = append(out, args[i])
		i++
		leaf = cmd
		if len(cmd.Subcommands) == 0 {
			break
		}
		cmds = cmd.Subcommands
	}
	if leaf == nil || len(leaf.Subcommands) > 0 || leaf.SkipFlagParsing {
		return append(out, args[i:]...)
	}
	var flags, pos []string
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i:]...)
			break
		}
		if strings.HasPrefix(a, "-") && a != "-" {
			flags = append(flags, a)
			if takesValue(leaf.Flags, a) && i+1 < len(args) {
				i++
				flags = append(flags, args[i])
			}
			continue
		}
		pos = append(pos, a)
		if childArgvCommands[leaf.Name] {
			// The first positional starts the child's argv: its flags are
			// the child's, not hush's.
			pos = append(pos, args[i+1:]...)
			break
		}
	}
	out = append(out, flags...)
	if len(pos) > 0 && pos[0] != "--" {
		out = append(out, "--")
	}
	return append(out, pos...)
}

// hotCommand is the command args run when it is one whose start-up is
// part of another program's (hush run, in front of every child it
// starts) and args ask for no help or completion, which list the other
// commands: Main then builds that command alone. Building the other
// hundred commands and their flags cost each hush run about a quarter of
// a millisecond and thirty page faults before it read a byte. Everything
// else about the command line is the same: the global flags, the
// command's own flags, reorderArgs and the redactions.
func hotCommand(env *Env, args []string) *cli.Command {
	global := globalFlags()
	i := commandAt(global, args)
	if i >= len(args) || args[i] != "run" || slices.ContainsFunc(args[1:i], asksHelp) {
		return nil
	}
	run := runCommand(env)
	flags := append(slices.Clone(run.Flags), global...)
	// Its flags, up to the child's argv (after "--" or the first
	// positional, everything is the child's, --help included).
	for i++; i < len(args) && args[i] != "--" && strings.HasPrefix(args[i], "-") && args[i] != "-"; i++ {
		if asksHelp(args[i]) {
			return nil
		}
		if takesValue(flags, args[i]) {
			i++
		}
	}
	return run
}

// commandAt is the index in args of the first word after the global
// flags (and their values) that come before the command: the command's
// name, or len(args).
func commandAt(global []cli.Flag, args []string) int {
	i := 1
	for i < len(args) && strings.HasPrefix(args[i], "-") && args[i] != "--" {
		if takesValue(global, args[i]) && i+1 < len(args) {
			i++
		}
		i++
	}
	return min(i, len(args))
}

// asksHelp is a flag urfave/cli answers with help or completion.
func asksHelp(arg string) bool {
	switch strings.SplitN(arg, "=", 2)[0] {
	case "-h", "--h", "-help", "--help", "--generate-bash-completion":
		return true
	}
	return false
}

// childArgvCommands take a program to run as their positional arguments.
var childArgvCommands = map[string]bool{"run": true}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}

// takesValue reports whether arg names a flag that consumes the next
// argument (not a bool flag, and no "=value" attached).
func takesValue(flags []cli.Flag, arg string) bool {
	name := strings.TrimLeft(arg, "-")
	if strings.Contains(name, "=") {
		return false
	}
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				if dg, ok := f.(cli.DocGenerationFlag); ok {
					return dg.TakesValue()
				}
				return true
			}
		}
	}
	return false
}
