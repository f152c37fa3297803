package scan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/hush-secrets/hush/internal/git"
)

// ScanPaths scans files and directory trees; no path means ".".
//
// A directory inside a git work tree is listed by git itself
// (`git ls-files -co --exclude-standard`): tracked files and untracked ones
// that no .gitignore, .git/info/exclude or core.excludesFile excludes.
// Elsewhere it is walked, skipping `.git` directories and honouring the
// .gitignore files met on the way (plain patterns, `*`, `?`, `**`, `[…]`,
// `!` negation, trailing `/`; not the global excludes file). Symbolic links
// and other non-regular files are skipped, and so are binary files (a NUL in
// the first 8 KiB). Files are scanned in parallel, each streamed in chunks.
//
// Findings come back sorted by file, line and column. A file that cannot be
// read does not stop the scan: its error is joined into the returned error,
// which comes with the findings of the other files.
func (s *Scanner) ScanPaths(ctx context.Context, paths ...string) ([]Finding, error) {
	if len(paths) == 0 {
		paths = []string{"."}
	}
	var files, images []string
	for _, p := range paths {
		fi, err := os.Lstat(p)
		if err != nil {
			return nil, fmt.Errorf("scan: %w", err)
		}
		switch {
		case fi.Mode().IsRegular():
			files = append(files, p)
		case fi.IsDir() && isImageDir(p):
			images = append(images, p)
		case fi.IsDir():
			list, err := listDir(ctx, p)
			if err != nil {
				return nil, err
			}
			files = append(files, list...)
		}
	}
	// An OCI image layout met in a tree is scanned as one image, layer by
	// layer, not blob by blob.
	for _, f := range files {
		if filepath.Base(f) == "oci-layout" && isImageDir(filepath.Dir(f)) {
			images = append(images, filepath.Dir(f))
		}
	}
	if len(images) > 0 {
		files = slices.DeleteFunc(files, func(f string) bool {
			return slices.ContainsFunc(images, func(img string) bool { return within(f, img) })
		})
	}
	out, err := s.scanFiles(ctx, files)
	for _, img := range images {
		fs, ierr := s.scanImageDir(ctx, img)
		out = append(out, fs...)
		err = errors.Join(err, ierr)
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	sortFindings(out)
	return out, err
}

// within says file is dir or below it.
func within(file, dir string) bool {
	rel, err := filepath.Rel(dir, file)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// scanFiles scans files on s.workers goroutines.
func (s *Scanner) scanFiles(ctx context.Context, files []string) ([]Finding, error) {
	results := make([][]Finding, len(files))
	errs := make([]error, len(files))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(s.workers, max(len(files), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i], errs[i] = s.scanFile(ctx, files[i])
			}
		}()
	}
feed:
	for i := range files {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []Finding
	for _, r := range results {
		out = append(out, r...)
	}
	sortFindings(out)
	return out, errors.Join(errs...)
}

// scanFile scans one regular file.
func (s *Scanner) scanFile(ctx context.Context, path string) ([]Finding, error) {
	name := filepath.ToSlash(path)
	if s.allow.path(name) {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil // deleted since it was listed
		}
		return nil, fmt.Errorf("scan: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return nil, nil
	}
	// An archive, an image or a program is opened (archive.go); any other
	// file is scanned as text.
	return s.scanBlob(ctx, blob{r: f, ra: f, size: fi.Size(), name: name}, 0, newBudget(fi.Size()))
}

// listDir lists the regular files to scan under dir.
func listDir(ctx context.Context, dir string) ([]string, error) {
	if inWorkTree(ctx, dir) {
		out, err := gitOutput(ctx, dir, "ls-files", "-co", "--exclude-standard", "-z")
		if err != nil {
			return nil, err
		}
		var files []string
		for rel := range bytes.SplitSeq(out, []byte{0}) {
			if len(rel) == 0 {
				continue
			}
			p := filepath.Join(dir, filepath.FromSlash(string(rel)))
			if fi, err := os.Lstat(p); err == nil && fi.Mode().IsRegular() {
				files = append(files, p)
			}
		}
		slices.Sort(files)
		return files, nil
	}
	return walkDir(dir)
}

// inWorkTree reports whether dir is inside a git work tree (and git runs).
func inWorkTree(ctx context.Context, dir string) bool {
	out, err := gitOutput(ctx, dir, "rev-parse", "--is-inside-work-tree")
	return err == nil && strings.TrimSpace(string(out)) == "true"
}

// gitOutput runs git in dir and returns its standard output.
func gitOutput(ctx context.Context, dir string, args ...string) ([]byte, error) {
	out, err := git.Output(ctx, dir, args...)
	if err != nil {
		return nil, fmt.Errorf("scan: %w", err)
	}
	return out, nil
}

// sortFindings orders findings by file, line, column, then rule.
func sortFindings(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		switch {
		case a.File != b.File:
			return strings.Compare(a.File, b.File)
		case a.Line != b.Line:
			return a.Line - b.Line
		case a.Column != b.Column:
			return a.Column - b.Column
		}
		return strings.Compare(a.Rule, b.Rule)
	})
}
