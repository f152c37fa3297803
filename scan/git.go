package scan

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/hush-secrets/hush/internal/git"
)

// ErrNotRepository is returned by the git scans outside a git repository.
var ErrNotRepository = errors.New("not a git repository")

// diffArgs make git print plain unified diffs whatever the user's config:
// no colour, no external diff, no textconv (hush's own textconv for .age
// files would put plaintext in the diff), fixed prefixes, no context.
var diffArgs = []string{"-p", "-U0", "--no-color", "--no-ext-diff", "--no-textconv",
	"--src-prefix=a/", "--dst-prefix=b/"}

// ScanStaged scans what `git commit` would add in the repository at dir:
// only the lines added by the staged changes (`git diff --cached`), with
// their line numbers in the new version of each file.
func (s *Scanner) ScanStaged(ctx context.Context, dir string) ([]Finding, error) {
	if err := checkRepo(ctx, dir); err != nil {
		return nil, err
	}
	args := append([]string{"diff", "--cached"}, diffArgs...)
	fs, err := s.scanGitDiff(ctx, dir, args)
	if err != nil {
		return nil, err
	}
	sortFindings(fs)
	return fs, nil
}

// ScanHistory scans every commit reachable from any ref (`git log --all`),
// or with since set the commits in since..HEAD, for secrets in the lines each
// commit added. Findings carry the commit and its author, newest commit
// first. Merge commits are diffed as combined diffs (--cc): a line a merge
// adds that is in none of its parents (a conflict resolved with a secret, an
// "evil merge") is scanned; lines a parent brought were scanned there.
func (s *Scanner) ScanHistory(ctx context.Context, dir, since string) ([]Finding, error) {
	if err := checkRepo(ctx, dir); err != nil {
		return nil, err
	}
	args := append([]string{"log", "--format=%x00%x00%H%x00%an <%ae>", "--cc"}, diffArgs...)
	if since != "" {
		if strings.HasPrefix(since, "-") {
			return nil, fmt.Errorf("scan: bad revision %q", since)
		}
		args = append(args, since+"..HEAD", "--")
	} else {
		args = append(args, "--all")
	}
	return s.scanGitDiff(ctx, dir, args)
}

func checkRepo(ctx context.Context, dir string) error {
	if _, err := gitOutput(ctx, dir, "rev-parse", "--git-dir"); err != nil {
		return fmt.Errorf("scan: %s: %w", dir, ErrNotRepository)
	}
	return nil
}

// block is a run of consecutive added lines of one file in one commit.
type block struct {
	seq                  int
	file, commit, author string
	line                 int
	data                 []byte
	// binary: the block stands for a binary file git does not diff
	// (judged by its name alone).
	binary bool
}

// maxBlock caps a block: a huge added file is scanned in pieces of about
// this size (a multi-line key astride a cut can be missed).
const maxBlock = 4 << 20

// scanGitDiff runs git with args in dir, parses the diff it streams and scans
// the added lines on s.workers goroutines.
func (s *Scanner) scanGitDiff(ctx context.Context, dir string, args []string) ([]Finding, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := git.Cmd(ctx, dir, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("scan: git: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("scan: git: %w", err)
	}

	blocks := make(chan block, 2*s.workers)
	var mu sync.Mutex
	var found [][]Finding
	var scanErr error
	var wg sync.WaitGroup
	for range s.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range blocks {
				var ms []match
				var err error
				if b.binary {
					ms = s.binaryMatch(nil, b.file)
				} else {
					ms, err = s.scanStream(ctx, bytes.NewReader(b.data), b.file, b.line, false)
				}
				fs := s.finish(ms, b.file, b.commit, b.author)
				mu.Lock()
				if err != nil && scanErr == nil {
					scanErr = err
				}
				for len(found) <= b.seq {
					found = append(found, nil)
				}
				found[b.seq] = fs
				mu.Unlock()
			}
		}()
	}
	parseErr := parseDiff(bufio.NewReaderSize(stdout, 64<<10), s.allow, func(b block) bool {
		select {
		case blocks <- b:
			return true
		case <-ctx.Done():
			return false
		}
	})
	close(blocks)
	wg.Wait()
	if parseErr != nil {
		cancel()
	}
	waitErr := cmd.Wait()
	switch {
	case ctx.Err() != nil && parseErr == nil:
		return nil, ctx.Err()
	case parseErr != nil:
		return nil, fmt.Errorf("scan: reading git %s: %w", args[0], parseErr)
	case scanErr != nil:
		return nil, scanErr
	case waitErr != nil:
		msg := strings.TrimSpace(stderr.String())
		return nil, fmt.Errorf("scan: git %s: %w: %.200s", args[0], waitErr, msg)
	}
	var out []Finding
	for _, fs := range found {
		out = append(out, fs...)
	}
	return out, nil
}

// parseDiff reads `git diff`/`git log -p` output (with the log format of
// ScanHistory) and hands each block of added lines to emit, numbered in
// order; it stops when emit returns false.
func parseDiff(r *bufio.Reader, allow *allowMatcher, emit func(block) bool) error {
	var (
		commit, author, file string
		skip                 bool // the file is allowed by path
		inHunk               bool
		newLine              int
		np                   = 1 // columns before each line of a hunk: one per parent
		cur                  block
		seq                  int
		line                 []byte
	)
	flush := func() bool {
		if len(cur.data) == 0 {
			return true
		}
		cur.seq = seq
		seq++
		ok := emit(cur)
		cur = block{}
		return ok
	}
	for {
		var err error
		line, err = readLine(r, line[:0])
		if len(line) == 0 && err != nil {
			if errors.Is(err, io.EOF) {
				flush()
				return nil
			}
			return err
		}
		// A combined diff's lines open with one column per parent: a line
		// is added when every column says +, in the result unless one
		// says -.
		cols := line[:min(np, len(line))]
		added := inHunk && len(line) >= np && bytes.Count(cols, []byte("+")) == np
		if !added || len(cur.data) >= maxBlock {
			if !flush() {
				return nil
			}
		}
		switch {
		case added:
			if !skip {
				if len(cur.data) == 0 {
					cur = block{file: file, commit: commit, author: author, line: newLine}
				}
				cur.data = append(append(cur.data, line[np:]...), '\n')
			}
			newLine++
		case inHunk && len(line) > 0 && (line[0] == ' ' || line[0] == '\\' || line[0] == '-' || line[0] == '+'):
			if line[0] != '\\' && bytes.IndexByte(cols, '-') < 0 {
				newLine++
			}
		case bytes.HasPrefix(line, []byte("\x00\x00")):
			commit, author, _ = strings.Cut(string(line[2:]), "\x00")
			inHunk = false
		case bytes.HasPrefix(line, []byte("@@")):
			// @@ -a +c @@, or @@@ -a -b +c @@@ for a merge of two parents.
			k := 0
			for k < len(line) && line[k] == '@' {
				k++
			}
			if k >= len(line) || line[k] != ' ' {
				return errors.New("bad hunk header")
			}
			np = k - 1
			n, ok := hunkStart(line)
			if !ok {
				// Not quoted: the header ends with a line of the file.
				return errors.New("bad hunk header")
			}
			newLine, inHunk = n, true
		case bytes.HasPrefix(line, []byte("+++ ")):
			file, skip = diffPath(string(line[4:])), false
			if file == "" {
				skip = true
			} else if allow.path(file) {
				skip = true
			}
		case !inHunk && bytes.HasPrefix(line, []byte("Binary files ")) && bytes.HasSuffix(line, []byte(" differ")):
			// Binary files a/x and b/x differ: a key store added or
			// changed is a finding by its name.
			_, b, _ := strings.Cut(strings.TrimSuffix(string(line), " differ"), " and ")
			if f := diffPath(b); f != "" && pkcs12Name(f) && !allow.path(f) {
				if !flush() {
					return nil
				}
				cur = block{file: f, commit: commit, author: author, line: 1, binary: true, data: []byte{0}}
				if !flush() {
					return nil
				}
			}
		case bytes.HasPrefix(line, []byte("diff ")):
			inHunk, skip = false, true // until its +++ line names the new file
		}
	}
}

// readLine reads one line without its newline, appending to buf.
func readLine(r *bufio.Reader, buf []byte) ([]byte, error) {
	for {
		chunk, err := r.ReadSlice('\n')
		buf = append(buf, chunk...)
		if !errors.Is(err, bufio.ErrBufferFull) {
			if n := len(buf); n > 0 && buf[n-1] == '\n' {
				buf = buf[:n-1]
			}
			return buf, err
		}
	}
}

// hunkStart parses the new-file start line of `@@ -a,b +c,d @@`.
func hunkStart(h []byte) (int, bool) {
	i := bytes.Index(h, []byte(" +"))
	if i < 0 {
		return 0, false
	}
	rest := h[i+2:]
	j := bytes.IndexAny(rest, ", ")
	if j < 0 {
		return 0, false
	}
	n, err := strconv.Atoi(string(rest[:j]))
	return n, err == nil
}

// diffPath decodes the path of a `+++ b/path` line; "" for /dev/null.
func diffPath(p string) string {
	p = strings.TrimSuffix(p, "\t")
	if strings.HasPrefix(p, `"`) {
		if u, err := strconv.Unquote(p); err == nil {
			p = u
		}
	}
	if p == "/dev/null" {
		return ""
	}
	p, _ = strings.CutPrefix(p, "b/")
	return p
}
