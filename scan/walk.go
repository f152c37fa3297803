package scan

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
)

// ignoreRule is one .gitignore line.
type ignoreRule struct {
	base    string // slash path of the .gitignore's directory, relative to the walk root
	re      *regexp.Regexp
	neg     bool // `!pattern`: un-ignore
	dirOnly bool // `pattern/`
	// anchored patterns (with a slash before their end) match the path
	// relative to base; the others match the name alone, at any depth.
	anchored bool
}

// walkDir lists the regular files under root outside a git work tree,
// skipping .git directories and what the .gitignore files met on the way
// exclude. The last matching pattern wins, as in git; unlike git, a
// re-included file under an excluded directory is still reached only if the
// directory itself is not excluded (git does the same), and the global
// excludes file is not read.
func walkDir(root string) ([]string, error) {
	var files []string
	var rules []ignoreRule
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == root {
				return err
			}
			return nil // unreadable entry: skip it, as git would
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if d.Name() == ".git" && p != root {
				return filepath.SkipDir
			}
			if rel != "." && ignored(rules, rel, true) {
				return filepath.SkipDir
			}
			more, err := readGitignore(filepath.Join(p, ".gitignore"), rel)
			if err != nil {
				return err
			}
			rules = append(rules, more...)
			return nil
		}
		if d.Type().IsRegular() && !ignored(rules, rel, false) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scan: %w", err)
	}
	return files, nil
}

// ignored applies the rules to a slash path relative to the walk root.
func ignored(rules []ignoreRule, rel string, isDir bool) bool {
	out := false
	for _, r := range rules {
		if r.dirOnly && !isDir {
			continue
		}
		sub := rel
		if r.base != "." {
			var ok bool
			if sub, ok = strings.CutPrefix(rel, r.base+"/"); !ok {
				continue
			}
		}
		target := sub
		if !r.anchored {
			target = path.Base(sub)
		}
		if r.re.MatchString(target) {
			out = !r.neg
		}
	}
	return out
}

// readGitignore parses one .gitignore; a missing file has no rules.
func readGitignore(file, base string) ([]ignoreRule, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, nil
	}
	defer f.Close()
	var rules []ignoreRule
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), " \t\r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		r := ignoreRule{base: base}
		if r.neg = strings.HasPrefix(line, "!"); r.neg {
			line = line[1:]
		}
		line = strings.TrimPrefix(line, `\`)
		if r.dirOnly = strings.HasSuffix(line, "/"); r.dirOnly {
			line = strings.TrimSuffix(line, "/")
		}
		r.anchored = strings.Contains(line, "/")
		re, err := globRegexp(strings.TrimPrefix(line, "/"), `^`)
		if err != nil {
			continue // git ignores what it cannot parse, too
		}
		r.re = re
		rules = append(rules, r)
	}
	return rules, sc.Err()
}
