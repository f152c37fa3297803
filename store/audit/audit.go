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
	"strconv"
	gosync "sync"
	"time"
	"unicode/utf8"

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
	// Detail says more about a line hush writes about the log itself (what
	// a repair cut). Older lines have none; older readers ignore it.
	Detail string `json:"detail,omitempty"`
	// Keys are the keys of Path that one line covers: hush run records
	// one line per run naming every key it injected, not a line a key.
	Keys []string `json:"keys,omitempty"`
	// Host is the machine, Version the hush that wrote the line.
	Host    string `json:"host,omitempty"`
	Version string `json:"version,omitempty"`
	// Source is the remote hush talked to (a Vault address), Lease the
	// lease the remote granted, where there is one.
	Source string `json:"source,omitempty"`
	Lease  string `json:"lease,omitempty"`
	// RequestID is the command's correlation id, sent to the remote on
	// every request (Vault: the X-Hush-Request-Id header, which its audit
	// device records once configured to), RemoteRequestID the id the
	// remote gave the request that did this line's work (Vault's
	// request_id, in its audit device's every entry).
	RequestID       string `json:"request_id,omitempty"`
	RemoteRequestID string `json:"remote_request_id,omitempty"`

	Prev string `json:"prev"`
	Hash string `json:"hash,omitempty"`
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
	AuditRepair  = "audit.repair"
	// SecretLeak is a secret reported leaked (hush leak); SecretDismiss an
	// exposure mark settled without a new value, with what and why in the
	// line's detail.
	SecretLeak    = "secret.leak"
	SecretDismiss = "secret.dismiss"
	// Who may read an environment, and what this checkout trusts.
	MemberAdd    = "member.add"
	MemberRemove = "member.remove"
	MemberAck    = "member.ack"
	ProjectAck   = "project.ack"
	ProjectLink  = "project.link"
	// Remote operations that are not a read or write of one key: a sync
	// that stopped before changing anything (a conflict, a denial), and a
	// lease's renewal and revocation.
	SyncPull    = "sync.pull"
	SyncPush    = "sync.push"
	LeaseRenew  = "lease.renew"
	LeaseRevoke = "lease.revoke"
	// A rotation at the credential's source (package rotate), one line
	// per phase: begun (journal written), created at the source, stored
	// (beside the secret.write lines), pushed, verified, retired. The
	// line's source names the provider, its detail what the phase did.
	RotateBegin  = "rotate.begin"
	RotateCreate = "rotate.create"
	RotateStore  = "rotate.store"
	RotatePush   = "rotate.push"
	RotateVerify = "rotate.verify"
	RotateRetire = "rotate.retire"
	// AuditRollback records, before the next append, that the log and its
	// anchor were found behind the witness: restored from an older copy,
	// or deleted and started afresh.
	AuditRollback = "audit.rollback"
	// The inbox of values proposed by contributors who are not members
	// (hush set --contribute, hush inbox): a contribution written, the
	// drops listed (decrypted), a drop rejected. An accepted drop is a
	// secret.write naming the contributor in its detail.
	InboxContribute = "inbox.contribute"
	InboxList       = "inbox.list"
	InboxReject     = "inbox.reject"
	// EnvInherit is an environment made to inherit from another, or from
	// none (hush env inherit).
	EnvInherit = "env.inherit"
	// A value sent to a CI service's secret variables (hush ci push:
	// GitHub Actions secrets, GitLab CI/CD variables), and a variable
	// deleted there (--prune). The line's source is the destination's API
	// URL, its detail the variable's name there; never the value.
	CIPush   = "ci.push"
	CIDelete = "ci.delete"
	// KMSWrap and KMSUnwrap are a store's file key wrapped or unwrapped by
	// a key service (a KMS recipient: Vault transit, AWS KMS), one line per
	// request, the recipient in the detail.
	KMSWrap   = "kms.wrap"
	KMSUnwrap = "kms.unwrap"
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
	// Witnesses keep a copy of each anchor, with its counter, outside the
	// log's directory (see witness.go).
	Witnesses []Witness
	// Sync makes every append durable before it returns: fsync of the
	// log, then of the anchor, then of the file witness (a directory only
	// when a file is new), in that order, so after a power loss the
	// witness is never ahead of the anchor nor the anchor ahead of the log.
	//
	// Without it (the default) contract 4 still holds in this form: the
	// line is written — write(2) of the whole batch returned, under the
	// lock — before any value is released, so every process, a kill -9 of
	// hush and a crash of hush itself see it, and a failure to write it
	// fails the command. What it does not survive is the kernel losing
	// its page cache (power loss, kernel panic) within the writeback
	// window (ext4 commits every 5 s): the last lines can then be missing.
	// Verify reports that when the anchor or witness survived ahead of the
	// log; when they were lost with it, the log reads as its older,
	// consistent state. Someone who can cut the machine's power
	// at will, to erase the record of a read they made, has the disk in
	// hand and is outside what a user-owned log can defend against (README,
	// "The audit log against yourself"). Against that, one fsync costs
	// 1.3-2.5 ms on this disk and the three cost more than everything
	// else a read does; HUSH_AUDIT_SYNC=1 is for machines where the
	// window matters more.
	Sync bool
	// Appended, when set, receives the lines of each batch exactly as
	// written (sealed, newline-terminated) after the append succeeded,
	// while the log's lock is still held, so a receiver sees batches in
	// the log's order: the forwarding spool (store/audit/forward).
	Appended func(lines []byte)

	// write, when set, replaces (*os.File).Write for the batch: tests
	// inject failing and short writes with it.
	write func(f *os.File, b []byte) (int, error)
}

// DefaultMaxSize is when the live log rotates: 16 MiB, about 50,000 lines.
const DefaultMaxSize = 16 << 20

// Append writes entries as one batch, under an exclusive lock on a separate
// lock file, to a file opened append-only without following symlinks and
// created 0600. Every entry gets the chain hash of the line before it. An
// error here must fail the command that caused it (DESIGN.md contract 4).
//
// A batch is all or nothing: when the write fails part way (disk full,
// quota, RLIMIT_FSIZE, a short write) or the anchor cannot be refreshed,
// the file is cut back to where the batch started, so no torn line is
// left for every later command to trip over.
func (l *Log) Append(entries ...Entry) error {
	if len(entries) == 0 {
		return nil
	}
	unlock, err := l.lock()
	if err != nil {
		return err
	}
	defer unlock()
	err = l.appendLocked(entries)
	if isNoSpace(err) && l.release() {
		// The disk filled since Writable: the ballast's room is for this.
		err = l.appendLocked(entries)
	}
	return err
}

// lock takes the log's exclusive lock.
func (l *Log) lock() (unlock func(), err error) {
	if err := os.MkdirAll(filepath.Dir(l.Path), 0o700); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	lf, err := os.OpenFile(l.Path+".lock", os.O_RDWR|os.O_CREATE|store.ONoFollow, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit: lock: %w", err)
	}
	if err = store.LockExclusive(lf); err != nil {
		lf.Close()
		return nil, fmt.Errorf("audit: lock: %w", err)
	}
	return func() { lf.Close() }, nil
}

// openLive opens the live log for appending, refusing a symlink or
// anything but a regular file.
func (l *Log) openLive(flags int) (*os.File, os.FileInfo, error) {
	f, err := os.OpenFile(l.Path, os.O_RDWR|os.O_APPEND|os.O_CREATE|store.ONoFollow|flags, 0o600)
	if err != nil {
		if store.IsSymlinkError(err) {
			return nil, nil, fmt.Errorf("audit: %s is a symlink; refusing to write", l.Path)
		}
		return nil, nil, fmt.Errorf("audit: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("audit: %w", err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("audit: %s is not a regular file", l.Path)
	}
	return f, st, nil
}

func (l *Log) appendLocked(entries []Entry) error {
	f, st, err := l.openLive(0)
	if err != nil {
		return err
	}
	defer func() { f.Close() }()
	size := st.Size()
	prev, err := l.lastHash(f, st)
	if err != nil {
		return err
	}
	maxSize := l.MaxSize
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	archived := ""
	if size >= maxSize {
		f.Close()
		if archived, err = l.rotate(); err != nil {
			return err
		}
		if f, _, err = l.openLive(os.O_EXCL); err != nil {
			return l.unrotate(archived, err)
		}
		size = 0
	}
	// fail cuts a failed batch back and, when this append rotated the
	// log, undoes the rotation: an empty live log after archived segments
	// would restart the chain.
	fail := func(cause error) error {
		err := l.cutBack(f, size, cause)
		if archived != "" {
			return l.unrotate(archived, err)
		}
		return err
	}
	var seq int64
	var oldAnchor []byte
	if l.AnchorKey != nil {
		var note *Entry
		seq, oldAnchor, note = l.nextSeq(entries[0])
		if note != nil {
			entries = append([]Entry{*note}, entries...)
		}
	}
	var buf bytes.Buffer
	buf.Grow(len(entries) * 400)
	for _, e := range entries {
		prev = sealTo(&buf, e, prev)
	}
	// One write of the whole batch: with O_APPEND and the lock, lines of
	// concurrent writers never interleave.
	write := l.write
	if write == nil {
		write = (*os.File).Write
	}
	n, err := write(f, buf.Bytes())
	if err == nil && n < buf.Len() {
		err = io.ErrShortWrite
	}
	if err != nil {
		return fail(fmt.Errorf("audit: write: %w", err))
	}
	if l.Sync {
		if err := f.Sync(); err != nil {
			return fail(fmt.Errorf("audit: sync: %w", err))
		}
	}
	if l.AnchorKey != nil {
		if err := l.writeAnchor(l.AnchorKey, size+int64(buf.Len()), prev, seq, oldAnchor, l.Sync); err != nil {
			// The anchor still covers the old end; cutting the lines it
			// does not cover keeps the two in agreement.
			return fail(fmt.Errorf("audit: anchor: %w", err))
		}
	}
	if l.Appended != nil {
		l.Appended(buf.Bytes())
	}
	return nil
}

// unrotate puts the segment archived by a failed append back as the live
// log, and returns cause (with its own failure, if any).
func (l *Log) unrotate(archived string, cause error) error {
	if err := os.Remove(l.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w; undoing the rotation failed too (%v)", cause, err)
	}
	if err := os.Rename(archived, l.Path); err != nil {
		return fmt.Errorf("%w; undoing the rotation failed too (%v)", cause, err)
	}
	return cause
}

// cutBack truncates the live log to size, where a failed batch started,
// and returns cause (with the truncation's own failure, if any).
func (l *Log) cutBack(f *os.File, size int64, cause error) error {
	terr := f.Truncate(size)
	if terr == nil && l.Sync {
		terr = f.Sync()
	}
	if terr != nil {
		return fmt.Errorf("%w; cutting the torn line back failed too (%v): run hush audit repair", cause, terr)
	}
	return cause
}

// Writable checks that the log can be appended to, without writing: it
// can be opened for appending and does not end in a torn line. Commands
// that change a store call it first, so a broken log stops them before the
// change rather than after it.
func (l *Log) Writable() error {
	if err := os.MkdirAll(filepath.Dir(l.Path), 0o700); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	f, st, err := l.openLive(0)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err = l.lastHash(f, st); err != nil {
		return err
	}
	return l.reserve()
}

// sealTo appends e's line, chained after prev, to buf and returns its
// hash. The JSON is written by hand, in Entry's field order: a line of
// hush run names up to thousands of keys, and encoding/json costs several
// microseconds a line. TestSealMatchesEncodingJSON keeps the two equal.
func sealTo(buf *bytes.Buffer, e Entry, prev string) string {
	start := buf.Len()
	b := buf.AvailableBuffer()
	b = append(b, `{"timestamp":"`...)
	b = e.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","action":`...)
	b = appendJSONString(b, e.Action)
	b = append(b, `,"path":`...)
	b = appendJSONString(b, e.Path)
	if e.Identity != "" {
		b = append(b, `,"identity":`...)
		b = appendJSONString(b, e.Identity)
	}
	if e.User != "" {
		b = append(b, `,"user":`...)
		b = appendJSONString(b, e.User)
	}
	b = append(b, `,"pid":`...)
	b = strconv.AppendInt(b, int64(e.PID), 10)
	b = append(b, `,"command":`...)
	b = appendJSONString(b, e.Command)
	b = append(b, `,"success":`...)
	b = strconv.AppendBool(b, e.Success)
	if e.Error != "" {
		b = append(b, `,"error":`...)
		b = appendJSONString(b, e.Error)
	}
	if e.Detail != "" {
		b = append(b, `,"detail":`...)
		b = appendJSONString(b, e.Detail)
	}
	if len(e.Keys) > 0 {
		b = append(b, `,"keys":[`...)
		for i, k := range e.Keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
		}
		b = append(b, ']')
	}
	for _, f := range [...]struct{ name, v string }{{`,"host":`, e.Host}, {`,"version":`, e.Version}, {`,"source":`, e.Source}, {`,"lease":`, e.Lease},
		{`,"request_id":`, e.RequestID}, {`,"remote_request_id":`, e.RemoteRequestID}} {
		if f.v != "" {
			b = append(b, f.name...)
			b = appendJSONString(b, f.v)
		}
	}
	b = append(b, `,"prev":"`...)
	b = append(b, prev...)
	b = append(b, '"')
	buf.Write(b)
	hash := chainHash(prev, buf.Bytes()[start:])
	buf.WriteString(`,"hash":"`)
	buf.WriteString(hash)
	buf.WriteString("\"}\n")
	return hash
}

// appendJSONString quotes s as encoding/json does with HTML escaping on
// (its default), so hand-written lines equal json.Marshal's.
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

func chainHash(prev string, body []byte) string {
	h := sha256.New()
	h.Write([]byte(prev))
	h.Write([]byte{'\n'})
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// lastHash returns the hash of the last line of the live log f (genesis
// when it is empty), reading only the file's tail. A log that does not end
// in a newline ends in a torn line: a *TornError, which `hush audit
// repair` fixes.
//
// An empty live log after archived segments restarts at genesis, and
// verify reports the break: that is what deleting the live log looks like.
// hush itself never leaves one (a failed append after a rotation undoes
// the rotation).
func (l *Log) lastHash(f *os.File, st os.FileInfo) (string, error) {
	size := st.Size()
	if size == 0 {
		return genesis, nil
	}
	// Unchanged since the last read: the same file (device and inode), the
	// same size and modification time. Every writer appends, so each of
	// its writes changes the size; a rotation is another inode.
	tails.Lock()
	defer tails.Unlock()
	if t, ok := tails.m[l.Path]; ok && os.SameFile(t.st, st) && t.st.Size() == size && t.st.ModTime().Equal(st.ModTime()) {
		return t.hash, nil
	}
	h, err := l.readLastHash(f, size)
	if err == nil {
		if tails.m == nil {
			tails.m = map[string]tail{}
		}
		tails.m[l.Path] = tail{st, h}
	}
	return h, err
}

// tails are the last lines' hashes as lastHash last read them, with the
// file it read, by path: Writable and the append after it read the same
// tail (up to 64 KiB; a hush run's line at 1,000 keys is 15) unless the
// file changed in between.
var tails struct {
	gosync.Mutex
	m map[string]tail
}

type tail struct {
	st   os.FileInfo
	hash string
}

func (l *Log) readLastHash(f *os.File, size int64) (string, error) {
	const tail = 64 << 10
	off := max(size-tail, 0)
	buf := make([]byte, size-off)
	if _, err := f.ReadAt(buf, off); err != nil && err != io.EOF {
		return "", fmt.Errorf("audit: read: %w", err)
	}
	if buf[len(buf)-1] != '\n' {
		i := bytes.LastIndexByte(buf, '\n') + 1
		start := off + int64(i)
		if i == 0 && off > 0 {
			// A torn tail longer than the window: find where it starts.
			if start, err := lastNewline(f, off); err == nil {
				return "", &TornError{Path: l.Path, Offset: start, Len: int(size - start), Looks: looks(buf)}
			}
			return "", fmt.Errorf("%w: last line longer than %d bytes", ErrChain, tail)
		}
		return "", &TornError{Path: l.Path, Offset: start, Len: len(buf) - i, Looks: looks(buf[i:])}
	}
	buf = buf[:len(buf)-1]
	if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
		buf = buf[i+1:]
	} else if off > 0 {
		// A last line longer than the window (a hush run naming
		// thousands of keys): read it whole, up to a bound.
		start, err := lastNewline(f, off)
		if err != nil {
			return "", fmt.Errorf("audit: read: %w", err)
		}
		if size-start > maxLine {
			return "", fmt.Errorf("%w: last line longer than %d bytes", ErrChain, maxLine)
		}
		buf = make([]byte, size-1-start)
		if _, err := f.ReadAt(buf, start); err != nil && err != io.EOF {
			return "", fmt.Errorf("audit: read: %w", err)
		}
	}
	_, h, err := splitLine(buf)
	if err != nil {
		return "", fmt.Errorf("%w: last line: %v (run hush audit verify)", ErrChain, err)
	}
	return h, nil
}

// lastNewline returns the offset just after the last newline of f before
// end (0 when there is none), reading backwards.
func lastNewline(f *os.File, end int64) (int64, error) {
	buf := make([]byte, 64<<10)
	for end > 0 {
		off := max(end-int64(len(buf)), 0)
		b := buf[:end-off]
		if _, err := f.ReadAt(b, off); err != nil && err != io.EOF {
			return 0, err
		}
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
			return off + int64(i) + 1, nil
		}
		end = off
	}
	return 0, nil
}

// TornError says the live log ends in bytes after its last newline: an
// append cut short by a crash or power loss (hush itself cuts back a write
// that fails), or bytes someone else added. It wraps ErrChain. It never
// holds the bytes themselves.
type TornError struct {
	Path string
	// Line is the torn line's number when known (audit verify), else 0.
	Line   int
	Offset int64 // where the torn line starts
	Len    int   // its length in bytes
	Looks  string
}

func (e *TornError) Error() string {
	at := ""
	if e.Line > 0 {
		at = fmt.Sprintf(" at line %d", e.Line)
	}
	return fmt.Sprintf("%v%s: torn last line at byte %d: %d bytes without a newline (%s)", ErrChain, at, e.Offset, e.Len, e.Looks)
}

func (e *TornError) Unwrap() error { return ErrChain }

// looks describes a torn line without quoting it.
func looks(b []byte) string {
	switch {
	case len(bytes.Trim(b, "\x00")) == 0:
		return "NUL bytes: space the file system allocated but never wrote, typical of a power loss"
	case bytes.HasPrefix(b, []byte(`{"timestamp":"`)):
		return "the start of an audit line, cut short"
	}
	return "not the start of an audit line"
}

// maxLine bounds one line: far above what hush writes (a run naming
// 100,000 keys of 64 characters).
const maxLine = 8 << 20

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
	var off int64
	for lineNo := 1; ; lineNo++ {
		line, err := br.ReadBytes('\n')
		start := off
		off += int64(len(line))
		if err == io.EOF && len(line) == 0 {
			return nil
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("audit: read: %w", err)
		}
		if err == io.EOF {
			return &TornError{Line: lineNo, Offset: start, Len: len(line), Looks: looks(line)}
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
