package store

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// The checkout registry. A project's personal data (personal stores, pins,
// sync state) is keyed by hush's project id, and which id a checkout is
// is decided by the user's machine, not by the repository: the first time
// hush meets a checkout (its real root path) it records the id hush.yaml
// declared then. A later commit that changes the id or the name therefore
// resets no trust; it shows up as a pinned-setting change.
//
// A second checkout (another path) of a known id starts from a copy of
// that id's pins, so what was pinned stays pinned, but it gets a personal
// directory of its own: a personal store holds values `hush run` injects
// into the checkout's programs, and a repository can copy any id it likes,
// so sharing them waits for the user's `hush link`.

// registryName is the registry file in the data dir.
const registryName = "checkouts.json"

type registry struct {
	Version   int                  `json:"version"`
	Checkouts map[string]*checkout `json:"checkouts"`
}

type checkout struct {
	// ID keys the checkout's data under projects/. For a project whose
	// hush.yaml had no id when first used, it is an id made here.
	ID string `json:"id"`
	// Linked says the checkout uses the id's personal directory (the
	// first checkout of an id is; others after hush link).
	Linked bool `json:"linked"`
	// Legacy names the projects/<name> directory hush kept before ids,
	// waiting for hush link to move its personal data here.
	Legacy    string    `json:"legacy,omitempty"`
	FirstUsed time.Time `json:"first_used"`
}

func readRegistry(dataDir string) (*registry, error) {
	r := &registry{Version: 1, Checkouts: map[string]*checkout{}}
	b, err := ReadFileNoFollow(filepath.Join(dataDir, registryName), 16<<20)
	if errors.Is(err, fs.ErrNotExist) {
		return r, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, r); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrIntegrity, filepath.Join(dataDir, registryName), err)
	}
	if r.Checkouts == nil {
		r.Checkouts = map[string]*checkout{}
	}
	return r, nil
}

func (r *registry) save(dataDir string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return WriteFileAtomic(filepath.Join(dataDir, registryName), append(b, '\n'))
}

// NewProjectID returns 128 random bits in hex.
func NewProjectID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// realRoot is the checkout's root with symlinks resolved: the registry's
// key, so two paths to one directory are one checkout.
func realRoot(root string) string {
	if r, err := filepath.EvalSymlinks(root); err == nil {
		return r
	}
	return root
}

// resolve sets the project's data key from the registry, without writing
// anything. An unregistered checkout uses the id hush.yaml declares (the
// id's own directory if no checkout has used it yet), or for a project
// without an id the name, as hush did before ids.
func (p *Project) resolve() error {
	r, err := readRegistry(p.DataDir)
	if err != nil {
		return err
	}
	if c, ok := r.Checkouts[realRoot(p.Root)]; ok && validProjectID(c.ID) == nil {
		p.key, p.linked, p.registered, p.legacy = c.ID, c.Linked, true, c.Legacy
		return nil
	}
	p.registered = false
	if p.Config.ID != "" {
		p.key = p.Config.ID
		_, err := os.Lstat(filepath.Join(p.projectsDir(), p.key))
		p.linked = errors.Is(err, fs.ErrNotExist)
		return nil
	}
	p.key, p.linked = p.Config.Project, true
	return nil
}

func (p *Project) projectsDir() string { return filepath.Join(p.DataDir, "projects") }

// ProjectKey is the id this checkout's personal data is kept under.
func (p *Project) ProjectKey() string { return p.key }

// Linked says whether this checkout uses its project id's personal store.
func (p *Project) Linked() bool { return p.linked }

// Legacy is the directory of personal data kept under the project's name
// before ids, which hush link moves to this checkout ("" when none).
func (p *Project) Legacy() string {
	if p.legacy == "" {
		return ""
	}
	return filepath.Join(p.projectsDir(), p.legacy)
}

// Registration is what Register did, for the user to be told.
type Registration struct {
	// New is true the first time hush meets this checkout.
	New bool
	// Shared is true when the id was already known from another checkout:
	// pins were copied, the personal store is not linked.
	Shared bool
	// Legacy names the name-keyed directory of a project from before ids:
	// its pins were copied; its personal data waits for hush link.
	Legacy string
	// Trusted is true when nothing was pinned yet and the current
	// hush.yaml was pinned as it is (trust on first use).
	Trusted bool
}

// Register records this checkout in the user's registry the first time
// hush meets it, migrates a legacy name-keyed directory, and pins the
// project's settings and recipients if nothing is pinned yet (trust on
// first use). It is cheap when the checkout is known and everything is
// pinned.
func (p *Project) Register(now time.Time) (*Registration, error) {
	reg := &Registration{}
	if !p.registered {
		if err := os.MkdirAll(p.DataDir, 0o700); err != nil {
			return nil, err
		}
		l, err := LockFile(filepath.Join(p.DataDir, ".checkouts.lock"))
		if err != nil {
			return nil, err
		}
		err = p.register(now, reg)
		l.Unlock()
		if err != nil {
			return nil, err
		}
	}
	trusted, err := p.trustOnFirstUse()
	if err != nil {
		return nil, err
	}
	reg.Trusted = trusted
	return reg, nil
}

func (p *Project) register(now time.Time, reg *Registration) error {
	p.pins = pinCache{}
	r, err := readRegistry(p.DataDir)
	if err != nil {
		return err
	}
	root := realRoot(p.Root)
	if c, ok := r.Checkouts[root]; ok && validProjectID(c.ID) == nil {
		p.key, p.linked, p.registered, p.legacy = c.ID, c.Linked, true, c.Legacy
		return nil
	}
	c := &checkout{FirstUsed: now.UTC()}
	if p.Config.ID != "" {
		c.ID = p.Config.ID
		shared := filepath.Join(p.projectsDir(), c.ID)
		if _, err := os.Lstat(shared); err == nil {
			reg.Shared = true
			if err := p.copyPinsFrom(shared, c.ID, root); err != nil {
				return err
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		} else {
			c.Linked = true
		}
	} else {
		// A project from before ids: give this checkout an id of its own.
		// The directory hush kept under the name may belong to another
		// project of that name (any repository can declare it), so only
		// its pins, which only restrict, are copied now; its personal
		// stores, whose values hush run would inject here, wait for the
		// user's hush link. Nothing is lost either way. hush.yaml gets the
		// id at the next change a member makes (SaveConfig).
		if c.ID, err = NewProjectID(); err != nil {
			return err
		}
		c.Linked = true
		old := filepath.Join(p.projectsDir(), p.Config.Project)
		st, err := os.Lstat(old)
		switch {
		case err == nil && st.IsDir():
			b, err := ReadFileNoFollow(filepath.Join(old, pinName), 4<<20)
			if err == nil {
				dir := filepath.Join(p.projectsDir(), c.ID)
				if err := os.MkdirAll(dir, 0o700); err != nil {
					return err
				}
				if err := WriteFileAtomic(filepath.Join(dir, pinName), b); err != nil {
					return err
				}
			} else if !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			c.Legacy = p.Config.Project
			reg.Legacy = old
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return err
		}
	}
	r.Checkouts[root] = c
	if err := r.save(p.DataDir); err != nil {
		return err
	}
	reg.New = true
	p.key, p.linked, p.registered, p.legacy = c.ID, c.Linked, true, c.Legacy
	return nil
}

// RegisterInit records a checkout hush init just created, replacing what
// the registry knew of its path (a project deleted and made again there),
// then pins it.
func (p *Project) RegisterInit(now time.Time) error {
	if err := os.MkdirAll(p.DataDir, 0o700); err != nil {
		return err
	}
	l, err := LockFile(filepath.Join(p.DataDir, ".checkouts.lock"))
	if err != nil {
		return err
	}
	r, err := readRegistry(p.DataDir)
	if err == nil {
		if _, ok := r.Checkouts[realRoot(p.Root)]; ok {
			delete(r.Checkouts, realRoot(p.Root))
			err = r.save(p.DataDir)
		}
	}
	l.Unlock()
	if err != nil {
		return err
	}
	p.registered = false
	if err := p.resolve(); err != nil {
		return err
	}
	_, err = p.Register(now)
	return err
}

// copyPinsFrom starts an unlinked checkout's pins as a copy of its id's.
func (p *Project) copyPinsFrom(shared, id, root string) error {
	p.pins = pinCache{}
	b, err := ReadFileNoFollow(filepath.Join(shared, pinName), 4<<20)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	dir := checkoutDir(p.projectsDir(), id, root)
	if _, err := os.Lstat(filepath.Join(dir, pinName)); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return WriteFileAtomic(filepath.Join(dir, pinName), b)
}

// checkoutDir is the personal directory of an unlinked checkout.
func checkoutDir(projects, id, root string) string {
	h := sha256.Sum256([]byte(root))
	return filepath.Join(projects, id, "checkouts", hex.EncodeToString(h[:8]))
}

// Link makes this checkout use its project id's personal store (and
// pins), as the first checkout of the id does. It returns the personal
// directory the checkout used until now.
func (p *Project) Link(now time.Time) (string, error) {
	p.pins = pinCache{}
	if _, err := p.Register(now); err != nil {
		return "", err
	}
	before := p.PersonalDir()
	if p.linked && p.legacy == "" {
		return before, nil
	}
	l, err := LockFile(filepath.Join(p.DataDir, ".checkouts.lock"))
	if err != nil {
		return "", err
	}
	defer l.Unlock()
	r, err := readRegistry(p.DataDir)
	if err != nil {
		return "", err
	}
	c, ok := r.Checkouts[realRoot(p.Root)]
	if !ok {
		return "", fmt.Errorf("%w: checkout %s is not registered", ErrNotFound, p.Root)
	}
	c.Linked = true
	p.linked = true
	if c.Legacy != "" {
		if err := moveLegacy(filepath.Join(p.projectsDir(), c.Legacy), p.PersonalDir()); err != nil {
			return "", err
		}
		c.Legacy, p.legacy = "", ""
	}
	if err := r.save(p.DataDir); err != nil {
		return "", err
	}
	return before, nil
}

// moveLegacy moves the personal data of a name-keyed directory from before
// ids into dir, refusing to overwrite anything there, and removes what is
// left (its pins were copied when the checkout was registered).
func moveLegacy(old, dir string) error {
	ents, err := os.ReadDir(old)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for _, e := range ents {
		name := e.Name()
		if name == pinName || name == ".lock" || !e.Type().IsRegular() {
			continue
		}
		to := filepath.Join(dir, name)
		if _, err := os.Lstat(to); err == nil {
			return fmt.Errorf("%w: %s and %s both exist; move one away, then run hush link again", ErrExists, filepath.Join(old, name), to)
		}
		if err := os.Rename(filepath.Join(old, name), to); err != nil {
			return err
		}
	}
	for _, name := range []string{pinName, ".lock"} {
		if err := os.Remove(filepath.Join(old, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return os.Remove(old)
}

// OtherCheckouts lists the other registered checkouts of this project id.
func (p *Project) OtherCheckouts() ([]string, error) {
	r, err := readRegistry(p.DataDir)
	if err != nil {
		return nil, err
	}
	me := realRoot(p.Root)
	var out []string
	for root, c := range r.Checkouts {
		if c.ID == p.key && root != me {
			out = append(out, root)
		}
	}
	return out, nil
}
