package civars_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/sync"
	"github.com/hush-secrets/hush/sync/civars"
	"github.com/hush-secrets/hush/sync/civars/civarstest"
)

func vars(kv ...string) []civars.Var {
	var out []civars.Var
	for i := 0; i < len(kv); i += 2 {
		out = append(out, civars.Var{Name: kv[i], Value: store.Value(kv[i+1])})
	}
	return out
}

func github(t *testing.T, f *civarstest.GitHub, env string) *civars.GitHub {
	t.Helper()
	g, err := civars.NewGitHub(civars.GitHubOptions{API: f.URL, Repo: "acme/app", Environment: env, Token: "gh-token", UserAgent: "hush/test"})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestGitHubPushArrivesDecrypted(t *testing.T) {
	f := civarstest.NewGitHub("gh-token", "acme/app", "acme/app:production")
	defer f.Close()
	f.SetPageSize(2)
	for i := 0; i < 5; i++ {
		f.Seed("acme/app", "OLD_"+strconv.Itoa(i), "x")
	}
	g := github(t, f, "")
	multi := "line one\nline two $HOME `x` \"q\" é\r\n"
	res, err := civars.Push(context.Background(), g, vars("db_password", multi, "API_KEY", "k-123"), civars.PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := f.Secret("acme/app", "DB_PASSWORD"); v != multi {
		t.Fatalf("DB_PASSWORD arrived as %q", v)
	}
	if v, _ := f.Secret("acme/app", "API_KEY"); v != "k-123" {
		t.Fatalf("API_KEY arrived as %q", v)
	}
	if got := res.Count(civars.Extra); got != 5 {
		t.Fatalf("extras over pages of 2: %d, want 5", got)
	}
	if len(f.Names("acme/app")) != 7 {
		t.Fatalf("without --prune nothing is deleted: %v", f.Names("acme/app"))
	}
	// Environment secrets go to the environment only.
	if _, err := civars.Push(context.Background(), github(t, f, "production"), vars("DEPLOY", "d"), civars.PushOptions{}); err != nil {
		t.Fatal(err)
	}
	if v, _ := f.Secret("acme/app:production", "DEPLOY"); v != "d" {
		t.Fatalf("environment secret: %q", v)
	}
	if _, ok := f.Secret("acme/app", "DEPLOY"); ok {
		t.Fatal("an environment secret landed in the repository's")
	}
	// Prune deletes the others, matched regardless of case.
	res, err = civars.Push(context.Background(), g, vars("db_password", multi, "API_KEY", "k-123"), civars.PushOptions{Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Names("acme/app"); !slices.Equal(got, []string{"API_KEY", "DB_PASSWORD"}) {
		t.Fatalf("after prune: %v", got)
	}
	if len(res.Deleted) != 5 {
		t.Fatalf("deleted %v", res.Deleted)
	}
}

func TestGitHubRulesSendNothing(t *testing.T) {
	f := civarstest.NewGitHub("gh-token", "acme/app")
	defer f.Close()
	g := github(t, f, "")
	cases := map[string][]civars.Var{
		"GITHUB_":                 vars("GITHUB_TOKEN_X", "v"),
		"ignore case":             vars("api_key", "a", "API_KEY", "b"),
		"does not start with a d": vars("1ABC", "v"),
		"letters, digits and _":   vars("A-B", "v"),
		"at most 48 KB":           vars("BIG", strings.Repeat("x", 48*1024+1)),
		"not UTF-8":               vars("BIN", "\xff\xfe"),
		"NUL":                     vars("NUL", "a\x00b"),
	}
	for want, vs := range cases {
		_, err := civars.Push(context.Background(), g, append(vars("GOOD", "v"), vs...), civars.PushOptions{})
		var re *civars.RuleError
		if !errors.As(err, &re) || !strings.Contains(err.Error(), want) || !errors.Is(err, civars.ErrRule) {
			t.Errorf("%s: %v", want, err)
		}
	}
	if r := f.Requests(); len(r) != 0 {
		t.Fatalf("a refused push sent %v", r)
	}
	// Exactly 48 KB is allowed.
	if _, err := civars.Push(context.Background(), g, vars("BIG", strings.Repeat("x", 48*1024)), civars.PushOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestGitHubSecretLimit(t *testing.T) {
	f := civarstest.NewGitHub("gh-token", "acme/app")
	defer f.Close()
	for i := 0; i < 99; i++ {
		f.Seed("acme/app", "S"+strconv.Itoa(i), "x")
	}
	_, err := civars.Push(context.Background(), github(t, f, ""), vars("NEW1", "a", "NEW2", "b"), civars.PushOptions{})
	if !errors.Is(err, civars.ErrRule) || !strings.Contains(err.Error(), "101 secrets") {
		t.Fatal(err)
	}
	for _, r := range f.Requests() {
		if strings.HasPrefix(r, "PUT") {
			t.Fatalf("sent %s over the limit", r)
		}
	}
	// With --prune the old ones make room.
	if _, err := civars.Push(context.Background(), github(t, f, ""), vars("NEW1", "a", "NEW2", "b"), civars.PushOptions{Prune: true}); err != nil {
		t.Fatal(err)
	}
}

func TestGitHubStaleKeyID(t *testing.T) {
	f := civarstest.NewGitHub("gh-token", "acme/app")
	defer f.Close()
	g := github(t, f, "")
	if _, err := civars.Push(context.Background(), g, vars("A", "1"), civars.PushOptions{}); err != nil {
		t.Fatal(err)
	}
	// The key rotates between two pushes of one target: the cached key_id
	// is refused (422), the key fetched again, the value sealed to it.
	f.RotateKey()
	if _, err := civars.Push(context.Background(), g, vars("A", "2"), civars.PushOptions{}); err != nil {
		t.Fatal(err)
	}
	if v, _ := f.Secret("acme/app", "A"); v != "2" {
		t.Fatalf("A = %q", v)
	}
	n := 0
	for _, r := range f.Requests() {
		if strings.HasSuffix(r, "/public-key") {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("public key fetched %d times, want 2: %v", n, f.Requests())
	}
	// The fake refuses a stale key_id by itself.
	req, _ := http.NewRequest(http.MethodPut, f.URL+"/repos/acme/app/actions/secrets/B", strings.NewReader(`{"encrypted_value":"AAAA","key_id":"stale"}`))
	req.Header.Set("Authorization", "Bearer gh-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 422 {
		t.Fatalf("stale key_id: %d", resp.StatusCode)
	}
}

func TestGitHubRetriesAndDenials(t *testing.T) {
	f := civarstest.NewGitHub("gh-token", "acme/app")
	defer f.Close()
	f.AddFault(civarstest.Fault{Status: 502})
	f.AddFault(civarstest.Fault{Status: 429, Header: map[string]string{"Retry-After": "0"}})
	f.AddFault(civarstest.Fault{Method: "PUT", Status: 403, Header: map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": strconv.FormatInt(time.Now().Unix(), 10)}})
	if _, err := civars.Push(context.Background(), github(t, f, ""), vars("A", "1"), civars.PushOptions{}); err != nil {
		t.Fatalf("bounded retries: %v", err)
	}
	for i := 0; i < 5; i++ {
		f.AddFault(civarstest.Fault{Status: 503})
	}
	_, err := civars.Push(context.Background(), github(t, f, ""), vars("A", "1"), civars.PushOptions{})
	if !errors.Is(err, sync.ErrUnavailable) || errors.Is(err, sync.ErrDenied) || !strings.Contains(err.Error(), "after 5 attempts") {
		t.Fatalf("5xx forever: %v", err)
	}
	for _, tok := range []string{"wrong", "ro"} {
		f.SetReadOnlyToken("ro")
		g, _ := civars.NewGitHub(civars.GitHubOptions{API: f.URL, Repo: "acme/app", Token: tok})
		_, err := civars.Push(context.Background(), g, vars("A", "1"), civars.PushOptions{})
		if !errors.Is(err, sync.ErrDenied) || strings.Contains(err.Error(), tok+"\"") {
			t.Fatalf("token %s: %v", tok, err)
		}
	}
	g, _ := civars.NewGitHub(civars.GitHubOptions{API: f.URL, Repo: "acme/other", Token: "gh-token"})
	if _, err := civars.Push(context.Background(), g, vars("A", "1"), civars.PushOptions{}); !errors.Is(err, sync.ErrDenied) {
		t.Fatalf("unknown repository: %v", err)
	}
}

func TestBaseURL(t *testing.T) {
	for _, ok := range []string{"https://api.github.com", "https://ghe.example.com/api/v3/", "http://127.0.0.1:8080", "http://localhost:1/api/v4", "http://[::1]:9"} {
		if _, err := civars.BaseURL(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"http://api.github.com", "ftp://x", "https://u:p@host", "https://host/?q=1", "api.github.com", "http://127.0.0.1.evil.com"} {
		if _, err := civars.BaseURL(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func gitlab(t *testing.T, f *civarstest.GitLab, o civars.GitLabOptions) *civars.GitLab {
	t.Helper()
	o.API, o.Token = f.URL+"/api/v4", "gl-token"
	if o.Project == "" {
		o.Project = "acme/app"
	}
	g, err := civars.NewGitLab(o)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestGitLabPush(t *testing.T) {
	f := civarstest.NewGitLab("gl-token", "42=acme/app")
	defer f.Close()
	f.SetPageSize(2)
	f.Seed("42", civarstest.GitLabVar{Key: "OTHER_SCOPE", Value: "keep-me", EnvironmentScope: "staging"})
	f.Seed("42", civarstest.GitLabVar{Key: "GONE", Value: "old-value-1"})
	f.Seed("42", civarstest.GitLabVar{Key: "SAME", Value: "same-value-1", Masked: true, Raw: true})
	f.Seed("42", civarstest.GitLabVar{Key: "CERT", Value: "old", VariableType: "env_var"})
	g := gitlab(t, f, civars.GitLabOptions{Files: []string{"CERT"}, Unmasked: []string{"PIN", "CERT"}})
	in := vars("DOLLAR", "pa$$word$HOME", "PIN", "1234", "SAME", "same-value-1", "CERT", "-----BEGIN X-----\nabc\n-----END X-----\n")
	res, err := civars.Push(context.Background(), g, in, civars.PushOptions{Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(f.Dump(), "\n")
	for _, want := range []string{
		`42 CERT scope=* type=file masked=false protected=false raw=true value="-----BEGIN X-----\nabc\n-----END X-----\n"`,
		`42 DOLLAR scope=* type=env_var masked=true protected=false raw=true value="pa$$word$HOME"`,
		`42 PIN scope=* type=env_var masked=false protected=false raw=true value="1234"`,
		`42 OTHER_SCOPE scope=staging type=env_var masked=false protected=false raw=false value="keep-me"`,
		`42 SAME scope=* type=env_var masked=true protected=false raw=true value="same-value-1"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %s in\n%s", want, got)
		}
	}
	if strings.Contains(got, "GONE") {
		t.Errorf("GONE not pruned:\n%s", got)
	}
	if !slices.Equal(res.Unchanged, []string{"SAME"}) {
		t.Errorf("unchanged %v", res.Unchanged)
	}
	// Now in step: nothing to write.
	remote, err := g.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d := civars.Compare(g, in, remote); !d.InStep() {
		t.Fatalf("not in step after push: %+v", d.Items)
	}
	// A setting changed at GitLab is a change.
	f.Seed("42", civarstest.GitLabVar{Key: "SAME", Value: "same-value-1", Masked: true, Raw: true, Protected: true})
	remote, _ = g.List(context.Background())
	d := civars.Compare(g, in, remote)
	if d.Count(civars.Change) != 1 {
		t.Fatalf("protected drift not seen: %+v", d.Items)
	}
}

func TestGitLabMaskingRefusedBeforeSending(t *testing.T) {
	f := civarstest.NewGitLab("gl-token", "42=acme/app")
	defer f.Close()
	g := gitlab(t, f, civars.GitLabOptions{})
	for _, v := range []string{"short", "has a space", "two\nlines-long", "tab\tseparated"} {
		_, err := civars.Push(context.Background(), g, vars("K", v), civars.PushOptions{})
		if !errors.Is(err, civars.ErrRule) || !strings.Contains(err.Error(), "cannot mask") {
			t.Errorf("%q: %v", v, err)
		}
	}
	for _, k := range []string{"A-B", strings.Repeat("K", 256), "é"} {
		if _, err := civars.Push(context.Background(), g, vars(k, "long-enough-value"), civars.PushOptions{}); !errors.Is(err, civars.ErrRule) {
			t.Errorf("key %q: %v", k, err)
		}
	}
	if r := f.Requests(); len(r) != 0 {
		t.Fatalf("sent %v", r)
	}
	// The fake, like GitLab, refuses what hush refuses, and takes the rest.
	for i, c := range []struct {
		v    string
		raw  bool
		want bool
	}{{"abcdefgh", false, true}, {"abc$defgh", false, false}, {"abc$defgh", true, true}, {"abcdefg", true, false}, {"abc defgh", true, false}, {"p@ss:w.rd~x", false, true}, {"pässwörter", true, true}, {"abcd\vefgh", true, false}, {"abcd\u00a0efgh", true, true}} {
		if got := civars.Maskable(c.v, c.raw); got != c.want {
			t.Errorf("Maskable(%q, raw %t) = %t", c.v, c.raw, got)
		}
		body, _ := json.Marshal(map[string]any{"key": "M", "value": c.v, "masked": true, "raw": c.raw, "environment_scope": "m" + strconv.Itoa(i)})
		req, _ := http.NewRequest(http.MethodPost, f.URL+"/api/v4/projects/42/variables", bytes.NewReader(body))
		req.Header.Set("PRIVATE-TOKEN", "gl-token")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if (resp.StatusCode == http.StatusCreated) != c.want {
			t.Errorf("the fake answers %d to masked %q (raw %t)", resp.StatusCode, c.v, c.raw)
		}
	}
}

func TestGitLabDenied(t *testing.T) {
	f := civarstest.NewGitLab("gl-token", "42=acme/app")
	defer f.Close()
	g, _ := civars.NewGitLab(civars.GitLabOptions{API: f.URL + "/api/v4", Project: "42", Token: "nope"})
	if _, err := g.List(context.Background()); !errors.Is(err, sync.ErrDenied) || strings.Contains(err.Error(), "nope") {
		t.Fatal(err)
	}
	g, _ = civars.NewGitLab(civars.GitLabOptions{API: f.URL + "/api/v4", Project: "acme/missing", Token: "gl-token"})
	if _, err := g.List(context.Background()); !errors.Is(err, sync.ErrDenied) {
		t.Fatal(err)
	}
	if _, err := civars.NewGitLab(civars.GitLabOptions{Project: "../x", Token: "t"}); err == nil {
		t.Fatal("../x accepted")
	}
}

func TestNoRedirectWithToken(t *testing.T) {
	var got []string
	dest := civarstest.NewGitLab("gl-token", "42")
	defer dest.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.URL.Path)
		http.Redirect(w, r, dest.URL+r.URL.Path, http.StatusFound)
	})
	ts := newServer(mux)
	defer ts.Close()
	g, _ := civars.NewGitLab(civars.GitLabOptions{API: ts.URL + "/api/v4", Project: "42", Token: "gl-token"})
	if _, err := g.List(context.Background()); err == nil || !strings.Contains(err.Error(), "redirect") {
		t.Fatal(err)
	}
	if len(dest.Requests()) != 0 {
		t.Fatalf("the token followed a redirect: %v", dest.Requests())
	}
}
