package gcpsm

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/hush-secrets/hush/store"
)

// The layout: one secret per key, with versions, in the configured GCP
// project. A key's secret id is
//
//	PREFIX-ENV-KEY
//
// PREFIX is the configured prefix (default "hush"), letters and digits
// only; ENV is a hush environment name ([a-z0-9][a-z0-9_-]*, at most 64);
// KEY is a hush key name ([A-Za-z_][A-Za-z0-9_]*, at most 128). All three
// are inside Secret Manager's id charset [A-Za-z0-9_-] as they are, so no
// escaping is needed and the id reads as what it is in the console. The
// mapping is collision-free: PREFIX holds no '-' and KEY holds no '-', so
// the first '-' ends PREFIX and the last '-' starts KEY, and ENV is what
// lies between — one id, one (prefix, env, key). The longest id is
// 32+1+64+1+128 = 226 characters, under the limit of 255. A key outside
// hush's grammar cannot reach the backend (the store refuses it) and is
// refused here too rather than mapped.
//
// Two hush projects in one GCP project must use different prefixes; if
// they do not, the labels tell their secrets apart on a pull, and a push
// refuses to write into a secret labelled for another project.
const (
	defaultPrefix = "hush"
	maxPrefix     = 32

	labelProject = "hush_project"
	labelEnv     = "hush_env"
	labelManaged = "managed_by"

	annotProject = "hush-project"
	annotEnv     = "hush-env"
	annotKey     = "hush-key"
)

func validPrefix(p string) error {
	if p == "" || len(p) > maxPrefix {
		return fmt.Errorf("%w gcpsm prefix %q: use 1 to %d letters and digits", store.ErrInvalid, p, maxPrefix)
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return fmt.Errorf("%w gcpsm prefix %q: use 1 to %d letters and digits (a '-' or '_' would make secret ids ambiguous)", store.ErrInvalid, p, maxPrefix)
		}
	}
	return nil
}

// secretID is key's secret id in env.
func (b *Backend) secretID(env, key string) string { return b.prefix + "-" + env + "-" + key }

// keyOf returns the key a secret id names in env, or false when the id is
// not one of env's (another prefix, another environment, another tool's).
func (b *Backend) keyOf(env, id string) (string, bool) {
	key, ok := strings.CutPrefix(id, b.prefix+"-"+env+"-")
	if !ok || store.ValidKeyName(key) != nil {
		return "", false
	}
	return key, true
}

func (b *Backend) secretName(env, key string) string {
	return "projects/" + b.project + "/secrets/" + b.secretID(env, key)
}

// labelValue maps s into a label value (lower-case letters, digits, '_'
// and '-', at most 63 characters). A name already inside that is kept as
// it is; any other (upper case, '.', too long) becomes a readable
// lower-cased stem plus 12 hex digits of its SHA-256, so two names differ
// in their labels unless their hashes collide. Labels only narrow the
// listing: which key a secret holds is decided by its id.
func labelValue(s string) string {
	ok := len(s) <= 63
	for i := 0; ok && i < len(s); i++ {
		c := s[i]
		ok = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-'
	}
	if ok {
		return s
	}
	var stem []byte
	for i := 0; i < len(s) && len(stem) < 40; i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			stem = append(stem, c+'a'-'A')
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-':
			stem = append(stem, c)
		default:
			stem = append(stem, '_')
		}
	}
	sum := sha256.Sum256([]byte(s))
	return string(stem) + "-" + hex.EncodeToString(sum[:6])
}

func (b *Backend) labels(env string) map[string]string {
	return map[string]string{labelProject: labelValue(b.hushProject), labelEnv: labelValue(env), labelManaged: "hush"}
}

// ours reports whether a secret's labels say it belongs to env of this
// project.
func (b *Backend) ours(env string, labels map[string]string) bool {
	want := b.labels(env)
	return labels[labelProject] == want[labelProject] && labels[labelEnv] == want[labelEnv]
}

func (b *Backend) filter(env string) string {
	l := b.labels(env)
	return labelsFilter(l[labelProject], l[labelEnv])
}

// labelsFilter is the list filter for both labels, values quoted so that
// a '-' in them is not read as an operator of the filter grammar.
func labelsFilter(project, env string) string {
	return "labels." + labelProject + `="` + project + `" AND labels.` + labelEnv + `="` + env + `"`
}
