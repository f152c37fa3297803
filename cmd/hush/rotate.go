package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/rotate"
	"github.com/hush-secrets/hush/session"
	"github.com/hush-secrets/hush/store"
)

func rotateCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "rotate",
		Usage:     "give a secret a new value, at its source (a database, Vault, your script) and in the store",
		ArgsUsage: "[KEY]",
		Description: `A key with a rotation source in hush.yaml (rotation.sources) is rotated where
the credential lives, in four phases: create the new credential at the source,
store it (and push to Vault when the environment syncs), verify it works, and
retire the old one once the grace period is over. A journal records each phase,
so a crash or a kill anywhere is finished by rerunning, by --resume, or by the
next --due; hush status shows an unfinished rotation meanwhile.

A key without a source gets its new value from stdin, a no-echo prompt, or
--generate (crypto/rand): rotate at the provider first; this records the new
value. --manual does that for a key that has a source, leaving the source as
it is.

--due rotates everything due by policy (due, overdue, exposed, compromised; see
hush status) that has a source, continues unfinished rotations, and reports the
due keys without one: run it from a scheduled CI job.

EXAMPLES:
   hush rotate DB_PASSWORD --env prod            # at its source, from hush.yaml
   hush rotate DB_PASSWORD --env prod --wait     # and wait out the grace period
   hush rotate TLS_CERT --env prod               # a certificate from an ACME CA (provider acme)
   hush rotate --resume                          # finish what a crash left
   hush rotate --due --dry-run                   # what is due, and how it would rotate
   hush rotate --due --env prod --json           # for a scheduled job
   hush rotate SESSION_SECRET --generate --length 48 --env prod
   printf %s "$NEW_KEY" | hush rotate STRIPE_API_KEY --env prod`,
		Flags: []cli.Flag{
			personalFlag,
			&cli.BoolFlag{Name: "generate", Aliases: []string{"g"}, Usage: "generate the value with crypto/rand (a key without a rotation source)"},
			&cli.IntFlag{Name: "length", Value: 32, Usage: "generated value length in `CHARS`"},
			&cli.StringFlag{Name: "charset", Value: "alnum", Usage: "generated value characters: alnum, hex, base64 or symbols"},
			&cli.BoolFlag{Name: "push", Usage: "then push the environment to Vault, as hush vault push does (VAULT_ADDR or hush.yaml's vault: section)"},
			&cli.BoolFlag{Name: "manual", Usage: "a new value in the store only, for a key whose source you changed yourself"},
			&cli.BoolFlag{Name: "resume", Usage: "continue unfinished rotations (of KEY, or every one in --env or the project)"},
			&cli.BoolFlag{Name: "due", Usage: "rotate every secret due by policy that has a rotation source"},
			&cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Usage: "with --due or --resume: say what would rotate, change nothing"},
			&cli.BoolFlag{Name: "wait", Usage: "wait out the grace period, then retire the old credential"},
			&cli.BoolFlag{Name: "force", Usage: "store the rotated value even though the store's value changed since the rotation began"},
			&cli.BoolFlag{Name: "json", Usage: "machine-readable report of source rotations"},
		},
		Action: withSession(env, func(c *cli.Context, s *ui) error {
			return rotateAction(c, s)
		}),
	}
}

func rotateAction(c *cli.Context, s *ui) error {
	push, due, resume, manual := c.Bool("push"), c.Bool("due"), c.Bool("resume"), c.Bool("manual")
	src := session.SourceOptions{Push: push, Wait: c.Bool("wait"), Force: c.Bool("force")}
	asJSON := c.Bool("json")
	switch {
	case due && resume:
		return usagef("use either --due (which also resumes) or --resume")
	case (due || resume) && (manual || c.Bool("generate") || scopeOf(c) == store.Personal):
		return usagef("--due and --resume rotate team secrets at their sources; --manual, --generate and --personal do not apply")
	case c.Bool("dry-run") && !due && !resume:
		return usagef("--dry-run goes with --due or --resume")
	}
	if due {
		if c.NArg() != 0 {
			return usagef("--due takes no KEY")
		}
		reps, err := s.RotateDue(session.DueOptions{SourceOptions: src, Envs: envList(s), DryRun: c.Bool("dry-run")})
		if err != nil {
			return err
		}
		return renderRotations(s, reps, asJSON, c.Bool("dry-run"))
	}
	if resume && c.NArg() == 0 {
		reps, err := s.ResumeRotations(session.DueOptions{SourceOptions: src, Envs: envList(s), DryRun: c.Bool("dry-run")})
		if err != nil {
			return err
		}
		if len(reps) == 0 && !asJSON {
			s.infof("no unfinished rotation")
			return nil
		}
		return renderRotations(s, reps, asJSON, c.Bool("dry-run"))
	}
	if c.NArg() != 1 {
		return usagef("rotate takes one KEY (or --due, or --resume)")
	}
	key := c.Args().First()
	if !manual && scopeOf(c) == store.Team {
		envName, err := s.EnvName()
		if err != nil {
			return err
		}
		if _, ok, err := s.RotationSource(envName, key); err != nil {
			return err
		} else if ok || resume {
			if c.Bool("generate") {
				return hint.With(usagef("%s rotates at its source (hush.yaml rotation.sources): the source makes the new value", key),
					"a value you changed at the source yourself goes in with: hush rotate %s --manual", key)
			}
			src.OnlyResume = resume
			rep, err := s.RotateAtSource(envName, key, src)
			if err != nil {
				return err
			}
			if resume && !rep.Resumed {
				s.infof("no unfinished rotation of %s in %s", key, envName)
				return nil
			}
			return renderRotations(s, []*session.RotationReport{rep}, asJSON, false)
		}
	}
	if push && scopeOf(c) == store.Personal {
		return hint.With(usagef("--push pushes the team store; a personal secret never goes to Vault"), "rotate without --push or without --personal")
	}
	if err := runRotate(s, key, scopeOf(c), rotateOptions{generate: c.Bool("generate"), length: c.Int("length"), charset: c.String("charset")}); err != nil || !push {
		return err
	}
	// The same push, from the same settings, as hush vault push.
	if err := runVaultSync(c.Context, s, vaultOptions{}, true); err != nil {
		return hint.With(fmt.Errorf("rotated %s in the store, but the push failed: %w", key, err), "push it once Vault is reachable: hush vault push")
	}
	return nil
}

// envList is --env as a list (nil: every environment).
func envList(s *ui) []string {
	if s.EnvFlag == "" {
		return nil
	}
	return []string{s.EnvFlag}
}

// renderRotations prints one line (or JSON object) per rotation and fails
// when one stopped.
func renderRotations(s *ui, reps []*session.RotationReport, asJSON, dry bool) error {
	if reps == nil {
		reps = []*session.RotationReport{}
	}
	if asJSON {
		if err := writeJSON(s.env.Stdout, map[string]any{"rotations": reps, "dry_run": dry}); err != nil {
			return err
		}
	}
	for _, r := range reps {
		if asJSON {
			break
		}
		what := r.Key
		if r.Env != "" {
			what = r.Key + " in " + r.Env
		}
		if r.Key == "" {
			what = r.Env
		}
		switch {
		case r.Plan != "":
			printf(s.env.Stdout, "would rotate %s (%s): %s\n", what, r.Provider, r.Plan)
		case r.Skipped != "":
			printf(s.env.Stdout, "skipped %s: %s\n", what, r.Skipped)
		case r.Err != nil && r.Next == "":
			// refused before it began (settings not acknowledged, a
			// preflight): no journal; the error is printed once, below
			printf(s.env.Stdout, "did not rotate %s\n", what)
		case r.Err != nil:
			// the error itself is printed once, as the command's error
			printf(s.env.Stdout, "stopped %s (%s) before phase %s\n", what, r.Provider, r.Next)
		case r.Done:
			printf(s.env.Stdout, "rotated %s at its source (%s): %s\n", what, r.Provider, steps(r.Steps, r.FirstIssue))
		default:
			printf(s.env.Stdout, "rotated %s at its source (%s): %s; the old credential stays valid until %s (grace), then: hush rotate --resume\n",
				what, r.Provider, steps(r.Steps, r.FirstIssue), r.RetireAfter.UTC().Format(time.RFC3339))
		}
		if r.Err == nil && !r.OldValid && len(r.Steps) > 0 && r.Steps[0] == rotate.PhaseCreate {
			s.warnf("%s: the old credential stopped working at the source when the new one was made: a client still holding it fails its next login (zero downtime needs a mode that overlaps, such as postgres mode: alternate)", what)
		}
	}
	if err := session.FirstError(reps); err != nil {
		journal := slices.ContainsFunc(reps, func(r *session.RotationReport) bool { return r.Err != nil && r.Next != "" })
		if hint.Of(err) != "" || dry || !journal {
			return err
		}
		return hint.With(err, "the rotation's journal keeps where it stopped: hush rotate --resume continues it; hush status shows it")
	}
	return nil
}

func steps(ps []rotate.Phase, firstIssue bool) string {
	if len(ps) == 0 {
		return "nothing left to do"
	}
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = map[rotate.Phase]string{rotate.PhaseCreate: "created", rotate.PhaseStore: "stored", rotate.PhasePush: "pushed",
			rotate.PhaseVerify: "verified", rotate.PhaseRetire: "old retired"}[p]
		if p == rotate.PhaseRetire && firstIssue {
			out[i] = "no old one to retire"
		}
	}
	return strings.Join(out, ", ")
}

type rotateOptions struct {
	generate bool
	length   int
	charset  string
}

func runRotate(s *ui, key string, scope store.Scope, o rotateOptions) error {
	env, err := s.Rotate(key, scope, session.RotateOptions{Generate: o.generate, Length: o.length, Charset: o.charset,
		Read: func() (string, error) { return readValue(s, key, "") }})
	if err != nil {
		return err
	}
	s.infof("rotated %s in %s", key, env)
	return nil
}
