package store

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// DirName is the project directory at the root of a hush project.
const DirName = ".hush"

// ConfigName is the project configuration file inside DirName.
const ConfigName = "hush.yaml"

// maxStoreFile bounds a store file read into memory.
const maxStoreFile = 256 << 20

// Project is an opened hush project.
type Project struct {
	// Root is the directory holding .hush/.
	Root string
	// Config is the parsed hush.yaml.
	Config *Config
	// DataDir is hush's personal data directory ($XDG_DATA_HOME/hush).
	DataDir string

	// raw is hush.yaml as last read, so an acknowledgement can pin exactly
	// what was shown.
	raw []byte
	// key is the id this checkout's personal data is kept under, linked
	// whether it uses that id's personal directory, registered whether
	// the user's checkout registry knows it (see checkout.go).
	key, legacy        string
	linked, registered bool
	// pins is the pin file's bytes as last read (see readPins).
	pins pinCache
	// settings is Config.Settings() as CheckSettings last computed it;
	// nil once Config may have changed (touchConfig). Computing it costs
	// a YAML encode and parse, 0.1-0.5 ms, and a read checks two or
	// three groups of settings.
	settings map[string]string
}

// touchConfig forgets what was derived from Config: every change of
// Config in this package calls it.
func (p *Project) touchConfig() { p.settings = nil }

// currentSettings is Config.Settings(), computed once until Config
// changes. The map is shared: read it, never change it.
func (p *Project) currentSettings() (map[string]string, error) {
	if p.settings != nil {
		return p.settings, nil
	}
	cur, err := p.Config.Settings()
	if err != nil {
		return nil, err
	}
	p.settings = cur
	return cur, nil
}

// pinCache holds the pin file's bytes; read is false until it was read,
// raw is nil when there is no pin file.
type pinCache struct {
	read bool
	path string
	raw  []byte
}

// Dir is the .hush directory.
func (p *Project) Dir() string { return filepath.Join(p.Root, DirName) }

// ConfigPath is .hush/hush.yaml.
func (p *Project) ConfigPath() string { return filepath.Join(p.Dir(), ConfigName) }

// TeamPath is the team store of env. env must be a valid name, which keeps
// the path inside .hush/.
func (p *Project) TeamPath(env string) string { return filepath.Join(p.Dir(), env+".age") }

// PersonalDir holds this checkout's personal stores, pins and sync state:
// projects/<id>/ when the checkout is linked to its id (the first checkout
// of an id is), a directory of its own under it otherwise.
func (p *Project) PersonalDir() string {
	if p.key == "" {
		// Not opened by Open or Create (a test's literal Project).
		p.key, p.linked = p.Config.Project, true
	}
	if p.linked {
		return filepath.Join(p.projectsDir(), p.key)
	}
	return checkoutDir(p.projectsDir(), p.key, realRoot(p.Root))
}

// PersonalPath is the personal store of env.
func (p *Project) PersonalPath(env string) string {
	return filepath.Join(p.PersonalDir(), env+".age")
}

// FindRoot walks up from dir to the first directory holding .hush/, as git
// does for .git.
func FindRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		st, err := os.Lstat(filepath.Join(dir, DirName))
		if err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			// Permission denied on the way is not "no project here".
			return "", err
		}
		if err == nil {
			if st.Mode()&fs.ModeSymlink != 0 {
				return "", fmt.Errorf("%w: %s is a symlink", ErrUnsafe, filepath.Join(dir, DirName))
			}
			if st.IsDir() {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ErrNoProject
		}
		dir = parent
	}
}

// Open finds the project containing dir and reads its configuration.
func Open(dir, dataDir string) (*Project, error) {
	root, err := FindRoot(dir)
	if err != nil {
		return nil, err
	}
	p := &Project{Root: root, DataDir: dataDir}
	b, err := ReadFileNoFollow(p.ConfigPath(), 1<<20)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s is missing; is this a hush project?", ErrIntegrity, p.ConfigPath())
		}
		return nil, err
	}
	if p.Config, err = parseConfig(b); err != nil {
		return nil, err
	}
	p.raw = b
	if err := p.resolve(); err != nil {
		return nil, err
	}
	return p, nil
}

// Create makes .hush/ in root with cfg, failing if a project is already
// there. Team stores are not created here; see Project.CreateEnv.
func Create(root, dataDir string, cfg *Config) (*Project, error) {
	if err := ValidProjectName(cfg.Project); err != nil {
		return nil, err
	}
	p := &Project{Root: root, DataDir: dataDir, Config: cfg}
	if err := os.Mkdir(p.Dir(), 0o755); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("%s %w: this is already a hush project", p.Dir(), ErrExists)
		}
		return nil, err
	}
	// Lock files and interrupted temporary files must never be committed.
	if err := WriteFileAtomic(filepath.Join(p.Dir(), ".gitignore"), []byte(".lock\n.*.tmp-*\n.*.conflict.age\n")); err != nil {
		return nil, err
	}
	if err := p.SaveConfig(); err != nil {
		return nil, err
	}
	if err := p.resolve(); err != nil {
		return nil, err
	}
	return p, nil
}

// SaveConfig writes hush.yaml atomically and pins, with it, the
// recipients of pinEnvs as now configured (an environment gone from the
// configuration loses its pin) and the settings this hush itself changed.
// The pin change is recorded as an intent before hush.yaml is written, so
// a kill between the two files leaves the user's own change pinned, not
// pending. Callers hold the project lock.
func (p *Project) SaveConfig(pinEnvs ...string) error {
	p.touchConfig()
	if p.Config.ID == "" && p.registered && validProjectID(p.key) == nil {
		p.Config.ID = p.key
	}
	var before map[string]string
	if old, err := parseConfig(p.raw); err == nil {
		before, _ = old.Settings()
	}
	b, err := p.Config.encode()
	if err != nil {
		return err
	}
	pf, err := p.readPins()
	if err != nil {
		return err
	}
	if !pf.exists {
		if err := WriteFileAtomic(p.ConfigPath(), b); err != nil {
			return err
		}
		p.raw = b
		if len(pinEnvs) > 0 {
			return p.Pin(pinEnvs...)
		}
		return nil
	}
	in, err := p.intentFor(pf, before, configSum(b), pinEnvs)
	if err != nil {
		return err
	}
	pf.Intent = in
	if err := p.writePins(pf); err != nil {
		return err
	}
	if err := WriteFileAtomic(p.ConfigPath(), b); err != nil {
		return err
	}
	p.raw = b
	pf.Intent = nil
	applyIntent(pf, in)
	if pf.complete() {
		cur, err := p.Config.Settings()
		if err != nil {
			return err
		}
		p.adoptID(pf, cur)
	}
	return p.writePins(pf)
}

// intentFor is the pin change of one write of hush.yaml: pinEnvs' current
// recipients, and the settings this hush changed whose old value was the
// acknowledged one (a change that arrived by pull and is still pending
// stays pending).
func (p *Project) intentFor(pf *pinFile, before map[string]string, sum string, pinEnvs []string) (*pinIntent, error) {
	in := &pinIntent{Config: sum, Envs: map[string][]Recipient{}, Settings: map[string]string{}}
	for _, env := range pinEnvs {
		if ec, ok := p.Config.Environments[env]; ok {
			in.Envs[env] = append([]Recipient(nil), ec.Recipients...)
		} else {
			in.Drop = append(in.Drop, env)
		}
	}
	if before == nil || !pf.complete() {
		return in, nil
	}
	after, err := p.Config.Settings()
	if err != nil {
		return nil, err
	}
	for _, c := range diffSettings(before, after) {
		if pf.Settings[c.Key] == c.Old {
			in.Settings[c.Key] = c.New
		}
	}
	return in, nil
}

func configSum(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Raw is hush.yaml's bytes as last read or written.
func (p *Project) Raw() []byte { return p.raw }

// Lock takes the project's write lock (.hush/.lock). Every change to
// hush.yaml or a team store happens under it.
func (p *Project) Lock() (*Lock, error) {
	p.pins = pinCache{}
	return LockFile(filepath.Join(p.Dir(), ".lock"))
}

// lockPersonal takes the lock of this project's personal stores.
func (p *Project) lockPersonal() (*Lock, error) {
	p.pins = pinCache{}
	if err := os.MkdirAll(p.PersonalDir(), 0o700); err != nil {
		return nil, err
	}
	return LockFile(filepath.Join(p.PersonalDir(), ".lock"))
}

// ReloadConfig rereads hush.yaml, for use under the lock after another
// process may have changed it.
func (p *Project) ReloadConfig() error {
	p.pins = pinCache{}
	p.touchConfig()
	b, err := ReadFileNoFollow(p.ConfigPath(), 1<<20)
	if err != nil {
		return err
	}
	c, err := parseConfig(b)
	if err != nil {
		return err
	}
	p.Config, p.raw = c, b
	return nil
}
