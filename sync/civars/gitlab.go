package civars

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hush-secrets/hush/store"
)

// GitLab's rules for CI/CD variables (Ci::HasVariable and Ci::Maskable in
// GitLab's source, "CI/CD variables" in its docs): a key of letters,
// digits and _ only, at most 255 characters; a masked value at least 8
// characters with no whitespace, and, unless the variable is raw (not
// expanded), only characters of the Base64 alphabet and @ : . ~ -.
//
// hush writes every variable raw (expanded: false): GitLab would otherwise
// read a $NAME in a value as a reference to another variable, so a
// password with a $ in it would reach the job changed. Raw also lets a
// masked value hold any character but whitespace.
// The checks are written out rather than regexps compiled at start-up,
// which would cost every hush command their time.

// gitlabKey is /\A[a-zA-Z0-9_]+\z/.
func gitlabKey(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

// maskRaw is Ruby's /\A\S{8,}\z/: at least 8 characters, none of them
// whitespace (Ruby's \s: space, \t, \n, \v, \f, \r).
func maskRaw(s string) bool {
	return utf8.RuneCountInString(s) >= 8 && !strings.ContainsAny(s, " \t\n\v\f\r")
}

// maskExpanded is /\A[a-zA-Z0-9_+=\/@:.~-]{8,}\z/.
func maskExpanded(s string) bool {
	if len(s) < 8 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("_+=/@:.~-", c) >= 0) {
			return false
		}
	}
	return true
}

// DefaultGitLabAPI is gitlab.com's API (CI_API_V4_URL in its jobs).
const DefaultGitLabAPI = "https://gitlab.com/api/v4"

// GitLabOptions say where a GitLab target is and how its variables are set.
type GitLabOptions struct {
	API string
	// Project is a numeric id or a full path (group/sub/project).
	Project string
	// Scope is the environment_scope ("*" when "").
	Scope string
	// Protected makes every variable protected (protected branches and
	// tags only).
	Protected bool
	// Files are keys written as file variables (the job gets a path to a
	// file holding the value).
	Files []string
	// Unmasked are keys allowed to be written unmasked because their value
	// cannot be masked; AllowUnmasked allows every such key.
	Unmasked      []string
	AllowUnmasked bool
	Token         string
	UserAgent     string
	HTTPClient    *http.Client
}

// GitLab is a project's CI/CD variables of one environment scope.
type GitLab struct {
	c       *client
	o       GitLabOptions
	project string // escaped for a path
}

var _ Target = (*GitLab)(nil)

// NewGitLab checks o and returns the target; it sends nothing.
func NewGitLab(o GitLabOptions) (*GitLab, error) {
	if !validGitLabProject(o.Project) {
		return nil, fmt.Errorf("%q is not a GitLab project id or path (group/project)", o.Project)
	}
	if o.Scope == "" {
		o.Scope = "*"
	}
	if len(o.Scope) > 255 || strings.ContainsAny(o.Scope, "\x00\n\r") {
		return nil, fmt.Errorf("%q is not a GitLab environment scope", o.Scope)
	}
	if o.API == "" {
		o.API = DefaultGitLabAPI
	}
	base, err := BaseURL(o.API)
	if err != nil {
		return nil, err
	}
	if o.Token == "" {
		return nil, errors.New("no GitLab token: set GITLAB_TOKEN to a token with the api scope and the Maintainer role on the project (a job's CI_JOB_TOKEN cannot manage variables)")
	}
	auth := func(r *http.Request) { r.Header.Set("PRIVATE-TOKEN", o.Token) }
	return &GitLab{c: newClient("GitLab", base, auth, o.UserAgent, o.HTTPClient), o: o, project: url.PathEscape(o.Project)}, nil
}

func validGitLabProject(p string) bool {
	if p == "" || len(p) > 1000 || strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") {
		return false
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
		for _, r := range seg {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
				return false
			}
		}
	}
	return true
}

func (g *GitLab) Service() string { return "gitlab" }

// Location is the API URL of the project's variables and the scope.
func (g *GitLab) Location() string {
	return g.c.base.String() + "/projects/" + g.project + "/variables (scope " + g.o.Scope + ")"
}

// Readable is true: GitLab returns values to a Maintainer.
func (g *GitLab) Readable() bool { return true }

// Canon is the key as it is: GitLab's keys are case-sensitive.
func (g *GitLab) Canon(name string) string { return name }

// Masked says whether hush masks key: every key whose value GitLab can
// mask, and the others only when allowed (then unmasked).
func (g *GitLab) masked(v Var) bool { return maskRaw(v.Value.Reveal()) }

// Maskable says whether GitLab can mask value in a raw variable (and, in
// an expanded one, expanded).
func Maskable(value string, raw bool) bool {
	if raw {
		return maskRaw(value)
	}
	return maskExpanded(value)
}

// Check applies GitLab's key rules and the masking rule: a value GitLab
// cannot mask is refused unless allowed, since an unmasked secret is
// printed in clear by any job that echoes it, in logs more people read
// than the variable's settings.
func (g *GitLab) Check(vars []Var) error {
	var problems []string
	for _, v := range vars {
		switch {
		case !gitlabKey(v.Name):
			problems = append(problems, v.Name+": a GitLab variable key has only letters, digits and _")
		case len(v.Name) > 255:
			problems = append(problems, v.Name+": a GitLab variable key has at most 255 characters")
		}
		if p := checkValue(v); p != "" {
			problems = append(problems, p)
			continue
		}
		if !g.masked(v) && !g.o.AllowUnmasked && !slices.Contains(g.o.Unmasked, v.Name) {
			why := "has whitespace (a space, tab or newline)"
			if utf8.RuneCountInString(v.Value.Reveal()) < 8 {
				why = "is shorter than 8 characters"
			}
			problems = append(problems, v.Name+": GitLab cannot mask the value: it "+why+"; --unmasked "+v.Name+" writes it unmasked (shown in clear in job logs)")
		}
	}
	for _, k := range append(append([]string{}, g.o.Files...), g.o.Unmasked...) {
		if !slices.ContainsFunc(vars, func(v Var) bool { return v.Name == k }) {
			problems = append(problems, k+": named by --file or --unmasked but not in the environment")
		}
	}
	if len(problems) > 0 {
		return &RuleError{Service: "GitLab", Problems: problems}
	}
	return nil
}

type gitlabVar struct {
	Key              string `json:"key"`
	Value            string `json:"value"`
	VariableType     string `json:"variable_type"`
	Protected        bool   `json:"protected"`
	Masked           bool   `json:"masked"`
	Raw              bool   `json:"raw"`
	EnvironmentScope string `json:"environment_scope"`
	Hidden           bool   `json:"hidden"`
}

// List returns the project's variables of the scope, page by page.
func (g *GitLab) List(ctx context.Context) ([]Remote, error) {
	var out []Remote
	for page := 1; ; page++ {
		var vars []gitlabVar
		q := url.Values{"per_page": {strconv.Itoa(listPageSize)}, "page": {strconv.Itoa(page)}}
		h, err := g.c.do(ctx, http.MethodGet, "/projects/"+g.project+"/variables", q, nil, &vars, true)
		if err != nil {
			return nil, err
		}
		for _, v := range vars {
			if v.EnvironmentScope != g.o.Scope {
				continue
			}
			out = append(out, Remote{Name: v.Key, Value: store.Value(v.Value), Masked: v.Masked, Protected: v.Protected, Raw: v.Raw,
				Type: v.VariableType, EnvironmentScope: v.EnvironmentScope, ValueKnown: !v.Hidden})
		}
		next := h.Get("X-Next-Page")
		if next == "" && !hasNext(h) || len(vars) == 0 {
			break
		}
		if page > 1000 {
			return nil, fmt.Errorf("GitLab: listing %s: more than 1000 pages", g.Location())
		}
	}
	return out, nil
}

func (g *GitLab) body(v Var) map[string]any {
	typ := "env_var"
	if slices.Contains(g.o.Files, v.Name) {
		typ = "file"
	}
	return map[string]any{"key": v.Name, "value": v.Value.Reveal(), "variable_type": typ, "protected": g.o.Protected,
		"masked": g.masked(v), "raw": true, "environment_scope": g.o.Scope}
}

// Want is what differs in r's settings from what hush would write for v.
func (g *GitLab) Want(v Var, r Remote) []string {
	b := g.body(v)
	var why []string
	if r.Type != b["variable_type"] {
		why = append(why, "variable_type")
	}
	if r.Protected != b["protected"] {
		why = append(why, "protected")
	}
	if r.Masked != b["masked"] {
		why = append(why, "masked")
	}
	if !r.Raw {
		why = append(why, "raw")
	}
	return why
}

// Put creates (POST) or updates (PUT, filtered by the scope) a variable.
// A POST refused because the key exists (another push got there first, or
// the answer to ours was lost) becomes a PUT.
func (g *GitLab) Put(ctx context.Context, v Var, exists bool) error {
	body := g.body(v)
	if !exists {
		_, err := g.c.do(ctx, http.MethodPost, "/projects/"+g.project+"/variables", nil, body, nil, true)
		if err == nil || Status(err) != http.StatusBadRequest || !strings.Contains(errMessage(err), "has already been taken") {
			return err
		}
	}
	q := url.Values{"filter[environment_scope]": {g.o.Scope}}
	_, err := g.c.do(ctx, http.MethodPut, "/projects/"+g.project+"/variables/"+url.PathEscape(v.Name), q, body, nil, true)
	return err
}

// Delete removes the scope's variable; one already gone is not an error.
func (g *GitLab) Delete(ctx context.Context, name string) error {
	q := url.Values{"filter[environment_scope]": {g.o.Scope}}
	_, err := g.c.do(ctx, http.MethodDelete, "/projects/"+g.project+"/variables/"+url.PathEscape(name), q, nil, nil, false)
	if Status(err) == http.StatusNotFound {
		return nil
	}
	return err
}

func errMessage(err error) string {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.message
	}
	return ""
}

// DeniedHint says what to check when GitLab refuses the token.
func (g *GitLab) DeniedHint() string {
	return fmt.Sprintf("check GITLAB_TOKEN: it needs the api scope and the Maintainer role on project %s (a CI_JOB_TOKEN cannot manage variables); a project it cannot see answers 404", g.o.Project)
}
