// Package civarstest holds local fakes of GitHub's Actions secrets API and
// GitLab's CI/CD variables API for tests. They check what the real servers
// check, written from the services' documentation and not from hush's
// client: the token, the API version header, name rules, sizes, GitLab's
// masking rules, pagination; and the GitHub fake holds a real X25519 key
// pair and opens every sealed box it is sent, so a test sees the value
// that arrived, and refuses a key_id that is not its current key (422),
// as GitHub does.
package civarstest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	gosync "sync"
	"time"

	"golang.org/x/crypto/nacl/box"
)

// GitHub is a fake GitHub REST API serving Actions secrets of repositories
// and their environments.
type GitHub struct {
	*httptest.Server
	// Token is the one token accepted for writes; ReadOnlyToken is
	// accepted and then refused (403) on every secrets endpoint.
	Token, ReadOnlyToken string
	// MaxPerPage caps per_page (GitHub's cap is 100): small pages make
	// clients follow Link headers.
	MaxPerPage int

	mu     gosync.Mutex
	repos  map[string]*ghScope // "owner/repo" and "owner/repo:env"
	faults []Fault
	log    []string
	pub    [32]byte
	priv   [32]byte
	keyID  string
	keyGen int
}

// Fault is an answer given instead of the real one to the next request
// whose method matches ("" any).
type Fault struct {
	Method string
	Status int
	// Header is added to the answer (Retry-After, X-RateLimit-Remaining).
	Header map[string]string
	// Skip lets that many matching requests through first.
	Skip int
}

type ghScope struct {
	secrets map[string]ghSecret
}

type ghSecret struct {
	Value   string
	KeyID   string
	Created time.Time
	Updated time.Time
}

var ghName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// NewGitHub starts the fake with the repositories and environments given
// as "owner/repo" and "owner/repo:environment".
func NewGitHub(token string, scopes ...string) *GitHub {
	g := &GitHub{Token: token, MaxPerPage: 100, repos: map[string]*ghScope{}}
	g.RotateKey()
	for _, s := range scopes {
		g.repos[s] = &ghScope{secrets: map[string]ghSecret{}}
		if repo, _, ok := strings.Cut(s, ":"); ok && g.repos[repo] == nil {
			g.repos[repo] = &ghScope{secrets: map[string]ghSecret{}}
		}
	}
	g.Server = httptest.NewServer(http.HandlerFunc(g.serve))
	return g
}

// RotateKey makes a new key pair; the old key_id is refused from now on.
func (g *GitHub) RotateKey() {
	g.mu.Lock()
	defer g.mu.Unlock()
	pub, priv, err := box.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	g.pub, g.priv = *pub, *priv
	g.keyGen++
	g.keyID = fmt.Sprintf("568250167242549%04d", g.keyGen)
}

// KeyID is the current key's id.
func (g *GitHub) KeyID() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.keyID
}

// AddFault queues f.
func (g *GitHub) AddFault(f Fault) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.faults = append(g.faults, f)
}

// Requests is every request so far as "METHOD PATH".
func (g *GitHub) Requests() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.log...)
}

// Secret is what the fake decrypted for scope's secret name (upper case).
func (g *GitHub) Secret(scope, name string) (value string, ok bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	sc := g.repos[scope]
	if sc == nil {
		return "", false
	}
	s, ok := sc.secrets[name]
	return s.Value, ok
}

// Names are scope's secret names, sorted.
func (g *GitHub) Names(scope string) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []string
	for n := range g.repos[scope].secrets {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Seed stores a secret directly, as if set in GitHub's settings.
func (g *GitHub) Seed(scope, name, value string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := time.Now().UTC().Truncate(time.Second) // GitHub gives seconds
	g.repos[scope].secrets[strings.ToUpper(name)] = ghSecret{Value: value, KeyID: g.keyID, Created: now, Updated: now}
}

// Dump is every secret of every scope as "scope NAME=value", sorted.
func (g *GitHub) Dump() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []string
	for sc, s := range g.repos {
		for n, v := range s.secrets {
			out = append(out, fmt.Sprintf("%s %s=%s", sc, n, v.Value))
		}
	}
	sort.Strings(out)
	return out
}

func ghError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"message": msg, "documentation_url": "https://docs.github.com/rest"})
}

func (g *GitHub) serve(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.log = append(g.log, r.Method+" "+r.URL.EscapedPath())
	for i, f := range g.faults {
		if f.Method == "" || f.Method == r.Method {
			if f.Skip > 0 {
				g.faults[i].Skip--
				break
			}
			g.faults = append(g.faults[:i], g.faults[i+1:]...)
			for k, v := range f.Header {
				w.Header().Set(k, v)
			}
			ghError(w, f.Status, "fault injected by the test")
			return
		}
	}
	if v := r.Header.Get("X-GitHub-Api-Version"); v != "" && v != "2022-11-28" {
		ghError(w, http.StatusBadRequest, "Unsupported 'X-GitHub-Api-Version' header")
		return
	}
	auth := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		tok, ok = strings.CutPrefix(auth, "token ")
	}
	switch {
	case !ok || tok != g.Token && (g.ReadOnlyToken == "" || tok != g.ReadOnlyToken):
		ghError(w, http.StatusUnauthorized, "Bad credentials")
		return
	case tok == g.ReadOnlyToken:
		ghError(w, http.StatusForbidden, "Resource not accessible by personal access token")
		return
	}
	// /repos/OWNER/REPO[/environments/ENV]/secrets[/public-key|/NAME]
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if len(parts) < 4 || parts[0] != "repos" {
		ghError(w, http.StatusNotFound, "Not Found")
		return
	}
	scope, rest := parts[1]+"/"+parts[2], parts[3:]
	if rest[0] == "environments" && len(rest) >= 3 {
		scope, rest = scope+":"+rest[1], rest[2:]
	} else if rest[0] == "actions" {
		rest = rest[1:]
	} else {
		ghError(w, http.StatusNotFound, "Not Found")
		return
	}
	sc := g.repos[scope]
	if sc == nil || len(rest) == 0 || rest[0] != "secrets" || len(rest) > 2 {
		ghError(w, http.StatusNotFound, "Not Found")
		return
	}
	switch {
	case len(rest) == 1 && r.Method == http.MethodGet:
		g.list(w, r, sc)
	case len(rest) == 2 && rest[1] == "public-key" && r.Method == http.MethodGet:
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		json.NewEncoder(w).Encode(map[string]string{"key_id": g.keyID, "key": base64.StdEncoding.EncodeToString(g.pub[:])})
	case len(rest) == 2 && r.Method == http.MethodPut:
		g.put(w, r, sc, scope, rest[1])
	case len(rest) == 2 && r.Method == http.MethodDelete:
		name := strings.ToUpper(rest[1])
		if _, ok := sc.secrets[name]; !ok {
			ghError(w, http.StatusNotFound, "Not Found")
			return
		}
		delete(sc.secrets, name)
		w.WriteHeader(http.StatusNoContent)
	case len(rest) == 2 && r.Method == http.MethodGet:
		s, ok := sc.secrets[strings.ToUpper(rest[1])]
		if !ok {
			ghError(w, http.StatusNotFound, "Not Found")
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"name": strings.ToUpper(rest[1]), "created_at": s.Created, "updated_at": s.Updated})
	default:
		ghError(w, http.StatusNotFound, "Not Found")
	}
}

func (g *GitHub) list(w http.ResponseWriter, r *http.Request, sc *ghScope) {
	per, page := 30, 1
	if v := r.URL.Query().Get("per_page"); v != "" {
		per, _ = strconv.Atoi(v)
	}
	if v := r.URL.Query().Get("page"); v != "" {
		page, _ = strconv.Atoi(v)
	}
	if per <= 0 || per > 100 {
		per = 100
	}
	if per > g.MaxPerPage {
		per = g.MaxPerPage
	}
	if page < 1 {
		page = 1
	}
	var names []string
	for n := range sc.secrets {
		names = append(names, n)
	}
	sort.Strings(names)
	type item struct {
		Name      string    `json:"name"`
		CreatedAt time.Time `json:"created_at"`
		UpdatedAt time.Time `json:"updated_at"`
	}
	items := []item{}
	for i := (page - 1) * per; i < len(names) && i < page*per; i++ {
		s := sc.secrets[names[i]]
		items = append(items, item{names[i], s.Created, s.Updated})
	}
	if page*per < len(names) {
		u := *r.URL
		q := u.Query()
		q.Set("page", strconv.Itoa(page+1))
		q.Set("per_page", strconv.Itoa(per))
		u.RawQuery = q.Encode()
		w.Header().Set("Link", fmt.Sprintf(`<http://%s%s>; rel="next"`, r.Host, u.RequestURI()))
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(map[string]any{"total_count": len(names), "secrets": items})
}

func (g *GitHub) put(w http.ResponseWriter, r *http.Request, sc *ghScope, scope, name string) {
	var body struct {
		EncryptedValue *string `json:"encrypted_value"`
		KeyID          *string `json:"key_id"`
	}
	data, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err := json.Unmarshal(data, &body); err != nil {
		ghError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	up := strings.ToUpper(name)
	switch {
	case !ghName.MatchString(name):
		ghError(w, http.StatusUnprocessableEntity, "Secret names can only contain alphanumeric characters ([a-z], [A-Z], [0-9]) or underscores (_). Spaces are not allowed. Must start with a letter ([a-z], [A-Z]) or underscores (_).")
		return
	case strings.HasPrefix(up, "GITHUB_"):
		ghError(w, http.StatusUnprocessableEntity, "Secret names must not start with GITHUB_.")
		return
	case body.EncryptedValue == nil || body.KeyID == nil:
		ghError(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"encrypted_value\" and \"key_id\" are required.")
		return
	case *body.KeyID != g.keyID:
		ghError(w, http.StatusUnprocessableEntity, "Bad request - key_id does not match the current public key")
		return
	}
	sealed, err := base64.StdEncoding.DecodeString(*body.EncryptedValue)
	if err != nil {
		ghError(w, http.StatusUnprocessableEntity, "encrypted_value is not valid base64")
		return
	}
	plain, ok := box.OpenAnonymous(nil, sealed, &g.pub, &g.priv)
	if !ok {
		ghError(w, http.StatusUnprocessableEntity, "encrypted_value could not be decrypted with the key of key_id")
		return
	}
	if len(plain) > 48*1024 {
		ghError(w, http.StatusUnprocessableEntity, "Secret value is too large (maximum 48 KB)")
		return
	}
	old, exists := sc.secrets[up]
	if !exists && len(sc.secrets) >= 100 {
		ghError(w, http.StatusUnprocessableEntity, "Secret limit reached (100)")
		return
	}
	now := time.Now().UTC().Truncate(time.Second) // GitHub gives seconds
	s := ghSecret{Value: string(plain), KeyID: *body.KeyID, Created: now, Updated: now}
	if exists {
		s.Created = old.Created
	}
	sc.secrets[up] = s
	_ = scope
	if exists {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.WriteHeader(http.StatusCreated)
	w.Write([]byte("{}"))
}

// SetPageSize sets MaxPerPage while the server runs.
func (g *GitHub) SetPageSize(n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.MaxPerPage = n
}

// SetReadOnlyToken sets ReadOnlyToken while the server runs.
func (g *GitHub) SetReadOnlyToken(t string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ReadOnlyToken = t
}
