// Package audit is hush's local, tamper-evident access log: one JSON line
// per secret read or change, each carrying the SHA-256 of the line before it,
// so an edited, deleted, inserted or reordered line breaks the chain and
// `hush audit verify` names it.
//
// A line is the JSON object of an Entry whose last member is "hash": the hex
// SHA-256 of the previous line's hash (64 zeros for the first line), a
// newline, and the line's bytes up to and excluding `,"hash":…`. Hashing the
// exact bytes rather than a re-encoding keeps verification independent of
// how a JSON encoder orders or escapes fields.
package audit

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/hush-secrets/hush/store"
)

// Entry is one audit line. It never holds a secret value.
type Entry struct {
	Time     time.Time `json:"timestamp"`
	Action   string    `json:"action"`
	Path     string    `json:"path"`
	Identity string    `json:"identity,omitempty"`
	User     string    `json:"user,omitempty"`
	PID      int       `json:"pid"`
	Command  string    `json:"command"`
	Success  bool      `json:"success"`
	Error    string    `json:"error,omitempty"`
	Prev     string    `json:"prev"`
	Hash     string    `json:"hash,omitempty"`
}

// Actions hush records.
const (
	SecretRead   = "secret.read"
	SecretWrite  = "secret.write"
	SecretDelete = "secret.delete"
	SecretList   = "secret.list"
	EnvCreate    = "env.create"
	EnvDelete    = "env.delete"
	ProjectInit  = "project.init"
)

// genesis is the "previous hash" of the first line.
var genesis = string(bytes.Repeat([]byte("0"), 64))

// ErrChain means the log is not a valid chain; the error says which line.
var ErrChain = errors.New("audit log chain broken")

// Log is an audit log: the live file at Path and, once it grew past
// MaxSize, archived segments Path-with-.NNNNNN.jsonl that the chain runs
// through.
type Log struct {
	Path string
	// MaxSize is the size past which the live file is archived before the
	// next append (0: DefaultMaxSize).
	MaxSize int64
	// AnchorKey, when set, authenticates the anchor written after each
	// append (see anchor.go).
	AnchorKey []byte
}

// DefaultMaxSize is when the live log rotates: 16 MiB, about 50,000 lines.
const DefaultMaxSize = 16 << 20

// Append writes entries as one batch, under an exclusive lock on a separate
// lock file, to a file opened append-only without following symlinks and
// created 0600. Every entry gets the chain hash of the line before it. An
// error here must fail the command that caused it (DESIGN.md contract 4).
func (l *Log) Append(entries ...Entry) error {
	if len(entries) == 0 {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(l.Path), 0o700); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	lf, err := os.OpenFile(l.Path+".lock", os.O_RDWR|os.O_CREATE|store.ONoFollow, 0o600)
	if err != nil {
		return fmt.Errorf("audit: lock: %w", err)
	}
	defer lf.Close()
	if err = store.LockExclusive(lf); err != nil {
		return fmt.Errorf("audit: lock: %w", err)
	}
	f, err := os.OpenFile(l.Path, os.O_RDWR|os.O_APPEND|os.O_CREATE|store.ONoFollow, 0o600)
	if err != nil {
		if store.IsSymlinkError(err) {
			return fmt.Errorf("audit: %s is a symlink; refusing to write", l.Path)
		}
		return fmt.Errorf("audit: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("audit: %s is not a regular file", l.Path)
	}
	prev, err := lastHash(f, st.Size())
	if err != nil {
		return err
	}
	size := st.Size()
	maxSize := l.MaxSize
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	if size >= maxSize {
		f.Close()
		if err := l.rotate(); err != nil {
			return err
		}
		if f, err = os.OpenFile(l.Path, os.O_RDWR|os.O_APPEND|os.O_CREATE|os.O_EXCL|store.ONoFollow, 0o600); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		defer f.Close()
		size = 0
	}
	var buf bytes.Buffer
	for _, e := range entries {
		line, h, err := seal(e, prev)
		if err != nil {
			return err
		}
		buf.Write(line)
		buf.WriteByte('\n')
		prev = h
	}
	// One write of the whole batch: with O_APPEND and the lock, lines of
	// concurrent writers never interleave.
	if _, err := f.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("audit: write: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("audit: sync: %w", err)
	}
	if l.AnchorKey != nil {
		if err := l.writeAnchor(l.AnchorKey, size+int64(buf.Len()), prev); err != nil {
			return fmt.Errorf("audit: anchor: %w", err)
		}
	}
	return nil
}

// Writable checks that the log can be appended to, without writing. Commands
// that change a store call it first, so a broken log stops them before the
// change rather than after it.
func (l *Log) Writable() error {
	if err := os.MkdirAll(filepath.Dir(l.Path), 0o700); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	f, err := os.OpenFile(l.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|store.ONoFollow, 0o600)
	if err != nil {
		if store.IsSymlinkError(err) {
			return fmt.Errorf("audit: %s is a symlink; refusing to write", l.Path)
		}
		return fmt.Errorf("audit: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return fmt.Errorf("audit: %s is not a regular file", l.Path)
	}
	return nil
}

// seal encodes e with prev and appends its hash.
func seal(e Entry, prev string) (line []byte, hash string, err error) {
	e.Prev = prev
	e.Hash = ""
	body, err := json.Marshal(e)
	if err != nil {
		return nil, "", fmt.Errorf("audit: %w", err)
	}
	body = body[:len(body)-1] // drop the closing brace
	hash = chainHash(prev, body)
	line = append(body, `,"hash":"`...)
	line = append(line, hash...)
	line = append(line, `"}`...)
	return line, hash, nil
}

func chainHash(prev string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(prev))
	h.Write([]byte{'\n'})
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// lastHash returns the hash of the last line of f (genesis when empty),
// reading only the file's tail.
func lastHash(f *os.File, size int64) (string, error) {
	if size == 0 {
		return genesis, nil
	}
	const tail = 64 << 10
	off := max(size-tail, 0)
	buf := make([]byte, size-off)
	if _, err := f.ReadAt(buf, off); err != nil && err != io.EOF {
		return "", fmt.Errorf("audit: read: %w", err)
	}
	buf = bytes.TrimRight(buf, "\n")
	if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
		buf = buf[i+1:]
	} else if off > 0 {
		return "", fmt.Errorf("%w: last line longer than %d bytes", ErrChain, tail)
	}
	_, h, err := splitLine(buf)
	if err != nil {
		return "", fmt.Errorf("%w: last line: %v (run hush audit verify)", ErrChain, err)
	}
	return h, nil
}

const hashSuffixLen = len(`,"hash":"`) + 64 + len(`"}`)

// splitLine separates a line into its hashed body and its hash.
func splitLine(line []byte) (body []byte, hash string, err error) {
	if len(line) < hashSuffixLen+2 || !bytes.HasSuffix(line, []byte(`"}`)) {
		return nil, "", errors.New("not a hush audit line")
	}
	cut := len(line) - hashSuffixLen
	if !bytes.HasPrefix(line[cut:], []byte(`,"hash":"`)) {
		return nil, "", errors.New("no hash at the end of the line")
	}
	hash = string(line[cut+len(`,"hash":"`) : len(line)-2])
	if _, err := hex.DecodeString(hash); err != nil {
		return nil, "", errors.New("hash is not hex")
	}
	return line[:cut], hash, nil
}

// Verify checks the whole chain from r. It returns the number of valid
// lines, and an error wrapping ErrChain that names the first bad line
// (1-based) when the chain is broken.
func Verify(r io.Reader) (int, error) {
	n := 0
	err := Scan(r, func(lineNo int, _ Entry) error { n = lineNo; return nil })
	return n, err
}

// Scan reads and verifies every line, calling fn with each valid entry in
// order. It stops at the first broken line with an error wrapping ErrChain.
func Scan(r io.Reader, fn func(lineNo int, e Entry) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	prev := genesis
	for lineNo := 1; ; lineNo++ {
		line, err := br.ReadBytes('\n')
		if err == io.EOF && len(line) == 0 {
			return nil
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("audit: read: %w", err)
		}
		if err == io.EOF {
			return fmt.Errorf("%w at line %d: incomplete last line (no newline)", ErrChain, lineNo)
		}
		line = line[:len(line)-1]
		body, hash, serr := splitLine(line)
		if serr != nil {
			return fmt.Errorf("%w at line %d: %v", ErrChain, lineNo, serr)
		}
		var e Entry
		if err := json.Unmarshal(line, &e); err != nil {
			return fmt.Errorf("%w at line %d: not valid JSON", ErrChain, lineNo)
		}
		if e.Prev != prev {
			return fmt.Errorf("%w at line %d: it does not follow line %d (deleted, inserted or reordered lines)", ErrChain, lineNo, lineNo-1)
		}
		if chainHash(prev, body) != hash || e.Hash != hash {
			return fmt.Errorf("%w at line %d: content does not match its hash (edited)", ErrChain, lineNo)
		}
		if err := fn(lineNo, e); err != nil {
			return err
		}
		prev = hash
	}
}

// Open opens the log for reading, refusing a symlink. A log that does not
// exist yet reads as empty.
func (l *Log) Open() (io.ReadCloser, error) {
	f, err := os.OpenFile(l.Path, os.O_RDONLY|store.ONoFollow, 0)
	if errors.Is(err, os.ErrNotExist) {
		return io.NopCloser(bytes.NewReader(nil)), nil
	}
	if store.IsSymlinkError(err) {
		return nil, fmt.Errorf("audit: %s is a symlink; refusing to read", l.Path)
	}
	return f, err
}
