package sync

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/hush-secrets/hush/store"
)

// stateVersion is the format of the state file this hush reads and writes.
const stateVersion = 1

// EnvState is what hush remembers of an environment's last sync: where it
// synced to, the remote version it saw, and a keyed hash of each key's value
// both sides agreed on. It holds no value.
type EnvState struct {
	Location string            `json:"location"`
	Version  int               `json:"remote_version"`
	Synced   time.Time         `json:"synced,omitzero"`
	Hashes   map[string]string `json:"hashes"`
}

type stateFile struct {
	Version      int                  `json:"version"`
	Environments map[string]*EnvState `json:"environments"`
}

// State is the sync state file of one project and backend, in the user's
// personal data directory (never committed: what this user last synced is
// theirs alone).
type State struct {
	Path string
}

// NewState returns the state kept in dir under name (vault-state.json).
func NewState(dir, name string) *State { return &State{Path: filepath.Join(dir, name)} }

func (s *State) read() (*stateFile, error) {
	b, err := store.ReadFileNoFollow(s.Path, 64<<20)
	if errors.Is(err, fs.ErrNotExist) {
		return &stateFile{Version: stateVersion, Environments: map[string]*EnvState{}}, nil
	}
	if err != nil {
		return nil, err
	}
	var f stateFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%w: sync state %s is not valid JSON; remove it to start over (the next sync then treats every difference as a conflict)", store.ErrIntegrity, s.Path)
	}
	if f.Version != stateVersion {
		return nil, fmt.Errorf("%w: sync state %s has format version %d (this hush reads %d)", store.ErrIntegrity, s.Path, f.Version, stateVersion)
	}
	if f.Environments == nil {
		f.Environments = map[string]*EnvState{}
	}
	return &f, nil
}

// Load returns env's state if it was last synced with location, and an
// empty state (never synced) otherwise.
func (s *State) Load(env, location string) (*EnvState, error) {
	f, err := s.read()
	if err != nil {
		return nil, err
	}
	es := f.Environments[env]
	if es == nil || es.Location != location {
		return &EnvState{Location: location, Hashes: map[string]string{}}, nil
	}
	if es.Hashes == nil {
		es.Hashes = map[string]string{}
	}
	return es, nil
}

// Save records env's state. It rewrites the file atomically under a lock
// of its own, so syncs of different environments running at once keep each
// other's entries.
func (s *State) Save(env string, es *EnvState) error {
	dir := filepath.Dir(s.Path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	l, err := store.LockFile(s.Path + ".lock")
	if err != nil {
		return err
	}
	defer l.Unlock()
	f, err := s.read()
	if err != nil {
		return err
	}
	f.Environments[env] = es
	b, err := json.MarshalIndent(f, "", " ")
	if err != nil {
		return err
	}
	return store.WriteFileAtomic(s.Path, append(b, '\n'))
}

// Synced reports whether env has synced before (with any location): a
// rotation then pushes its new value, as the environment's readers in
// Vault expect it there.
func (s *State) Synced(env string) bool {
	f, err := s.read()
	return err == nil && f.Environments[env] != nil && !f.Environments[env].Synced.IsZero()
}
