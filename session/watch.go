package session

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/hush-secrets/hush/store"
)

// This file is hush run --watch's side of the session: which files a run's
// values came from, their state when they were read, and a poller that
// says when they changed (doppler run --watch, infisical run --watch).
// Polling stat needs no dependency and sees every way a file changes:
// written in place, replaced by a rename (what hush and most editors do),
// removed and written again, on any file system, network ones included,
// where inotify is silent.

// fileState is what a poll compares: a file changed when any of these did.
type fileState struct {
	exists  bool
	regular bool
	size    int64
	mtime   time.Time
	sys     string // inode and device where the system has them
}

func statFile(path string) fileState {
	st, err := os.Stat(path)
	if err != nil {
		return fileState{}
	}
	return fileState{exists: true, regular: st.Mode().IsRegular(), size: st.Size(), mtime: st.ModTime(), sys: sysState(st)}
}

// watchList is a run's files and their state when the run read them.
type watchList struct {
	paths  []string
	states map[string]fileState
}

func (w *watchList) add(paths ...string) {
	if w.states == nil {
		w.states = map[string]fileState{}
	}
	for _, p := range paths {
		if _, ok := w.states[p]; ok {
			continue
		}
		st := statFile(p)
		w.paths = append(w.paths, p)
		w.states[p] = st
	}
}

// storePaths are the files of env a run reads: the team store and the
// user's personal one.
func storePaths(p *store.Project, env string) []string {
	paths := []string{p.TeamPath(env), p.PersonalPath(env)}
	// The team stores of the environments env inherits from feed it too;
	// a broken chain is Layered's to report.
	parents, _ := p.Parents(env)
	for _, parent := range parents {
		paths = append(paths, p.TeamPath(parent))
	}
	return paths
}

// Watched are the files the plan's values came from: the stores of its
// environment and of every hush:// reference it resolved, and its
// --env-files that are regular files (a pipe from <(…) cannot change).
func (pl *RunPlan) Watched() []string { return slices.Clone(pl.watch.paths) }

// digest sums what the child gets: its environment (but for the paths of
// its in-memory files, which differ from plan to plan) and the contents of
// its --file files, so a change that leaves them as they were (a store
// re-encrypted to a new member, a value set to what it was) is told from
// one that does not. (A --mount file's content is the injected set, in
// the environment already.)
func (pl *RunPlan) digest() [32]byte {
	h := sha256.New()
	env := make([]string, 0, len(pl.Environ))
	for _, kv := range pl.Environ {
		if name, _, _ := strings.Cut(kv, "="); !pl.pathVars[name] {
			env = append(env, kv)
		}
	}
	slices.Sort(env)
	for _, kv := range env {
		h.Write([]byte(kv + "\x00"))
	}
	h.Write([]byte{0})
	for _, v := range pl.fileValues {
		h.Write([]byte(v + "\x00"))
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}

// Same reports whether other gives the child what pl gives it.
func (pl *RunPlan) Same(other *RunPlan) bool {
	a, b := pl.digest(), other.digest()
	return bytes.Equal(a[:], b[:])
}

// ErrStoreGone is a watched file that existed when the run read it and is
// gone: a run keeps its values rather than restart with none.
var ErrStoreGone = errors.New("was removed")

// Change is what a poll found.
type Change struct {
	// Paths are the files that changed.
	Paths []string
	// Gone are those of Paths that existed and no longer do.
	Gone []string
}

// Watcher polls a plan's files.
type Watcher struct {
	// Interval is the time between polls; Settle is how long the files
	// must stay as they are after a change before it counts, so an
	// editor's write-rename-replace or a run of hush set is one change.
	Interval, Settle time.Duration
	base             watchList
}

// NewWatcher watches pl's files from the state the plan read them in.
func NewWatcher(pl *RunPlan) *Watcher {
	w := &Watcher{Interval: time.Second, Settle: 500 * time.Millisecond, base: watchList{paths: slices.Clone(pl.watch.paths), states: map[string]fileState{}}}
	for k, v := range pl.watch.states {
		w.base.states[k] = v
	}
	return w
}

// Accept makes the files' current state the one later polls compare to:
// a change that could not be used is not tried again until the files
// change once more.
func (w *Watcher) Accept() {
	for _, p := range w.base.paths {
		w.base.states[p] = statFile(p)
	}
}

// Wait polls until the files change and then stay unchanged for Settle,
// and returns what changed; or returns ctx's error when it is done first.
func (w *Watcher) Wait(ctx context.Context) (*Change, error) {
	tick := time.NewTicker(w.Interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
		cur := w.poll()
		if !w.differs(cur) {
			continue
		}
		// Settle: wait until two polls Settle apart agree, for at most
		// ten Settle periods (a file rewritten without a pause still
		// counts, late).
		for i := 0; i < 10; i++ {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(w.Settle):
			}
			next := w.poll()
			same := true
			for _, p := range w.base.paths {
				if next[p] != cur[p] {
					same = false
				}
			}
			cur = next
			if same {
				break
			}
		}
		if !w.differs(cur) {
			continue // changed and changed back
		}
		c := &Change{}
		for _, p := range w.base.paths {
			if cur[p] != w.base.states[p] {
				c.Paths = append(c.Paths, p)
				if w.base.states[p].exists && !cur[p].exists {
					c.Gone = append(c.Gone, p)
				}
			}
		}
		return c, nil
	}
}

func (w *Watcher) poll() map[string]fileState {
	cur := make(map[string]fileState, len(w.base.paths))
	for _, p := range w.base.paths {
		cur[p] = statFile(p)
	}
	return cur
}

func (w *Watcher) differs(cur map[string]fileState) bool {
	for _, p := range w.base.paths {
		if cur[p] != w.base.states[p] {
			return true
		}
	}
	return false
}

// addEnvFiles adds the regular files among an --env-file list.
func (w *watchList) addEnvFiles(files []string) {
	for _, f := range files {
		if st, err := os.Stat(f); err == nil && st.Mode().IsRegular() {
			w.add(f)
		}
	}
}
