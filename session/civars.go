package session

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
	"github.com/hush-secrets/hush/sync"
	"github.com/hush-secrets/hush/sync/civars"
)

// This file is hush ci's side of the session: the destination from the
// command line and hush.yaml's pinned ci: section, the environment's
// values, and a push with one audit line per variable written or deleted.

// CIOptions are the command line's settings of a CI destination; ""
// leaves hush.yaml's (or the default).
type CIOptions struct {
	// Service is "github" or "gitlab".
	Service string
	API     string
	// GitHub: Repo OWNER/REPO; Environment a deployment environment.
	Repo, Environment string
	// GitLab: Project an id or path; Scope the environment_scope.
	Project, Scope string
	// Protected, when ProtectedSet, overrides ci.gitlab.protected.
	Protected, ProtectedSet bool
	Files, Unmasked         []string
	AllowUnmasked           bool
	// Prune deletes variables the environment does not have; DryRun
	// writes nothing.
	Prune, DryRun bool
	// HTTPClient, when set, is used for the requests (tests).
	HTTPClient *http.Client
}

// ciTarget builds the destination o names, refusing a ci: section changed
// since this user acknowledged it: it decides where every value and the
// token go, so flags do not route around the pin either.
func (s *Session) ciTarget(p *store.Project, o CIOptions) (civars.Target, error) {
	if err := p.CheckSettings("ci", "project", "id"); err != nil {
		return nil, err
	}
	cfg, err := civars.ParseConfig(p.Config.Extra["ci"])
	if err != nil {
		return nil, err
	}
	agent := "hush/" + s.Version
	first := func(vs ...string) string {
		for _, v := range vs {
			if v != "" {
				return v
			}
		}
		return ""
	}
	switch o.Service {
	case "github":
		repo := first(o.Repo, cfg.GitHub.Repo)
		if repo == "" {
			return nil, Usagef("name the repository: --repo OWNER/REPO, or ci.github.repo in .hush/hush.yaml")
		}
		t, err := civars.NewGitHub(civars.GitHubOptions{API: first(o.API, s.Getenv("GITHUB_API_URL"), cfg.GitHub.APIURL),
			Repo: repo, Environment: first(o.Environment, cfg.GitHub.Environment),
			Token: first(s.Getenv("GITHUB_TOKEN"), s.Getenv("GH_TOKEN")), UserAgent: agent, HTTPClient: o.HTTPClient})
		if err != nil {
			return nil, Usagef("%v", err)
		}
		return t, nil
	case "gitlab":
		project := first(o.Project, cfg.GitLab.Project)
		if project == "" {
			return nil, Usagef("name the project: --project ID|GROUP/PROJECT, or ci.gitlab.project in .hush/hush.yaml")
		}
		token := s.Getenv("GITLAB_TOKEN")
		if token == "" && s.Getenv("CI_JOB_TOKEN") != "" {
			return nil, Usagef("GITLAB_TOKEN is not set, and a job's CI_JOB_TOKEN cannot manage CI/CD variables (GitLab allows job tokens a few endpoints, not this one): store a project access token with the api scope and the Maintainer role as a masked variable GITLAB_TOKEN")
		}
		protected := cfg.GitLab.Protected
		if o.ProtectedSet {
			protected = o.Protected
		}
		t, err := civars.NewGitLab(civars.GitLabOptions{API: first(o.API, s.Getenv("CI_API_V4_URL"), s.Getenv("GITLAB_API_URL"), cfg.GitLab.APIURL),
			Project: project, Scope: first(o.Scope, cfg.GitLab.Scope), Protected: protected,
			Files: union(cfg.GitLab.Files, o.Files), Unmasked: union(cfg.GitLab.Unmasked, o.Unmasked), AllowUnmasked: o.AllowUnmasked,
			Token: token, UserAgent: agent, HTTPClient: o.HTTPClient})
		if err != nil {
			return nil, Usagef("%v", err)
		}
		return t, nil
	}
	return nil, Usagef("unknown CI service %q: github or gitlab", o.Service)
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, x := range b {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// CIReport is a push's or a comparison's outcome for the CLI.
type CIReport struct {
	*civars.Result
	Env     string
	Service string
}

// ciOpen is what a ci command works on: the environment, its destination
// (refused while the pinned ci: section differs from what was
// acknowledged), and its team values with what it inherits.
func (s *Session) ciOpen(o CIOptions) (string, civars.Target, map[string]store.Entry, error) {
	p, env, id, err := s.OpenEnv()
	if err != nil {
		return "", nil, nil, err
	}
	t, err := s.ciTarget(p, o)
	if err != nil {
		return "", nil, nil, err
	}
	if err := s.AuditReady(); err != nil {
		return "", nil, nil, err
	}
	entries, err := p.LayeredTeam(env, id)
	if err != nil {
		return "", nil, nil, err
	}
	return env, t, entries, nil
}

// CIPush publishes the session's environment to o's destination (or,
// DryRun, says what it would do). Each variable written or deleted is an
// audit line (ci.push, ci.delete) naming the destination; a push refused
// or stopped before writing anything is one line for the environment.
func (s *Session) CIPush(ctx context.Context, o CIOptions) (*CIReport, error) {
	env, t, entries, err := s.ciOpen(o)
	if err != nil {
		return nil, err
	}
	vars := make([]civars.Var, 0, len(entries))
	from := map[string]string{} // key -> environment whose store holds it
	for _, k := range sortedKeys(entries) {
		e := entries[k]
		vars = append(vars, civars.Var{Name: k, Value: e.Secret.Value, Updated: e.Secret.Updated})
		from[k] = e.Env
	}
	wrote := 0
	written := func(it civars.Item, deleted bool, werr error) error {
		wrote++
		action, key, path := audit.CIPush, it.Name, ""
		if deleted {
			action, key = audit.CIDelete, it.Remote
			path = s.SecretPath(env, key)
		} else {
			path = s.SecretPath(from[key], key)
		}
		return s.AuditCI(action, t.Location(), path, ciDetail(t, it, deleted), werr)
	}
	res, err := civars.Push(ctx, t, vars, civars.PushOptions{Prune: o.Prune, DryRun: o.DryRun, Written: written})
	if err != nil {
		if wrote == 0 {
			if aerr := s.AuditCI(audit.CIPush, t.Location(), s.SecretPath(env, ""), t.Service()+": nothing sent", err); aerr != nil {
				return nil, join(ciHint(t, err), aerr)
			}
		}
		if res != nil && len(res.Set)+len(res.Deleted) > 0 {
			// Say what did change, so the user knows the copy is part-way.
			done := append(append([]string{}, res.Set...), prefixed("-", res.Deleted)...)
			err = fmt.Errorf("%w (the push stopped part-way: %s written; run it again to finish)", err, strings.Join(done, ", "))
		}
		return nil, ciHint(t, err)
	}
	if wrote == 0 {
		// Nothing was sent (a dry run, or in step): the values were still
		// read to compare them.
		if aerr := s.AuditCI(audit.SecretList, t.Location(), s.SecretPath(env, ""), t.Service()+": compared, nothing sent", nil); aerr != nil {
			return nil, aerr
		}
	}
	return &CIReport{Result: res, Env: env, Service: t.Service()}, nil
}

// CICompare compares the session's environment with o's destination:
// names only for GitHub (its values cannot be read back), values and
// settings for GitLab. The read is one audit line.
func (s *Session) CICompare(ctx context.Context, o CIOptions) (*CIReport, error) {
	env, t, entries, err := s.ciOpen(o)
	if err != nil {
		return nil, err
	}
	vars := make([]civars.Var, 0, len(entries))
	for _, k := range sortedKeys(entries) {
		vars = append(vars, civars.Var{Name: k, Value: entries[k].Secret.Value, Updated: entries[k].Secret.Updated})
	}
	remote, err := t.List(ctx)
	if aerr := s.AuditCI(audit.SecretList, t.Location(), s.SecretPath(env, ""), t.Service()+": compared", err); aerr != nil {
		return nil, join(ciHint(t, err), aerr)
	}
	if err != nil {
		return nil, ciHint(t, err)
	}
	return &CIReport{Result: &civars.Result{Diff: civars.Compare(t, vars, remote)}, Env: env, Service: t.Service()}, nil
}

func sortedKeys(m map[string]store.Entry) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// ciDetail says which variable a line is about and how it was written;
// never a value.
func ciDetail(t civars.Target, it civars.Item, deleted bool) string {
	name := t.Canon(it.Name)
	if deleted {
		name = it.Remote
	}
	d := fmt.Sprintf("%s %s (%s)", t.Service(), name, it.Kind)
	if len(it.Why) > 0 {
		d += ": " + strings.Join(it.Why, ", ")
	}
	return d
}

// ciHint adds the hint that fits an error of a CI service.
func ciHint(t civars.Target, err error) error {
	var he *hint.Error
	switch {
	case err == nil || errors.As(err, &he):
		return err
	case errors.Is(err, sync.ErrDenied):
		if h, ok := t.(interface{ DeniedHint() string }); ok {
			return hint.With(err, "%s", h.DeniedHint())
		}
	case errors.Is(err, sync.ErrUnavailable):
		if t.Service() == "github" {
			return hint.With(err, "is the API reachable? GitHub Enterprise: set GITHUB_API_URL or --api-url (https://HOST/api/v3)")
		}
		return hint.With(err, "is the API reachable? a self-managed GitLab: set CI_API_V4_URL, GITLAB_API_URL or --api-url (https://HOST/api/v4)")
	case errors.Is(err, civars.ErrRule):
		return hint.With(err, "nothing was sent; fix the keys named (a new name: hush set NEW, then hush rm OLD) or, for GitLab's masking, pass --unmasked KEY")
	}
	return err
}

func prefixed(p string, l []string) []string {
	out := make([]string, len(l))
	for i, x := range l {
		out[i] = p + x
	}
	return out
}
