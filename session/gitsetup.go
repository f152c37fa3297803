package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hush-secrets/hush/internal/git"
	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/internal/safe"
	"github.com/hush-secrets/hush/store"
)

// GitAttributes routes hush's stores through its diff and merge drivers.
const GitAttributes = ".hush/*.age diff=hush merge=hush\n"

// gitDriverConfig is the local git configuration of both drivers. git runs
// them with the repository's top level as working directory.
var gitDriverConfig = [][2]string{
	{"diff.hush.textconv", "hush git textconv"},
	{"diff.hush.cachetextconv", "false"},
	{"merge.hush.name", "hush: three-way merge per key of encrypted stores"},
	{"merge.hush.driver", "hush git merge %O %A %B %P"},
}

// GitSetup configures hush's diff and merge drivers in the clone of the
// project: the .gitattributes line and the drivers in the local git
// config. It returns the top of the work tree.
func (s *Session) GitSetup() (string, error) {
	p, err := s.Project()
	if err != nil {
		return "", err
	}
	top := git.Top(p.Root)
	if top == "" {
		return "", fmt.Errorf("%s is not in a git work tree", p.Root)
	}
	if err := WriteGitAttributes(p.Root); err != nil {
		return "", err
	}
	if err := ConfigureGit(s.Ctx(), top); err != nil {
		return "", err
	}
	return top, nil
}

// WriteGitAttributes adds hush's line to the project's .gitattributes. The
// file comes from the repository: a symlink, a hard link or anything but a
// regular file is refused, never written through, and the file is replaced
// atomically (store.UpdateFile: a new file beside it, fsynced, renamed
// over it), keeping its mode, so a crash leaves the old file or the new.
func WriteGitAttributes(root string) error {
	path := filepath.Join(root, ".gitattributes")
	_, err := store.UpdateFile(path, 1<<20, 0o644, func(old []byte, _ bool) ([]byte, error) {
		if bytes.Contains(old, []byte(strings.TrimSpace(GitAttributes))) {
			return nil, nil
		}
		if len(old) > 0 && !bytes.HasSuffix(old, []byte("\n")) {
			old = append(old, '\n')
		}
		return append(old, GitAttributes...), nil
	})
	if errors.Is(err, store.ErrUnsafe) {
		return hint.With(err, "look at what the repository put there (ls -l %s); replace it with a regular file, then run: hush git setup", safe.ShellWord(path))
	}
	return err
}

// CheckGitAttributes fails as WriteGitAttributes would, changing nothing
// (hush init, before it creates anything).
func CheckGitAttributes(root string) error {
	path := filepath.Join(root, ".gitattributes")
	_, err := store.UpdateFile(path, 1<<20, 0o644, func([]byte, bool) ([]byte, error) { return nil, nil })
	if errors.Is(err, store.ErrUnsafe) {
		return hint.With(err, "look at what the repository put there (ls -l %s); replace it with a regular file, then run hush init again", safe.ShellWord(path))
	}
	return err
}

// ConfigureGit sets the drivers in the repository's local config.
func ConfigureGit(ctx context.Context, top string) error {
	for _, kv := range gitDriverConfig {
		if _, err := git.Output(ctx, top, "config", "--local", kv[0], kv[1]); err != nil {
			return fmt.Errorf("%s: %w", kv[0], err)
		}
	}
	return nil
}

// GitDriversMissing reports whether the project is in a git work tree
// whose local config lacks hush's drivers. It reads the config file
// instead of running git, to stay cheap enough for every write.
func GitDriversMissing(root string) bool {
	dir := root
	for {
		gitPath := filepath.Join(dir, ".git")
		st, err := os.Stat(gitPath)
		if err == nil {
			if !st.IsDir() {
				return false // a worktree or submodule: do not guess
			}
			b, err := os.ReadFile(filepath.Join(gitPath, "config"))
			return err == nil && !bytes.Contains(b, []byte(`[merge "hush"]`))
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return false
		}
		dir = parent
	}
}
