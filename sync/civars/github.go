package civars

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/nacl/box"
)

// GitHub's rules for Actions secrets (docs.github.com, "Using secrets in
// GitHub Actions", naming your secrets): letters, digits and _ only, not
// starting with a digit nor with GITHUB_, unique regardless of case (GitHub
// keeps them upper case); a value of at most 48 KB; at most 100 secrets in
// a repository and 100 in an environment.
const (
	GitHubMaxValue   = 48 * 1024
	GitHubMaxSecrets = 100
	// DefaultGitHubAPI is github.com's API; GitHub Enterprise Server's is
	// https://HOST/api/v3 (GITHUB_API_URL in its Actions runners).
	DefaultGitHubAPI = "https://api.github.com"
)

// githubName is [A-Za-z_][A-Za-z0-9_]*, by hand: a regexp compiled at
// start-up would cost every hush command its time.
func githubName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

// GitHubOptions say where a GitHub target is.
type GitHubOptions struct {
	// API is the API's base URL (DefaultGitHubAPI when "").
	API string
	// Repo is OWNER/REPO; Environment a deployment environment of it, or
	// "" for repository secrets.
	Repo, Environment string
	Token             string
	UserAgent         string
	HTTPClient        *http.Client
}

// GitHub is a repository's (or one of its environments') Actions secrets.
type GitHub struct {
	c           *client
	owner, repo string
	env         string
	prefix      string // /repos/OWNER/REPO/actions or /repos/OWNER/REPO/environments/ENV
	key         *githubKey
	// total is the number of secrets the last List counted.
	total int
}

type githubKey struct {
	ID  string
	Key [32]byte
}

var _ Target = (*GitHub)(nil)

// NewGitHub checks o and returns the target; it sends nothing.
func NewGitHub(o GitHubOptions) (*GitHub, error) {
	owner, repo, ok := strings.Cut(o.Repo, "/")
	if !ok || !validRepoPart(owner) || !validRepoPart(repo) {
		return nil, fmt.Errorf("%q is not a GitHub repository OWNER/REPO", o.Repo)
	}
	if o.Environment != "" && (strings.ContainsAny(o.Environment, "/\\") || strings.TrimSpace(o.Environment) != o.Environment || len(o.Environment) > 255) {
		return nil, fmt.Errorf("%q is not a GitHub environment name", o.Environment)
	}
	if o.API == "" {
		o.API = DefaultGitHubAPI
	}
	base, err := BaseURL(o.API)
	if err != nil {
		return nil, err
	}
	if o.Token == "" {
		return nil, errors.New("no GitHub token: set GITHUB_TOKEN (or GH_TOKEN) to a token that may write this repository's Actions secrets")
	}
	auth := func(r *http.Request) {
		r.Header.Set("Authorization", "Bearer "+o.Token)
		r.Header.Set("Accept", "application/vnd.github+json")
		r.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	}
	g := &GitHub{c: newClient("GitHub", base, auth, o.UserAgent, o.HTTPClient), owner: owner, repo: repo, env: o.Environment}
	g.prefix = "/repos/" + url.PathEscape(owner) + "/" + url.PathEscape(repo)
	if g.env != "" {
		g.prefix += "/environments/" + url.PathEscape(g.env)
	} else {
		g.prefix += "/actions"
	}
	return g, nil
}

func validRepoPart(s string) bool {
	if s == "" || s == "." || s == ".." || len(s) > 100 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

func (g *GitHub) Service() string { return "github" }

// Location is the API URL of the secrets.
func (g *GitHub) Location() string { return g.c.base.String() + g.prefix + "/secrets" }

// Readable is false: GitHub never returns a secret's value.
func (g *GitHub) Readable() bool { return false }

// Canon is the name upper-cased, as GitHub keeps it.
func (g *GitHub) Canon(name string) string { return strings.ToUpper(name) }

// Check applies GitHub's naming and size rules to every var.
func (g *GitHub) Check(vars []Var) error {
	var problems []string
	seen := map[string]string{}
	for _, v := range vars {
		up := strings.ToUpper(v.Name)
		switch {
		case !githubName(v.Name):
			problems = append(problems, v.Name+": a GitHub secret name has only letters, digits and _ and does not start with a digit")
		case strings.HasPrefix(up, "GITHUB_"):
			problems = append(problems, v.Name+": a GitHub secret name cannot start with GITHUB_ (reserved for GitHub's own)")
		case seen[up] != "":
			problems = append(problems, fmt.Sprintf("%s and %s: GitHub secret names ignore case, so both would be %s", seen[up], v.Name, up))
		}
		if seen[up] == "" {
			seen[up] = v.Name
		}
		if p := checkValue(v); p != "" {
			problems = append(problems, p)
		} else if n := len(v.Value.Reveal()); n > GitHubMaxValue {
			problems = append(problems, fmt.Sprintf("%s: the value is %d bytes; a GitHub secret holds at most 48 KB (%d bytes)", v.Name, n, GitHubMaxValue))
		}
	}
	if len(problems) > 0 {
		return &RuleError{Service: "GitHub", Problems: problems}
	}
	return nil
}

// checkCount refuses a push that would take the destination over
// GitHub's limit of secrets.
func (g *GitHub) checkCount(d *Diff, prune bool) error {
	n := g.total + d.Count(Add)
	if prune {
		n -= d.Count(Extra)
	}
	if n > GitHubMaxSecrets {
		where := "a repository"
		if g.env != "" {
			where = "an environment"
		}
		return &RuleError{Service: "GitHub", Problems: []string{fmt.Sprintf("the push would make %d secrets at %s; GitHub allows %d in %s", n, g.Location(), GitHubMaxSecrets, where)}}
	}
	return nil
}

type githubSecret struct {
	Name      string    `json:"name"`
	UpdatedAt time.Time `json:"updated_at"`
}

// List returns every secret's name and update time, page by page.
func (g *GitHub) List(ctx context.Context) ([]Remote, error) {
	var out []Remote
	total := -1
	for page := 1; ; page++ {
		var body struct {
			TotalCount int            `json:"total_count"`
			Secrets    []githubSecret `json:"secrets"`
		}
		q := url.Values{"per_page": {strconv.Itoa(listPageSize)}, "page": {strconv.Itoa(page)}}
		h, err := g.c.do(ctx, http.MethodGet, g.prefix+"/secrets", q, nil, &body, true)
		if err != nil {
			return nil, err
		}
		total = body.TotalCount
		for _, s := range body.Secrets {
			out = append(out, Remote{Name: s.Name, Updated: s.UpdatedAt})
		}
		if len(body.Secrets) == 0 || !hasNext(h) && len(out) >= total {
			break
		}
		if page > 1000 {
			return nil, fmt.Errorf("GitHub: listing %s: more than 1000 pages", g.Location())
		}
	}
	if len(out) < total {
		return nil, fmt.Errorf("GitHub: listing %s gave %d of the %d secrets it counts; nothing was sent", g.Location(), len(out), total)
	}
	g.total = len(out)
	return out, nil
}

// listPageSize is the page size asked of list endpoints (both allow 100).
var listPageSize = 100

// SetPageSize sets the page size lists ask for (tests use small pages).
func SetPageSize(n int) { listPageSize = n }

// hasNext says whether a Link header names a next page.
func hasNext(h http.Header) bool {
	for _, l := range h.Values("Link") {
		for _, part := range strings.Split(l, ",") {
			if strings.Contains(part, `rel="next"`) {
				return true
			}
		}
	}
	return false
}

// publicKey fetches the destination's public key (again when fresh).
func (g *GitHub) publicKey(ctx context.Context, fresh bool) (*githubKey, error) {
	if g.key != nil && !fresh {
		return g.key, nil
	}
	var body struct {
		KeyID string `json:"key_id"`
		Key   string `json:"key"`
	}
	if _, err := g.c.do(ctx, http.MethodGet, g.prefix+"/secrets/public-key", nil, nil, &body, true); err != nil {
		return nil, err
	}
	raw, err := base64.StdEncoding.DecodeString(body.Key)
	if err != nil || len(raw) != 32 || body.KeyID == "" {
		return nil, fmt.Errorf("GitHub: %s/secrets/public-key: not a key id and a base64 X25519 public key", g.prefix)
	}
	k := &githubKey{ID: body.KeyID}
	copy(k.Key[:], raw)
	g.key = k
	return k, nil
}

// Put seals v's value to the destination's public key (libsodium's sealed
// box, as GitHub requires) and writes it. A 422 after the key changed
// (rotated between the key's fetch and the write) fetches the key once
// more and writes again.
func (g *GitHub) Put(ctx context.Context, v Var, _ bool) error {
	for attempt := 0; ; attempt++ {
		k, err := g.publicKey(ctx, attempt > 0)
		if err != nil {
			return err
		}
		sealed, err := box.SealAnonymous(nil, []byte(v.Value.Reveal()), &k.Key, rand.Reader)
		if err != nil {
			return err
		}
		body := map[string]string{"encrypted_value": base64.StdEncoding.EncodeToString(sealed), "key_id": k.ID}
		_, err = g.c.do(ctx, http.MethodPut, g.prefix+"/secrets/"+url.PathEscape(strings.ToUpper(v.Name)), nil, body, nil, true)
		if err == nil || Status(err) != http.StatusUnprocessableEntity || attempt > 0 {
			return err
		}
	}
}

// Delete removes a secret; one already gone is not an error.
func (g *GitHub) Delete(ctx context.Context, name string) error {
	_, err := g.c.do(ctx, http.MethodDelete, g.prefix+"/secrets/"+url.PathEscape(name), nil, nil, nil, false)
	if Status(err) == http.StatusNotFound {
		return nil
	}
	return err
}

// DeniedHint says what to check when GitHub refuses the token.
func (g *GitHub) DeniedHint() string {
	return fmt.Sprintf("check GITHUB_TOKEN (or GH_TOKEN): it needs write access to the Actions secrets of %s/%s (fine-grained: the repository's \"Secrets\" permission, read and write; classic: the repo scope); the GITHUB_TOKEN a workflow gets cannot manage secrets; a repository or environment it cannot see answers 404", g.owner, g.repo)
}
