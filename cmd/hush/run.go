package main

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/inject"
	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/session"
	"github.com/hush-secrets/hush/store"
)

func runCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "run a program with the environment's secrets in its environment",
		ArgsUsage: "[--] CMD [ARGS...] | --command STRING",
		Description: `The child's environment is hush's plus the secrets (personal over team). Its
argv is run as given, never through a shell; --command STRING is the one
exception, run by /bin/sh -c (so && and pipes work) instead of CMD ARGS, the
string being yours as you would type it to a shell. With nothing to
supervise, hush replaces itself with the child, so signals, job control and
the exit code are exactly the child's. The exit code is the child's, 128+N
when signal N killed it, 125 when hush failed before starting it, 126 when
CMD cannot be run and 127 when it is not found.

Names that change which code programs run, which servers they trust or where
they write (LD_*, PATH, BASH_ENV, MAKEFLAGS, CC, GIT_DIR, NODE_OPTIONS,
PYTHON*, *_PROXY, SSL_CERT_FILE, npm_config_*, HUSH_*…, in any case) are
never injected from a store or an --env-file unless hush.yaml's allow_inject
names them; the same policy applies to hush export. HUSH_IDENTITY and
HUSH_IDENTITY_FILE never reach the child. Values of the form hush://ENV/KEY
in hush's environment or in an --env-file are resolved; a store value is
passed as written. With GITHUB_ACTIONS=true every injected value is masked in
the Actions log first (the ::add-mask:: commands go to stderr).

With --env-file the file is the environment: an environment's store is added
only when named (--env, HUSH_ENV) or needed (--file). A file of vault://
references needs no hush project and no age identity, only VAULT_ADDR and a
Vault login, as the vault CLI does.

VAULT REFERENCES: vault://MOUNT/PATH[?k=v&...]#FIELD, the path starting with
the engine's mount (found from the server; for KV v2 without data/):
   vault://secret/myapp/db#password            field password, KV v1 or v2
   vault://secret/myapp/db?version=3#password  KV v2 version 3 (a version that
                                               does not exist or is deleted:
                                               not found; on KV v1: refused)
   vault://database/creds/app#username         a dynamic secret; #password of
                                               the same path in the same run
                                               is the same credential (one lease)
   vault://pki/issue/app?common_name=a.example.com#certificate
                                               parameters are written to a
                                               dynamic path
A value that is a list of strings (a CA chain) is one per line, any other
non-string JSON. A reference that cannot be read stops the run (exit 125)
naming the variable and why.

--file VAR=KEY hands one secret as an in-memory file; --mount VAR[=FORMAT]
hands the whole injected set as one, in dotenv (the default), json or yaml,
for programs that insist on reading a .env: a sealed memfd on Linux (a FIFO,
readable once, elsewhere), never a file on disk. Its path is in VAR; the
secrets stay in the environment too (use --only and --except to shape both).

--watch restarts the child when the files its values come from change (the
environment's team store .hush/ENV.age, your personal store, those of its
hush:// references, an --env-file): the values are read again (a new audit
line), the child gets SIGTERM, then SIGKILL after --grace, and starts again
with them. Files are polled every second and a change counts once they are
still for half a second, so an editor's save or a run of hush set is one
restart. A store that cannot be read after a change (corrupt, half written,
removed) leaves the child running on its values, with a warning. When the
child exits by itself, its code is hush's, as without --watch.

Layers, lowest first: hush's own environment; each --env-file in the order
given, a later file's variable over an earlier one's (docker's and compose's
rule; put the team's committed file first and your own last, as personal is
over team); the store (its personal store over its team store over the
environments it inherits from). --no-override keeps a variable of hush's
own environment over files and store alike.

EXAMPLES:
   hush run -- npm start
   hush run --env prod --only DATABASE_URL -- ./migrate
   hush run --mask -- make deploy
   hush run --file GOOGLE_APPLICATION_CREDENTIALS=GCP_SA_JSON -- terraform plan
   hush run --env-file app.env -- ./server     # app.env: DB_PASSWORD=vault://secret/app#db_password
   hush run --mount DOTENV_PATH -- node -r dotenv/config app.js dotenv_config_path="$DOTENV_PATH"
   hush run --watch --command 'npm run build && npm start'
   hush run --env-file .env --env-file .env.local -- npm start   # .env.local over .env`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "no-override", Usage: "keep a variable already in the environment instead of the secret or --env-file's"},
			&cli.BoolFlag{Name: "pristine", Usage: "start from an empty environment (keeping PATH HOME USER LOGNAME SHELL LANG LC_* TERM TZ)"},
			&cli.StringSliceFlag{Name: "only", Usage: "inject only these `KEYS` (comma-separated, globs allowed)"},
			&cli.StringSliceFlag{Name: "except", Usage: "do not inject these `KEYS` (comma-separated, globs allowed)"},
			&cli.BoolFlag{Name: "mask", Usage: "replace secret values in the child's output with [hush:KEY]"},
			&cli.StringSliceFlag{Name: "file", Usage: "hand secret KEY as an in-memory file whose path goes in VAR (`VAR=KEY`)"},
			&cli.StringSliceFlag{Name: "mount", Usage: "hand every injected secret as one in-memory file whose path goes in `VAR[=FORMAT]` (dotenv, json or yaml)"},
			&cli.BoolFlag{Name: "watch", Usage: "restart the child with the new values when the environment's store files or an --env-file change"},
			&cli.DurationFlag{Name: "grace", Value: 10 * time.Second, Usage: "`DURATION` a child hush stops (--watch, a lease's end) has between SIGTERM and SIGKILL"},
			&cli.StringFlag{Name: "command", Usage: "run `STRING` through /bin/sh -c instead of CMD ARGS (the one way hush uses a shell)"},
			&cli.StringSliceFlag{Name: "env-file", Usage: "add the variables of `FILE` (dotenv), resolving hush:// and vault:// references; repeated, a later file wins"},
			&cli.StringSliceFlag{Name: "vault-lease", Usage: "inject a Vault dynamic secret as NAME_FIELD, renewed while the child runs and revoked after (`NAME=PATH[?k=v&...]`)"},
			&cli.StringFlag{Name: "on-lease-end", Value: session.LeaseEndTerm, Usage: "when a Vault lease or hush's token ends (max TTL, renewal failed): `term` stops the child and exits 8, warn lets it run, restart stops it and starts it again with fresh credentials"},
		},
		Action: func(c *cli.Context) error {
			argv, err := runArgv(c)
			if err != nil {
				return err
			}
			if c.Bool("watch") && c.String("on-lease-end") == session.LeaseEndRestart {
				return usagef("--watch and --on-lease-end=restart both restart the child; choose one")
			}
			if c.Duration("grace") <= 0 {
				return usagef("--grace must be positive")
			}
			s, err := newSession(env, c)
			if err != nil {
				return &exitCodeError{code: inject.CodeFailed, err: err}
			}
			return runRun(c.Context, s, runOptions{
				argv: argv, noOverride: c.Bool("no-override"), pristine: c.Bool("pristine"),
				only: splitList(c.StringSlice("only")), except: splitList(c.StringSlice("except")),
				mask: c.Bool("mask"), files: c.StringSlice("file"), mounts: c.StringSlice("mount"), envFiles: c.StringSlice("env-file"),
				leases: c.StringSlice("vault-lease"), onLeaseEnd: c.String("on-lease-end"),
				watch: c.Bool("watch"), grace: c.Duration("grace"),
			})
		},
	}
}

type runOptions struct {
	argv                 []string
	noOverride, pristine bool
	only, except         []string
	mask                 bool
	files, envFiles      []string
	mounts               []string
	watch                bool
	grace                time.Duration
	leases               []string
	onLeaseEnd           string
}

// runArgv is the child's argv: CMD ARGS as given, or --command's string
// for /bin/sh -c. The string is the user's own, typed on the command line
// as they would type it to a shell; the shell is named by its absolute
// path, so the PATH of the child's environment cannot choose it.
func runArgv(c *cli.Context) ([]string, error) {
	command := c.String("command")
	switch {
	case c.IsSet("command") && c.NArg() > 0:
		return nil, hint.With(usagef("--command and CMD ARGS are exclusive"), "hush run --command 'CMD && CMD', or hush run -- CMD ARGS...")
	case c.IsSet("command") && strings.TrimSpace(command) == "":
		return nil, usagef("--command is empty")
	case c.IsSet("command") && runtime.GOOS == "windows":
		return nil, usagef("--command runs /bin/sh, which Windows does not have: hush run -- cmd /c ...")
	case c.IsSet("command"):
		// No further arguments: sh's $0 is /bin/sh and $1… are empty,
		// the string holds the whole command.
		return []string{"/bin/sh", "-c", command}, nil
	case c.NArg() == 0:
		return nil, hint.With(usagef("run needs a command"), "hush run -- CMD ARGS..., or hush run --command 'CMD && CMD'")
	}
	return c.Args().Slice(), nil
}

func splitList(vs []string) []string {
	var out []string
	for _, v := range vs {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// runRun prepares the child and runs it. Every failure before the child
// starts is exit 125, so a caller can tell hush's failure from the child's.
func runRun(ctx context.Context, s *ui, o runOptions) error {
	code, err := prepareAndRun(ctx, s, o)
	if err != nil {
		var se *inject.StartError
		var ce *exitCodeError
		if errors.As(err, &ce) {
			return err
		}
		if errors.As(err, &se) {
			return &exitCodeError{code: se.Code, err: err}
		}
		return &exitCodeError{code: inject.CodeFailed, err: err}
	}
	return &exitCodeError{code: code}
}

// prepareAndRun runs the child once, or, under --on-lease-end=restart, in
// rounds until a round ends for another reason than its credentials.
func prepareAndRun(ctx context.Context, s *ui, o runOptions) (int, error) {
	if o.watch {
		return runWatch(ctx, s, o)
	}
	if o.onLeaseEnd != session.LeaseEndRestart {
		return runOnce(ctx, s, o)
	}
	// --on-lease-end=restart: each round is a whole run (fresh leases and
	// login, its own audit line). A round cut short by its credentials
	// starts again; one that ends otherwise is the answer. Rounds that
	// end within seconds wait longer and longer, so credentials that
	// cannot live make hush retry slowly, never spin.
	wait := time.Second
	for {
		started := time.Now()
		code, err := runOnce(ctx, s, o)
		var ended *leaseEndedError
		if !errors.As(err, &ended) || ctx.Err() != nil {
			return code, err
		}
		if time.Since(started) > time.Minute {
			wait = time.Second
		}
		s.infof("starting %s again with fresh credentials in %s", o.argv[0], wait)
		select {
		case <-ctx.Done():
			return code, err
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}

// leaseEndedError is a run whose child was stopped because its
// credentials ended (exit 8).
type leaseEndedError struct {
	code int
	err  error
}

func (e *leaseEndedError) Error() string {
	return fmt.Sprintf("vault: the child was stopped (its exit code was %d) because its credentials ended: %v", e.code, e.err)
}
func (e *leaseEndedError) Unwrap() error { return e.err }

// runOnce has the session prepare the child (sources, policy, references,
// leases, the audit line), renders what the preparation found, and runs
// the child under the plan.
func runOnce(ctx context.Context, s *ui, o runOptions) (int, error) {
	plan, err := preparePlan(ctx, s, o)
	if err != nil {
		return 0, err
	}
	defer plan.Close()
	return startChild(plan.Ctx, s, o, plan, false)
}

// preparePlan has the session prepare one child and renders what the
// preparation found.
func preparePlan(ctx context.Context, s *ui, o runOptions) (*session.RunPlan, error) {
	plan, err := s.PrepareRun(ctx, session.RunOptions{
		Parent: s.env.Environ(), NoOverride: o.noOverride, Pristine: o.pristine,
		Only: o.only, Except: o.except, Files: o.files, Mounts: o.mounts, EnvFiles: o.envFiles,
		Leases: o.leases, OnLeaseEnd: o.onLeaseEnd,
		Opened: func(p *store.Project, env string, id *crypt.Identity) {
			if c, cerr := liveConflicts(s, p, env, id); cerr == nil && len(c) > 0 {
				s.warnf("%s", conflictWarning(env, c))
			}
		},
	})
	if err != nil {
		return nil, err
	}
	for _, d := range plan.Dropped {
		s.warnf("not injecting %s: it can change what programs run, trust or write; allow it by name in hush.yaml (allow_inject)", d)
	}
	if len(plan.Literal) > 0 {
		s.warnf("%s %s a hush:// reference, passed as written: references resolve only from your environment and --env-file, never from a store",
			strings.Join(plan.Literal, ", "), map[bool]string{true: "holds", false: "hold"}[len(plan.Literal) == 1])
	}
	if len(plan.Kept) > 0 && !s.quiet {
		s.infof("kept the existing %s (--no-override)", strings.Join(plan.Kept, ", "))
	}
	for _, m := range plan.Mounted {
		if !m.Rereadable && !s.quiet {
			s.infof("%s is a FIFO on this system: the child can read it once", m.Var)
		}
	}
	return plan, nil
}

// startChild runs the child of plan until it exits or ctx is done (then
// SIGTERM, and SIGKILL after o.grace). stay keeps hush supervising even
// when nothing else needs it (--watch must outlive the child).
func startChild(ctx context.Context, s *ui, o runOptions, plan *session.RunPlan, stay bool) (int, error) {
	// The masks go to hush's stderr, never stdout: stdout is the child's
	// and may be redirected to a file or a pipe the runner never reads,
	// while the runner parses both streams for workflow commands (see
	// inject.WriteGitHubMasks).
	if s.env.Getenv("GITHUB_ACTIONS") == "true" {
		if err := inject.WriteGitHubMasks(s.env.Stderr, plan.Injected); err != nil {
			return 0, err
		}
	}
	var masker *inject.Masker
	if o.mask {
		var short []string
		masker, short = inject.NewMasker(plan.Injected)
		for _, n := range short {
			if !s.quiet { // -q: only what was asked for, and errors
				s.warnf("%s is shorter than 6 characters and is not masked", n)
			}
		}
	}
	// The child keeps the core-file limit hush was started with; hush's
	// own is zero (harden).
	unharden()
	code, err := inject.Run(ctx, inject.Spec{
		Argv: o.argv, Env: plan.Environ,
		Stdin: s.env.Stdin, Stdout: s.env.Stdout, Stderr: s.env.Stderr,
		Files: plan.Files, Mask: masker, Stay: plan.Stay || stay, KillDelay: o.grace,
	})
	if ended := plan.Ended(); ended != nil && err == nil {
		return code, &exitCodeError{code: exitUnavailable, err: &leaseEndedError{code: code, err: ended}}
	}
	return code, err
}
