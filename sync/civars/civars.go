// Package civars publishes a hush environment to a CI service's secret
// variables: GitHub Actions secrets (github.go) and GitLab CI/CD variables
// (gitlab.go), over their REST APIs with net/http alone.
//
// It is one way, hush to CI, and not a sync.Backend: GitHub never gives a
// secret's value back (only its name and when it was updated), so there is
// nothing to pull and no three-way plan to make; and a CI variable is a
// copy of what hush holds, not a second place where a change is made. So
// a push writes every key the environment has (GitHub) or every key whose
// value or settings differ (GitLab, whose values can be read), and deletes
// a variable the environment no longer has only when asked to (Prune).
//
// Every rule the service would refuse a variable by (names, sizes,
// GitLab's masking) is checked by Check before anything is sent, so a push
// is refused whole (a *RuleError) rather than cut off half-way.
package civars

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/hush-secrets/hush/store"
)

// Var is one key of the environment to publish.
type Var struct {
	Name  string
	Value store.Value
	// Updated is when hush last changed the value (zero: unknown), which
	// tells whether a GitHub secret, whose value cannot be read, may be
	// older than it.
	Updated time.Time
}

// Remote is a variable as the service lists it.
type Remote struct {
	Name    string
	Updated time.Time
	// Value and the settings below are known only where the service
	// gives them back (GitLab).
	Value             store.Value
	Masked, Protected bool
	Raw               bool
	Type              string
	EnvironmentScope  string
	// ValueKnown says Value is the value (GitLab gives none of a hidden
	// variable, GitHub of any).
	ValueKnown bool
}

// Target is one place variables are published to.
type Target interface {
	// Service is "github" or "gitlab".
	Service() string
	// Location names the destination for messages and the audit log:
	// the API URL of its variables, never a credential.
	Location() string
	// Readable says whether List returns values.
	Readable() bool
	// Canon is the name the service keys a variable by (GitHub's are
	// case-insensitive and kept upper case).
	Canon(name string) string
	// Check refuses vars the service would refuse, before any request.
	Check(vars []Var) error
	// List returns every variable at the destination, all pages.
	List(ctx context.Context) ([]Remote, error)
	// Put creates or replaces v (exists says whether List saw it).
	Put(ctx context.Context, v Var, exists bool) error
	// Delete removes the variable named name (as List gave it).
	Delete(ctx context.Context, name string) error
}

// ErrRule is a variable the service's rules refuse; a *RuleError wraps it.
var ErrRule = errors.New("refused by the destination's rules")

// RuleError lists every variable a rule refuses, each with why.
type RuleError struct {
	Service  string
	Problems []string
}

func (e *RuleError) Error() string {
	return fmt.Sprintf("%s would refuse %d variable(s), so nothing was sent: %s", e.Service, len(e.Problems), strings.Join(e.Problems, "; "))
}

// Unwrap makes a RuleError an ErrRule.
func (e *RuleError) Unwrap() error { return ErrRule }

// checkValue is what both services need of a value: text an environment
// variable can hold. A value that is not UTF-8 would be changed on the
// way (JSON), and a NUL cannot reach a job's environment at all.
func checkValue(v Var) string {
	s := v.Value.Reveal()
	switch {
	case !utf8.ValidString(s):
		return v.Name + ": the value is not UTF-8 text (a binary value cannot be a CI variable as it is; store it base64-encoded under another key)"
	case strings.IndexByte(s, 0) >= 0:
		return v.Name + ": the value holds a NUL byte, which no environment variable can carry"
	}
	return ""
}

// Kind is what a push would do to one variable.
type Kind string

const (
	Add     Kind = "add"     // only in hush
	Change  Kind = "change"  // in both, the value or settings differ
	Same    Kind = "same"    // in both, the same (readable services)
	Present Kind = "present" // in both, the value cannot be compared
	Stale   Kind = "stale"   // in both, hush changed it after the service's copy was written
	Extra   Kind = "extra"   // only at the destination (deleted by --prune)
)

// Item is one variable in a comparison.
type Item struct {
	// Name is hush's key ("" for an Extra), Remote the service's name
	// ("" for an Add).
	Name, Remote string
	Kind         Kind
	// Why says what differs for a Change ("value", "masked"…).
	Why []string
}

// Diff compares vars with the destination's variables.
type Diff struct {
	Location string
	Readable bool
	Items    []Item
}

// Count is the number of items of each kind.
func (d *Diff) Count(k Kind) int {
	n := 0
	for _, it := range d.Items {
		if it.Kind == k {
			n++
		}
	}
	return n
}

// InStep says a push would change nothing but what cannot be compared.
func (d *Diff) InStep() bool {
	for _, it := range d.Items {
		if it.Kind != Same && it.Kind != Present {
			return false
		}
	}
	return true
}

// wanter is a readable target that also compares a variable's settings
// (GitLab's masked, protected…) with what it would write.
type wanter interface {
	Want(v Var, r Remote) []string
}

// Compare matches vars with remote by the service's names.
func Compare(t Target, vars []Var, remote []Remote) *Diff {
	d := &Diff{Location: t.Location(), Readable: t.Readable()}
	want, _ := t.(wanter)
	byName := map[string]Remote{}
	for _, r := range remote {
		byName[t.Canon(r.Name)] = r
	}
	seen := map[string]bool{}
	for _, v := range vars {
		c := t.Canon(v.Name)
		seen[c] = true
		r, ok := byName[c]
		it := Item{Name: v.Name, Remote: r.Name}
		switch {
		case !ok:
			it.Kind = Add
		case !r.ValueKnown:
			it.Kind = Present
			if !v.Updated.IsZero() && !r.Updated.IsZero() && v.Updated.After(r.Updated) {
				it.Kind = Stale
			}
		default:
			if r.Value != v.Value {
				it.Why = append(it.Why, "value")
			}
			if want != nil {
				it.Why = append(it.Why, want.Want(v, r)...)
			}
			it.Kind = Same
			if len(it.Why) > 0 {
				it.Kind = Change
			}
		}
		d.Items = append(d.Items, it)
	}
	for _, r := range remote {
		if !seen[t.Canon(r.Name)] {
			d.Items = append(d.Items, Item{Remote: r.Name, Kind: Extra})
		}
	}
	sort.SliceStable(d.Items, func(i, j int) bool { return itemKey(d.Items[i]) < itemKey(d.Items[j]) })
	return d
}

func itemKey(it Item) string {
	if it.Name != "" {
		return it.Name
	}
	return it.Remote
}

// PushOptions say what a push may do beyond writing.
type PushOptions struct {
	// Prune deletes the destination's variables hush does not have.
	Prune bool
	// DryRun lists and compares, and writes nothing.
	DryRun bool
	// Written is called after each write or deletion (deleted true) with
	// its error (nil: confirmed); an error it returns (the audit line
	// could not be written) stops the push.
	Written func(it Item, deleted bool, err error) error
}

// Result is what a push did.
type Result struct {
	*Diff
	// Set and Deleted name what was written and deleted (hush's names for
	// Set, the service's for Deleted); Unchanged what was left as it was.
	Set, Deleted, Unchanged []string
	DryRun                  bool
}

// Push publishes vars to t: checked first, then listed, then written.
func Push(ctx context.Context, t Target, vars []Var, o PushOptions) (*Result, error) {
	if err := t.Check(vars); err != nil {
		return nil, err
	}
	remote, err := t.List(ctx)
	if err != nil {
		return nil, err
	}
	d := Compare(t, vars, remote)
	if o.Prune && len(vars) == 0 && d.Count(Extra) > 0 {
		return nil, fmt.Errorf("%w: the environment is empty: --prune would delete every variable at %s; add a key first, or delete them there", ErrRule, t.Location())
	}
	// Writes go before deletions, so a push cut off part-way has removed
	// nothing yet; unless the service's limit on the number of variables
	// needs the deletions to make room first.
	deleteFirst := false
	if lc, ok := t.(interface{ checkCount(*Diff, bool) error }); ok {
		if err := lc.checkCount(d, o.Prune); err != nil {
			return nil, err
		}
		deleteFirst = o.Prune && lc.checkCount(d, false) != nil
	}
	items := slices.Clone(d.Items)
	slices.SortStableFunc(items, func(a, b Item) int {
		x, y := boolInt(a.Kind == Extra), boolInt(b.Kind == Extra)
		if deleteFirst {
			return y - x
		}
		return x - y
	})
	res := &Result{Diff: d, DryRun: o.DryRun}
	byName := map[string]Var{}
	for _, v := range vars {
		byName[v.Name] = v
	}
	for _, it := range items {
		var err error
		switch {
		case it.Kind == Same:
			res.Unchanged = append(res.Unchanged, it.Name)
			continue
		case it.Kind == Extra && !o.Prune:
			continue
		case o.DryRun:
			if it.Kind == Extra {
				res.Deleted = append(res.Deleted, it.Remote)
			} else {
				res.Set = append(res.Set, it.Name)
			}
			continue
		case it.Kind == Extra:
			if err = t.Delete(ctx, it.Remote); err == nil {
				res.Deleted = append(res.Deleted, it.Remote)
			}
		default:
			if err = t.Put(ctx, byName[it.Name], it.Kind != Add); err == nil {
				res.Set = append(res.Set, it.Name)
			}
		}
		if o.Written != nil {
			if werr := o.Written(it, it.Kind == Extra, err); werr != nil {
				return res, werr
			}
		}
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// Config is the ci: section of .hush/hush.yaml: where each service's
// variables of this project go. It is pinned (store/settings.go): a
// change that arrived with a pull is refused until acknowledged, since it
// decides where values and tokens are sent.
type Config struct {
	GitHub GitHubConfig `yaml:"github"`
	GitLab GitLabConfig `yaml:"gitlab"`
}

// GitHubConfig is ci.github.
type GitHubConfig struct {
	Repo        string `yaml:"repo"`
	Environment string `yaml:"environment"`
	APIURL      string `yaml:"api_url"`
}

// GitLabConfig is ci.gitlab.
type GitLabConfig struct {
	Project   string   `yaml:"project"`
	Scope     string   `yaml:"scope"`
	Protected bool     `yaml:"protected"`
	APIURL    string   `yaml:"api_url"`
	Files     []string `yaml:"files"`
	Unmasked  []string `yaml:"unmasked"`
}

// ParseConfig reads the ci: section (nil: none).
func ParseConfig(section any) (Config, error) {
	var c Config
	if section == nil {
		return c, nil
	}
	b, err := yaml.Marshal(section)
	if err != nil {
		return c, fmt.Errorf("%w: .hush/hush.yaml: ci: %v", store.ErrIntegrity, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("%w: .hush/hush.yaml: ci: %v", store.ErrIntegrity, err)
	}
	return c, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
