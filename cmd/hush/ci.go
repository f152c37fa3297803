package main

import (
	"context"
	"errors"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/session"
	"github.com/hush-secrets/hush/sync/civars"
)

type ciOptions struct {
	session.CIOptions
	json, status, fail bool
}

func ciGitHubFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "repo", Usage: "GitHub repository `OWNER/REPO` (default: hush.yaml's ci.github.repo)"},
		&cli.StringFlag{Name: "environment", Usage: "a GitHub deployment environment `NAME`: its secrets instead of the repository's (default: ci.github.environment)"},
		&cli.StringFlag{Name: "api-url", Usage: "API base `URL` (default: GITHUB_API_URL, then ci.github.api_url, then https://api.github.com)"},
	}
}

func ciGitLabFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "project", Usage: "GitLab project `ID` or GROUP/PROJECT path (default: hush.yaml's ci.gitlab.project)"},
		&cli.StringFlag{Name: "scope", Usage: "the variables' environment_scope `SCOPE` (default: ci.gitlab.scope, then *)"},
		&cli.BoolFlag{Name: "protected", Usage: "make the variables protected: protected branches and tags only (default: ci.gitlab.protected)"},
		&cli.StringSliceFlag{Name: "file", Usage: "write `KEY` as a file variable (repeatable; also ci.gitlab.files)"},
		&cli.StringSliceFlag{Name: "unmasked", Usage: "allow `KEY`, whose value GitLab cannot mask, unmasked (repeatable; also ci.gitlab.unmasked)"},
		&cli.BoolFlag{Name: "allow-unmasked", Usage: "allow every value GitLab cannot mask, unmasked"},
		&cli.StringFlag{Name: "api-url", Usage: "API base `URL` (default: CI_API_V4_URL, GITLAB_API_URL, then ci.gitlab.api_url, then https://gitlab.com/api/v4)"},
	}
}

func ciOpts(c *cli.Context, service string) ciOptions {
	return ciOptions{CIOptions: session.CIOptions{Service: service, API: c.String("api-url"),
		Repo: c.String("repo"), Environment: c.String("environment"),
		Project: c.String("project"), Scope: c.String("scope"), Protected: c.Bool("protected"), ProtectedSet: c.IsSet("protected"),
		Files: c.StringSlice("file"), Unmasked: c.StringSlice("unmasked"), AllowUnmasked: c.Bool("allow-unmasked"),
		Prune: c.Bool("prune"), DryRun: c.Bool("dry-run")},
		json: c.Bool("json"), fail: c.Bool("fail")}
}

func ciCommands(env *Env) []*cli.Command {
	action := func(service string, run func(context.Context, *ui, ciOptions) error) cli.ActionFunc {
		return func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usagef("%s takes no arguments", c.Command.Name)
			}
			s, err := newSession(env, c)
			if err != nil {
				return err
			}
			err = run(c.Context, s, ciOpts(c, service))
			if errors.Is(err, civars.ErrRule) {
				return &exitCodeError{code: exitPolicy, err: err}
			}
			return err
		}
	}
	pushFlags := []cli.Flag{
		&cli.BoolFlag{Name: "prune", Usage: "also delete the destination's variables the environment does not have"},
		&cli.BoolFlag{Name: "dry-run", Usage: "say what a push would write and delete; send nothing"},
	}
	diffFlags := []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "machine-readable output"}}
	statusFlags := append(diffFlags[:1:1], &cli.BoolFlag{Name: "fail", Usage: "exit 1 unless a push would change nothing, as ci diff does"})
	services := func(run func(context.Context, *ui, ciOptions) error, extra []cli.Flag, ghEx, glEx string) []*cli.Command {
		return []*cli.Command{
			{Name: "github", Usage: "GitHub Actions secrets of a repository or a deployment environment", Description: ghEx,
				Flags: append(ciGitHubFlags(), extra...), Action: action("github", run)},
			{Name: "gitlab", Usage: "GitLab CI/CD variables of a project", Description: glEx,
				Flags: append(ciGitLabFlags(), extra...), Action: action("gitlab", run)},
		}
	}
	return []*cli.Command{{
		Name:  "ci",
		Usage: "publish an environment to CI secret variables (GitHub Actions, GitLab CI/CD)",
		Description: `hush ci push copies an environment (its team store and those it inherits
from; never your personal overrides) to a CI service's secret variables. It
is one way: hush holds the values, the CI service a copy. Every rule the
service would refuse a variable by is checked first: a push that would
break one sends nothing (exit 7).

GITHUB: Actions secrets of a repository, or of one of its deployment
environments (--environment). Each value is sealed to the repository's
public key (libsodium sealed box) before it leaves. GitHub never gives a
secret's value back, only its name and when it was updated: ci diff
compares names, and flags a secret hush changed after GitHub's copy was
written as stale; push writes every key. Names: letters, digits and _,
not starting with a digit or GITHUB_, unique regardless of case (GitHub
keeps them upper case); values up to 48 KB; 100 secrets per repository or
environment. Token: GITHUB_TOKEN, else GH_TOKEN (fine-grained: Secrets
read and write; classic: repo); a workflow's own GITHUB_TOKEN cannot.

GITLAB: CI/CD variables of a project in one environment scope. Every
variable is written raw (GitLab would otherwise expand a $NAME in a value)
and masked; a value GitLab cannot mask (shorter than 8 characters, or with
whitespace) is refused unless --unmasked KEY allows it, because an
unmasked value is printed in clear by any job that echoes it. Values can
be read back, so ci diff compares values and settings. Token: GITLAB_TOKEN
(api scope, Maintainer role); a job's CI_JOB_TOKEN cannot manage variables.

WHERE: --repo/--project, or the ci: section of .hush/hush.yaml, which is
pinned: changed by a pull, every ci command refuses (exit 6) until hush ack.
   ci:
     github: {repo: OWNER/REPO, environment: NAME, api_url: URL}
     gitlab: {project: GROUP/PROJECT, scope: production, protected: true,
              files: [TLS_CERT], unmasked: [PIN], api_url: URL}

EXIT: 0 done (diff, status --fail: in step), 1 differs or another error,
2 usage, 6 the ci: section changed, 7 a variable the service would refuse,
8 the service unreachable, or the token refused.

EXAMPLES:
   hush ci push github --repo acme/api --env prod --dry-run
   hush ci push github --repo acme/api --environment production --env prod --prune
   hush ci push gitlab --project acme/api --scope production --protected --env prod
   hush ci diff gitlab --project 42 --env prod`,
		Subcommands: []*cli.Command{
			{Name: "push", Usage: "write the environment's values to the CI service (--prune: delete the others)",
				Subcommands: services(runCIPush, pushFlags, `EXAMPLES:
   hush ci push github --repo acme/api --env prod
   hush ci push github --repo acme/api --environment production --env prod --prune
   GITHUB_API_URL=https://ghe.example.com/api/v3 hush ci push github --repo acme/api --env prod`, `EXAMPLES:
   hush ci push gitlab --project acme/api --env prod --scope production --protected
   hush ci push gitlab --project 42 --env dev --file TLS_CERT --unmasked PIN`)},
			{Name: "diff", Usage: "list what a push would change (names; values too where the service gives them back)",
				Subcommands: services(runCIDiff, diffFlags, `EXAMPLE:
   hush ci diff github --repo acme/api --env prod      # exit 1 when a push would change something`, `EXAMPLE:
   hush ci diff gitlab --project acme/api --env prod`)},
			{Name: "status", Usage: "say whether the CI copy is in step (--fail: exit 1 unless it is)",
				Subcommands: services(runCIStatus, statusFlags, `EXAMPLE:
   hush ci status github --repo acme/api --env prod --fail`, `EXAMPLE:
   hush ci status gitlab --project acme/api --env prod`)},
		},
	}}
}

func runCIPush(ctx context.Context, s *ui, o ciOptions) error {
	r, err := s.CIPush(ctx, o.CIOptions)
	if err != nil {
		return err
	}
	verb, del := "pushed", "deleted"
	if r.DryRun {
		verb, del = "would push", "would delete"
	}
	switch {
	case len(r.Set)+len(r.Deleted) == 0:
		s.infof("%s: nothing to push to %s (%d in step)", r.Env, r.Location, len(r.Unchanged))
	default:
		if len(r.Set) > 0 {
			s.infof("%s %d variable(s) of %s to %s: %s", verb, len(r.Set), r.Env, r.Location, strings.Join(r.Set, ", "))
		}
		if len(r.Deleted) > 0 {
			s.infof("%s %d variable(s) at %s: %s", del, len(r.Deleted), r.Location, strings.Join(r.Deleted, ", "))
		}
	}
	if n := r.Count(civars.Extra); n > 0 && !o.Prune {
		s.infof("%d variable(s) at %s are not in %s: %s; --prune deletes them", n, r.Location, r.Env, strings.Join(extras(r.Diff), ", "))
	}
	return nil
}

func extras(d *civars.Diff) []string {
	var out []string
	for _, it := range d.Items {
		if it.Kind == civars.Extra {
			out = append(out, it.Remote)
		}
	}
	return out
}

func runCIStatus(ctx context.Context, s *ui, o ciOptions) error {
	o.status = true
	return runCIDiff(ctx, s, o)
}

func runCIDiff(ctx context.Context, s *ui, o ciOptions) error {
	r, err := s.CICompare(ctx, o.CIOptions)
	if err != nil {
		return err
	}
	d := r.Diff
	differs := error(nil)
	if !d.InStep() && (!o.status || o.fail) {
		differs = &exitCodeError{code: exitDiffers}
	}
	state := "in step"
	if !d.InStep() {
		state = "differs"
	}
	if o.json {
		type item struct {
			Key    string   `json:"key,omitempty"`
			Remote string   `json:"remote,omitempty"`
			Change string   `json:"change"`
			Why    []string `json:"why,omitempty"`
		}
		out := struct {
			Env      string `json:"environment"`
			Service  string `json:"service"`
			Location string `json:"location"`
			Status   string `json:"status"`
			Values   bool   `json:"values_compared"`
			Items    []item `json:"items"`
		}{Env: r.Env, Service: r.Service, Location: d.Location, Status: state, Values: d.Readable, Items: []item{}}
		for _, it := range d.Items {
			out.Items = append(out.Items, item{it.Name, it.Remote, string(it.Kind), it.Why})
		}
		if err := writeJSON(s.env.Stdout, out); err != nil {
			return err
		}
		return differs
	}
	printf(s.env.Stdout, "%s: %s with %s\n", r.Env, state, d.Location)
	if !d.Readable {
		printf(s.env.Stdout, "GitHub does not give secret values back: names compared, and hush's change time against GitHub's\n")
	}
	if o.status {
		if !d.InStep() {
			printf(s.env.Stdout, "%d to add, %d changed, %d stale, %d only there; see hush ci diff\n", d.Count(civars.Add), d.Count(civars.Change), d.Count(civars.Stale), d.Count(civars.Extra))
		}
		return differs
	}
	tw := tabwriter.NewWriter(s.env.Stdout, 0, 4, 2, ' ', 0)
	for _, it := range d.Items {
		switch it.Kind {
		case civars.Add:
			printf(tw, "  add\t%s\t(push)\n", it.Name)
		case civars.Change:
			printf(tw, "  change\t%s\t(%s)\n", it.Name, strings.Join(it.Why, ", "))
		case civars.Stale:
			printf(tw, "  stale\t%s\t(changed in hush since %s was written)\n", it.Name, it.Remote)
		case civars.Present:
			printf(tw, "  present\t%s\t(value not readable)\n", it.Name)
		case civars.Extra:
			printf(tw, "  extra\t%s\t(not in %s; push --prune deletes it)\n", it.Remote, r.Env)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return differs
}
