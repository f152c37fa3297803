package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// Files named by the repository. A setting such as vault.auth.token_file
// makes hush read a file and send its content to a server; written by
// whoever can push, it could name the user's identity or SSH key. So a
// path from hush.yaml must resolve (symlinks followed) inside the project,
// and never into hush's own directories or ~/.ssh, unless the user's own
// configuration lists it. Defaults built into hush (the Kubernetes
// service-account token) do not come from the repository and are not
// checked.

// UserConfigName is the per-user configuration file in $XDG_CONFIG_HOME/hush.
const UserConfigName = "config.yaml"

// UserConfig is the user's own configuration: nothing in it comes from a
// repository.
type UserConfig struct {
	// AllowFiles lists files that settings from a repository may name
	// although they are outside the project or in a protected place: an
	// absolute path or ~/path, or a directory ending in "/" for everything
	// under it.
	AllowFiles []string `yaml:"allow_files"`
	// Audit says where audit lines are forwarded (auditconfig.go).
	Audit AuditConfig `yaml:"audit"`

	path string
}

// ReadUserConfig reads the user's configuration; a missing file is an
// empty configuration. Unknown fields are an error, so a typo does not
// silently allow nothing.
func ReadUserConfig(path string) (*UserConfig, error) {
	uc := &UserConfig{path: path}
	b, err := ReadFileNoFollow(path, 1<<20)
	if errors.Is(err, fs.ErrNotExist) {
		return uc, nil
	}
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(uc); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, path, err)
	}
	return uc, nil
}

// FilePolicy decides which files a setting from the repository may name.
type FilePolicy struct {
	// Root is the project's root.
	Root string
	// Home expands ~/ in paths.
	Home string
	// Protected are places never read for the repository unless allowed:
	// hush's identity file and directories, ~/.ssh, … Each is a file or a
	// directory (everything under it).
	Protected []string
	// User is the user's configuration, for allow_files.
	User *UserConfig
}

// RepoFileError is a file setting from hush.yaml that hush refuses to
// read. It is an ErrInvalid (exit 2): acknowledging the setting does not
// help, only the user's own configuration can allow it.
type RepoFileError struct {
	Setting, Path, Why, Config string
}

func (e *RepoFileError) Error() string {
	return fmt.Sprintf(".hush/hush.yaml %s names %s, %s: hush does not read it for a setting from the repository; if you trust it, list it under allow_files: in %s",
		e.Setting, Printable(e.Path), Printable(e.Why), e.Config)
}

// Unwrap makes a RepoFileError an ErrInvalid.
func (e *RepoFileError) Unwrap() error { return ErrInvalid }

func (fp *FilePolicy) expand(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		return filepath.Join(fp.Home, strings.TrimPrefix(p, "~"))
	}
	return p
}

// resolved is p made absolute (relative to base) with every symlink on the
// way resolved, as far as the path exists.
func resolved(base, p string) string { return resolveDepth(base, p, 0) }

func resolveDepth(base, p string, depth int) string {
	if !filepath.IsAbs(p) {
		p = filepath.Join(base, p)
	}
	p = filepath.Clean(p)
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	// A missing file, or a link to one: resolve the directories above it,
	// then follow the link by hand (a dangling link still leads somewhere).
	dir, file := filepath.Split(p)
	if dir == "" || dir == p {
		return p
	}
	dir = resolveDepth(base, filepath.Clean(dir), depth+1)
	full := filepath.Join(dir, file)
	if target, err := os.Readlink(full); err == nil && depth < 40 {
		return resolveDepth(dir, target, depth+1)
	}
	return full
}

func within(p, dir string) bool {
	if p == dir {
		return true
	}
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// Check decides whether setting may read path, and returns the resolved
// absolute path to read (relative paths are relative to the project root,
// not to the working directory).
func (fp *FilePolicy) Check(setting, path string) (string, error) {
	root := resolved("/", fp.Root)
	abs := fp.expand(path)
	real := resolved(root, abs)
	cfg := "$XDG_CONFIG_HOME/hush/" + UserConfigName
	if fp.User != nil {
		if fp.User.path != "" {
			cfg = fp.User.path
		}
		for _, a := range fp.User.AllowFiles {
			a = fp.expand(a)
			if !filepath.IsAbs(a) {
				continue
			}
			ar := resolved("/", a)
			if strings.HasSuffix(a, "/") && within(real, ar) || real == ar {
				return real, nil
			}
		}
	}
	for _, p := range fp.Protected {
		pr := resolved("/", fp.expand(p))
		if within(real, pr) {
			why := "inside " + pr
			if real == pr {
				why = "which is " + pr
			}
			return "", &RepoFileError{Setting: setting, Path: path, Why: why, Config: cfg}
		}
	}
	if !within(real, root) {
		return "", &RepoFileError{Setting: setting, Path: path, Why: "outside the project " + root, Config: cfg}
	}
	if _, err := os.Lstat(real); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	return real, nil
}
