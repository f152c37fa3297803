package rotate

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/store"
)

// Phase is the next step of a rotation (see the package doc).
type Phase string

// The phases, in order. A journal names the one to run next.
const (
	PhaseCreate Phase = "create"
	PhaseStore  Phase = "store"
	PhasePush   Phase = "push"
	PhaseVerify Phase = "verify"
	PhaseRetire Phase = "retire"
)

// Journal is an unfinished rotation of one key in one environment. The
// fields outside Sealed are what hush status shows without an identity;
// the values (old, proposed, the provider's result) are sealed to the
// identity of the user who started the rotation, so no plaintext value
// reaches the disk (DESIGN.md contract 1).
type Journal struct {
	Version  int    `json:"version"`
	ID       string `json:"id"`
	Env      string `json:"environment"`
	Key      string `json:"key"`
	Provider string `json:"provider"`
	// Settings is the rotation.sources entry (canonical JSON) the
	// rotation began with: a rerun under changed settings is refused, as
	// the new ones may point at another source.
	Settings string    `json:"settings"`
	Phase    Phase     `json:"phase"`
	Started  time.Time `json:"started"`
	Updated  time.Time `json:"updated"`
	// Push is set when the store phase is followed by a Vault push.
	Push bool `json:"push,omitempty"`
	// OldValid copies Result.OldValid once Create returned: false means
	// the old credential already stopped working at the source.
	OldValid bool `json:"old_valid,omitempty"`
	// State copies Result.State (never a secret), for hush status.
	State       map[string]string `json:"state,omitempty"`
	Verified    time.Time         `json:"verified,omitzero"`
	RetireAfter time.Time         `json:"retire_after,omitzero"`
	// LastError is why the last run stopped, if it failed (never a
	// value: errors carry none).
	LastError string `json:"last_error,omitempty"`
	Attempts  int    `json:"attempts"`
	// Identity is the recipient Sealed is encrypted to.
	Identity string `json:"identity"`
	Sealed   string `json:"sealed"`

	sealed sealed
}

// sealed is the part of a journal encrypted to the user.
type sealed struct {
	Old      store.Value `json:"old"`
	Proposed store.Value `json:"proposed"`
	Result   *Result     `json:"result,omitempty"`
}

// Old, Proposed and Result are the sealed fields (after Open or New).
func (j *Journal) Old() store.Value      { return j.sealed.Old }
func (j *Journal) Proposed() store.Value { return j.sealed.Proposed }
func (j *Journal) Result() *Result       { return j.sealed.Result }

// SetResult records Create's result in the journal (sealed) and its
// non-secret parts in the open fields.
func (j *Journal) SetResult(r *Result) {
	j.sealed.Result = r
	j.OldValid = r.OldValid
	j.State = r.State
}

// NewJournal starts the journal of a rotation: a new ID and Proposed.
func NewJournal(env, key string, s Settings, settings string, old store.Value, now time.Time) (*Journal, error) {
	id := make([]byte, 8)
	if _, err := rand.Read(id); err != nil {
		return nil, err
	}
	proposed, err := store.GenerateValue(s.Length, s.Charset)
	if err != nil {
		return nil, err
	}
	return &Journal{Version: 1, ID: hex.EncodeToString(id), Env: env, Key: key, Provider: s.Provider, Settings: settings,
		Phase: PhaseCreate, Started: now.UTC(), Updated: now.UTC(),
		sealed: sealed{Old: old, Proposed: store.Value(proposed)}}, nil
}

// Journals is the directory of a project's rotation journals.
type Journals struct{ Dir string }

// JournalsIn is the journal directory under a project's personal data
// directory (next to member removal's journal).
func JournalsIn(personalDir string) Journals {
	return Journals{Dir: filepath.Join(personalDir, "rotations")}
}

// Path is the journal file of key in env.
func (js Journals) Path(env, key string) string { return js.path(env, key) }

func (js Journals) path(env, key string) string {
	return filepath.Join(js.Dir, env+"."+key+".json")
}

// Lock takes the lock of one key's rotation, so two runs never drive the
// same rotation at once. It blocks until the lock is free.
func (js Journals) Lock(env, key string) (*store.Lock, error) {
	if err := os.MkdirAll(js.Dir, 0o700); err != nil {
		return nil, err
	}
	return store.LockFile(js.path(env, key) + ".lock")
}

// Save writes j atomically, sealing its values to id.
func (js Journals) Save(j *Journal, id *crypt.Identity, now time.Time) error {
	b, err := json.Marshal(j.sealed)
	if err != nil {
		return err
	}
	ct, err := crypt.Encrypt(b, id.Recipient)
	if err != nil {
		return err
	}
	j.Identity, j.Sealed, j.Updated = id.Public, string(ct), now.UTC()
	out, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(js.Dir, 0o700); err != nil {
		return err
	}
	return store.WriteFileAtomic(js.path(j.Env, j.Key), append(out, '\n'))
}

// Remove deletes the journal of a finished rotation.
func (js Journals) Remove(env, key string) error {
	err := os.Remove(js.path(env, key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// Load reads the journal of key in env without opening its sealed part;
// nil, nil when there is none.
func (js Journals) Load(env, key string) (*Journal, error) {
	b, err := store.ReadFileNoFollow(js.path(env, key), 1<<20)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var j Journal
	if err := json.Unmarshal(b, &j); err != nil || j.Env != env || j.Key != key {
		return nil, fmt.Errorf("%w: rotation journal %s is damaged; see it, then remove it once the source and the store agree", store.ErrIntegrity, js.path(env, key))
	}
	return &j, nil
}

// Open decrypts the sealed part of j with id.
func (j *Journal) Open(id *crypt.Identity) error {
	b, err := crypt.Decrypt([]byte(j.Sealed), id)
	if err != nil {
		return fmt.Errorf("rotation journal of %s/%s was started by %s: %w", j.Env, j.Key, j.Identity, err)
	}
	return json.Unmarshal(b, &j.sealed)
}

// List returns every journal (unopened), sorted by environment and key.
// A damaged file is reported as an error after the readable ones.
func (js Journals) List() ([]*Journal, error) {
	ents, err := os.ReadDir(js.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*Journal
	var errs []error
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || !e.Type().IsRegular() {
			continue
		}
		env, key, ok := strings.Cut(name, ".")
		if !ok {
			continue
		}
		j, err := js.Load(env, key)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if j != nil {
			out = append(out, j)
		}
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].Env != out[b].Env {
			return out[a].Env < out[b].Env
		}
		return out[a].Key < out[b].Key
	})
	return out, errors.Join(errs...)
}
