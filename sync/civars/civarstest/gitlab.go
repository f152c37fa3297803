package civarstest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	gosync "sync"
	"unicode/utf8"
)

// GitLab is a fake GitLab REST API (v4) serving projects' CI/CD variables.
// Its rules are GitLab's own: Ci::HasVariable (key /\A[a-zA-Z0-9_]+\z/, at
// most 255) and Ci::Maskable (masked and raw: /\A\S{8,}\z/; masked and
// expanded: /\A[a-zA-Z0-9_+=\/@:.~-]{8,}\z/), keys unique per environment
// scope, a PUT or DELETE of a key held in several scopes refused (409)
// without filter[environment_scope].
type GitLab struct {
	*httptest.Server
	Token string
	// MaxPerPage caps per_page (GitLab's cap is 100).
	MaxPerPage int

	mu       gosync.Mutex
	projects map[string]*glProject // by id
	paths    map[string]string     // full path -> id
	faults   []Fault
	log      []string
}

type glProject struct {
	vars []GitLabVar
}

// GitLabVar is a variable as the fake holds it.
type GitLabVar struct {
	Key              string `json:"key"`
	Value            string `json:"value"`
	VariableType     string `json:"variable_type"`
	Protected        bool   `json:"protected"`
	Masked           bool   `json:"masked"`
	Raw              bool   `json:"raw"`
	EnvironmentScope string `json:"environment_scope"`
	Description      any    `json:"description"`
}

var (
	glKey      = regexp.MustCompile(`^[a-zA-Z0-9_]+$`)
	glMaskRaw  = regexp.MustCompile(`^[^ \t\n\v\f\r]{8,}$`) // Ruby's \S, which (unlike Go's) counts \v as space
	glMaskable = regexp.MustCompile(`^[a-zA-Z0-9_+=/@:.~-]{8,}$`)
)

// NewGitLab starts the fake with projects given as "ID=group/path".
func NewGitLab(token string, projects ...string) *GitLab {
	g := &GitLab{Token: token, MaxPerPage: 100, projects: map[string]*glProject{}, paths: map[string]string{}}
	for _, p := range projects {
		id, path, _ := strings.Cut(p, "=")
		g.projects[id] = &glProject{}
		if path != "" {
			g.paths[path] = id
		}
	}
	g.Server = httptest.NewServer(http.HandlerFunc(g.serve))
	return g
}

// AddFault queues f.
func (g *GitLab) AddFault(f Fault) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.faults = append(g.faults, f)
}

// Requests is every request so far as "METHOD PATH".
func (g *GitLab) Requests() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.log...)
}

// Vars are project id's variables, sorted by key and scope.
func (g *GitLab) Vars(id string) []GitLabVar {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := append([]GitLabVar(nil), g.projects[id].vars...)
	sort.Slice(out, func(i, j int) bool {
		return out[i].Key < out[j].Key || out[i].Key == out[j].Key && out[i].EnvironmentScope < out[j].EnvironmentScope
	})
	return out
}

// Seed stores a variable directly, as if set in GitLab's settings.
func (g *GitLab) Seed(id string, v GitLabVar) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if v.VariableType == "" {
		v.VariableType = "env_var"
	}
	if v.EnvironmentScope == "" {
		v.EnvironmentScope = "*"
	}
	p := g.projects[id]
	for i := range p.vars {
		if p.vars[i].Key == v.Key && p.vars[i].EnvironmentScope == v.EnvironmentScope {
			p.vars[i] = v
			return
		}
	}
	p.vars = append(p.vars, v)
}

// Dump is every variable as "ID KEY scope=S type=T masked=M protected=P raw=R value=V".
func (g *GitLab) Dump() []string {
	var out []string
	g.mu.Lock()
	ids := make([]string, 0, len(g.projects))
	for id := range g.projects {
		ids = append(ids, id)
	}
	g.mu.Unlock()
	sort.Strings(ids)
	for _, id := range ids {
		for _, v := range g.Vars(id) {
			out = append(out, fmt.Sprintf("%s %s scope=%s type=%s masked=%t protected=%t raw=%t value=%q", id, v.Key, v.EnvironmentScope, v.VariableType, v.Masked, v.Protected, v.Raw, v.Value))
		}
	}
	return out
}

func glError(w http.ResponseWriter, status int, msg any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"message": msg})
}

func (g *GitLab) serve(w http.ResponseWriter, r *http.Request) {
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
			glError(w, f.Status, "fault injected by the test")
			return
		}
	}
	tok := r.Header.Get("PRIVATE-TOKEN")
	if b, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && tok == "" {
		tok = b
	}
	if tok == "" || tok != g.Token {
		glError(w, http.StatusUnauthorized, "401 Unauthorized")
		return
	}
	// /api/v4/projects/:id/variables[/:key]; :id is a number or an
	// URL-encoded path (group%2Fproject), so the escaped path is split.
	parts := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	if len(parts) < 5 || parts[0] != "api" || parts[1] != "v4" || parts[2] != "projects" || parts[4] != "variables" || len(parts) > 6 {
		glError(w, http.StatusNotFound, "404 Not Found")
		return
	}
	ref, err := url.PathUnescape(parts[3])
	if err != nil {
		glError(w, http.StatusNotFound, "404 Project Not Found")
		return
	}
	if id, ok := g.paths[ref]; ok {
		ref = id
	}
	p := g.projects[ref]
	if p == nil {
		glError(w, http.StatusNotFound, "404 Project Not Found")
		return
	}
	key := ""
	if len(parts) == 6 {
		key, _ = url.PathUnescape(parts[5])
	}
	switch {
	case key == "" && r.Method == http.MethodGet:
		g.list(w, r, p)
	case key == "" && r.Method == http.MethodPost:
		g.create(w, r, p)
	case key != "" && (r.Method == http.MethodPut || r.Method == http.MethodDelete || r.Method == http.MethodGet):
		g.one(w, r, p, key)
	default:
		glError(w, http.StatusMethodNotAllowed, "405 Method Not Allowed")
	}
}

func (g *GitLab) list(w http.ResponseWriter, r *http.Request, p *glProject) {
	per, page := 20, 1
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
	items := []GitLabVar{}
	for i := (page - 1) * per; i < len(p.vars) && i < page*per; i++ {
		items = append(items, p.vars[i])
	}
	pages := (len(p.vars) + per - 1) / per
	w.Header().Set("X-Page", strconv.Itoa(page))
	w.Header().Set("X-Per-Page", strconv.Itoa(per))
	w.Header().Set("X-Total", strconv.Itoa(len(p.vars)))
	w.Header().Set("X-Total-Pages", strconv.Itoa(pages))
	if page < pages {
		w.Header().Set("X-Next-Page", strconv.Itoa(page+1))
	} else {
		w.Header().Set("X-Next-Page", "")
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(items)
}

// input is a POST or PUT body, fields absent left nil.
type input struct {
	Key              *string `json:"key"`
	Value            *string `json:"value"`
	VariableType     *string `json:"variable_type"`
	Protected        *bool   `json:"protected"`
	Masked           *bool   `json:"masked"`
	Raw              *bool   `json:"raw"`
	EnvironmentScope *string `json:"environment_scope"`
}

func readInput(r *http.Request) (input, error) {
	var in input
	data, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		return in, json.Unmarshal(data, &in)
	}
	// GitLab also takes form bodies; the fake reads them as the API does.
	q, err := url.ParseQuery(string(data))
	if err != nil {
		return in, err
	}
	str := func(k string) *string {
		if v, ok := q[k]; ok {
			return &v[0]
		}
		return nil
	}
	boolean := func(k string) *bool {
		if v, ok := q[k]; ok {
			b := v[0] == "true"
			return &b
		}
		return nil
	}
	return input{Key: str("key"), Value: str("value"), VariableType: str("variable_type"), Protected: boolean("protected"),
		Masked: boolean("masked"), Raw: boolean("raw"), EnvironmentScope: str("environment_scope")}, nil
}

// validate is GitLab's model validation of v: a map of field to errors.
func validate(v GitLabVar) map[string][]string {
	errs := map[string][]string{}
	switch {
	case v.Key == "":
		errs["key"] = append(errs["key"], "can't be blank")
	case len(v.Key) > 255:
		errs["key"] = append(errs["key"], "is too long (maximum is 255 characters)")
	case !glKey.MatchString(v.Key):
		errs["key"] = append(errs["key"], "can contain only letters, digits and '_'.")
	}
	if v.VariableType != "env_var" && v.VariableType != "file" {
		errs["variable_type"] = append(errs["variable_type"], "is not included in the list")
	}
	if v.Masked {
		ok := glMaskable.MatchString(v.Value)
		if v.Raw {
			ok = glMaskRaw.MatchString(v.Value)
		}
		if !ok || !utf8.ValidString(v.Value) {
			errs["value"] = append(errs["value"], "is invalid")
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

func apply(v *GitLabVar, in input) {
	if in.Key != nil {
		v.Key = strings.TrimSpace(*in.Key)
	}
	if in.Value != nil {
		v.Value = *in.Value
	}
	if in.VariableType != nil {
		v.VariableType = *in.VariableType
	}
	if in.Protected != nil {
		v.Protected = *in.Protected
	}
	if in.Masked != nil {
		v.Masked = *in.Masked
	}
	if in.Raw != nil {
		v.Raw = *in.Raw
	}
	if in.EnvironmentScope != nil {
		v.EnvironmentScope = *in.EnvironmentScope
	}
}

func (g *GitLab) create(w http.ResponseWriter, r *http.Request, p *glProject) {
	in, err := readInput(r)
	if err != nil {
		glError(w, http.StatusBadRequest, "400 Bad request")
		return
	}
	if in.Key == nil || in.Value == nil {
		glError(w, http.StatusBadRequest, "400 Bad request - key, value are missing")
		return
	}
	v := GitLabVar{VariableType: "env_var", EnvironmentScope: "*"}
	apply(&v, in)
	if errs := validate(v); errs != nil {
		glError(w, http.StatusBadRequest, errs)
		return
	}
	for _, o := range p.vars {
		if o.Key == v.Key && o.EnvironmentScope == v.EnvironmentScope {
			glError(w, http.StatusBadRequest, map[string][]string{"key": {"(" + v.Key + ") has already been taken"}})
			return
		}
	}
	p.vars = append(p.vars, v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(v)
}

func (g *GitLab) one(w http.ResponseWriter, r *http.Request, p *glProject, key string) {
	scope, filtered := r.URL.Query()["filter[environment_scope]"]
	var hits []int
	for i, v := range p.vars {
		if v.Key == key && (!filtered || v.EnvironmentScope == scope[0]) {
			hits = append(hits, i)
		}
	}
	switch {
	case len(hits) == 0:
		glError(w, http.StatusNotFound, "404 Variable Not Found")
		return
	case len(hits) > 1:
		glError(w, http.StatusConflict, "There are multiple variables with provided parameters. Please use 'filter[environment_scope]'")
		return
	}
	i := hits[0]
	switch r.Method {
	case http.MethodGet:
		json.NewEncoder(w).Encode(p.vars[i])
	case http.MethodDelete:
		p.vars = append(p.vars[:i], p.vars[i+1:]...)
		w.WriteHeader(http.StatusNoContent)
	case http.MethodPut:
		in, err := readInput(r)
		if err != nil {
			glError(w, http.StatusBadRequest, "400 Bad request")
			return
		}
		v := p.vars[i]
		in.Key = nil // the key is the URL's
		apply(&v, in)
		if errs := validate(v); errs != nil {
			glError(w, http.StatusBadRequest, errs)
			return
		}
		for j, o := range p.vars {
			if j != i && o.Key == v.Key && o.EnvironmentScope == v.EnvironmentScope {
				glError(w, http.StatusBadRequest, map[string][]string{"key": {"(" + v.Key + ") has already been taken"}})
				return
			}
		}
		p.vars[i] = v
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
}

// SetPageSize sets MaxPerPage while the server runs.
func (g *GitLab) SetPageSize(n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.MaxPerPage = n
}
