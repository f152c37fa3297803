package audit

import (
	"bytes"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/store"
)

// The anchor sits next to the log, so whoever replaces the log can replace
// or delete the anchor with it: delete both, or restore both from an older
// copy, and the anchor alone cannot tell. The witness closes that gap: a
// copy of the anchor, with a counter that grows by one at every anchored
// append, kept where the log is not (the OS keyring when it answers, and
// always a file in the personal data directory). Verification then finds
//
//   - a log and anchor rolled back to an older copy: the witness's counter
//     is ahead of the anchor's;
//   - a log deleted or replaced together with its anchor: the witness
//     records appends the log no longer has.
//
// What it cannot find is in README.md ("The audit log against yourself").

// Witness keeps the latest anchor outside the log's directory. Load
// returns nil and no error when it holds none.
type Witness interface {
	Load() ([]byte, error)
	Store(b []byte, durable bool) error
	// Name says where it keeps the anchor, for messages.
	Name() string
	// Optional witnesses (the keyring) may fail to answer; their failure
	// neither fails an append nor hides the others.
	Optional() bool
}

// FileWitness keeps the witness in a file, in another directory than the
// log (the personal data directory). The file holds two fixed-size slots
// written in place, alternately by the counter's parity: no temporary
// file and no rename on every append (on a busy disk the rename of the
// anchor alone costs a millisecond), and a write torn by a crash spoils
// only the newer slot, leaving the older one a valid witness one append
// behind, which verification accepts.
type FileWitness struct{ Path string }

// witnessSlot is the size of one slot: an anchor's JSON padded with
// spaces and ended by a newline.
const witnessSlot = 512

func (w FileWitness) Name() string   { return w.Path }
func (w FileWitness) Optional() bool { return false }

// Load returns the slot with the higher counter among those that parse.
// Whether it is authentic is the caller's check: a slot someone forged
// with a higher counter is returned, and fails it.
func (w FileWitness) Load() ([]byte, error) {
	best, _, err := loadSlots(w.Path)
	if errors.Is(err, errNoRecord) {
		return nil, fmt.Errorf("%w: the audit witness %s holds no valid record", ErrChain, w.Path)
	}
	if errors.Is(err, errTooLarge) {
		return nil, fmt.Errorf("%w: the audit witness %s is larger than hush writes it", ErrChain, w.Path)
	}
	return best, err
}

func (w FileWitness) Store(b []byte, durable bool) error { return storeSlots(w.Path, b, durable) }

var (
	errNoRecord = errors.New("no valid record")
	errTooLarge = errors.New("larger than hush writes it")
)

// loadSlots reads a two-slot file (the witness; the anchor, which uses
// the first slot only): the record
// of the slot with the higher counter among those that parse, and the
// file's whole bytes (to put back when an append fails). A file that does
// not exist is (nil, nil, nil). A single record of the format before slots
// (an anchor of older hush: one JSON line) reads as slot 0.
func loadSlots(path string) (best, raw []byte, err error) {
	f, err := os.OpenFile(path, os.O_RDONLY|store.ONoFollow, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	buf := make([]byte, 2*witnessSlot+1)
	n, err := f.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, err
	}
	if n > 2*witnessSlot {
		return nil, nil, errTooLarge
	}
	var bestSeq int64 = -1
	for i := 0; i*witnessSlot < n; i++ {
		slot := bytes.TrimRight(buf[i*witnessSlot:min((i+1)*witnessSlot, n)], " \n\x00")
		var a anchor
		if len(slot) == 0 || json.Unmarshal(slot, &a) != nil {
			continue
		}
		if a.Seq > bestSeq {
			best, bestSeq = slot, a.Seq
		}
	}
	if best == nil && n > 0 {
		return nil, buf[:n], errNoRecord
	}
	return best, buf[:n], nil
}

// padSlot is record b padded with spaces to one slot, ending in a newline.
func padSlot(what string, b []byte) ([]byte, error) {
	if len(b) >= witnessSlot {
		return nil, fmt.Errorf("%s record of %d bytes is too long", what, len(b))
	}
	slot := bytes.Repeat([]byte{' '}, witnessSlot)
	copy(slot, b)
	slot[witnessSlot-1] = '\n'
	return slot, nil
}

// openRecordFile opens (creating) the regular file a record is written
// into in place, never through a link.
func openRecordFile(path string) (*os.File, os.FileInfo, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|store.ONoFollow, 0o600)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("%s is not a regular file", path)
	}
	return f, st, nil
}

// storeSlots writes record b (an anchor's JSON) into its slot of the
// two-slot witness file, in place: a write torn by a crash spoils only
// the newer slot, leaving the older one valid, one append behind.
func storeSlots(path string, b []byte, durable bool) error {
	var a anchor
	if err := json.Unmarshal(b, &a); err != nil {
		return err
	}
	slot, err := padSlot("witness", bytes.TrimRight(b, "\n"))
	if err != nil {
		return err
	}
	f, st, err := openRecordFile(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.WriteAt(slot, (a.Seq%2)*witnessSlot); err != nil {
		return err
	}
	// The other slot must hold the previous append or less. When it holds
	// more (written by another identity, whose counter this one does not
	// continue) or nothing valid, it gets this record too; otherwise Load
	// would keep returning it.
	other := make([]byte, witnessSlot)
	n, _ := f.ReadAt(other, (1-a.Seq%2)*witnessSlot)
	var o anchor
	if n > 0 && (json.Unmarshal(bytes.TrimRight(other[:n], " \n\x00"), &o) != nil || o.Seq >= a.Seq) {
		if _, err := f.WriteAt(slot, (1-a.Seq%2)*witnessSlot); err != nil {
			return err
		}
	}
	if !durable {
		return nil
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if st.Size() == 0 {
		// A new file: its name must survive a power loss too.
		return store.SyncDir(filepath.Dir(path))
	}
	return nil
}

// storeRecord writes record b, padded with spaces to one slot, in place
// at the start of the file at path (the anchor), cutting off anything
// after it (an anchor of older hush, one line, is shorter).
func storeRecord(path string, b []byte, durable bool) error {
	slot, err := padSlot("anchor", b)
	if err != nil {
		return err
	}
	f, st, err := openRecordFile(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.WriteAt(slot, 0); err != nil {
		return err
	}
	if st.Size() > witnessSlot {
		if err := f.Truncate(witnessSlot); err != nil {
			return err
		}
	}
	if !durable {
		return nil
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if st.Size() == 0 {
		return store.SyncDir(filepath.Dir(path))
	}
	return nil
}

// putBack restores a file written in place (the anchor) to raw, its bytes before a failed
// append (nil: it did not exist).
func putBack(path string, raw []byte, durable bool) {
	if raw == nil {
		os.Remove(path)
		return
	}
	f, err := os.OpenFile(path, os.O_RDWR|store.ONoFollow, 0)
	if err != nil {
		return
	}
	defer f.Close()
	if _, err := f.WriteAt(raw, 0); err == nil && f.Truncate(int64(len(raw))) == nil && durable {
		f.Sync()
	}
}

// KeyringWitness keeps the witness in the OS keyring under service "hush".
// Once the keyring failed to answer, the witness stops asking it for the
// rest of the process: a hanging D-Bus must cost one timeout per command,
// not one per call.
type KeyringWitness struct {
	Keyring crypt.Keyring
	User    string
	dead    *atomic.Bool
}

// NewKeyringWitness returns a keyring witness for the log at user.
func NewKeyringWitness(k crypt.Keyring, user string) KeyringWitness {
	return KeyringWitness{Keyring: k, User: user, dead: new(atomic.Bool)}
}

func (w KeyringWitness) Name() string   { return "the OS keyring (" + w.User + ")" }
func (w KeyringWitness) Optional() bool { return true }

func (w KeyringWitness) failed(err error) error {
	if w.dead != nil && err != nil && !errors.Is(err, crypt.ErrKeyringNotFound) {
		w.dead.Store(true)
	}
	return err
}

func (w KeyringWitness) Load() ([]byte, error) {
	if w.dead != nil && w.dead.Load() {
		return nil, crypt.ErrKeyringUnavailable
	}
	s, err := w.Keyring.Get(crypt.KeyringService, w.User)
	if errors.Is(err, crypt.ErrKeyringNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, w.failed(err)
	}
	return []byte(s), nil
}

func (w KeyringWitness) Store(b []byte, _ bool) error {
	if w.dead != nil && w.dead.Load() {
		return crypt.ErrKeyringUnavailable
	}
	return w.failed(w.Keyring.Set(crypt.KeyringService, w.User, string(b)))
}

// witnessed is the most advanced authentic anchor the witnesses hold.
type witnessed struct {
	a     *anchor
	where string
}

// loadWitness returns the witness copy with the highest counter. A copy
// that is not authentic for key is an error: someone wrote it who does not
// hold the identity. An optional witness that does not answer is skipped.
func (l *Log) loadWitness(key []byte) (witnessed, error) {
	var best witnessed
	for _, w := range l.Witnesses {
		b, err := w.Load()
		if err != nil {
			if w.Optional() {
				continue
			}
			return best, fmt.Errorf("audit: witness %s: %w", w.Name(), err)
		}
		if b == nil {
			continue
		}
		var a anchor
		if json.Unmarshal(b, &a) != nil || a.Seq == 0 || !hmac.Equal([]byte(a.MAC), []byte(a.mac(key))) {
			return best, fmt.Errorf("%w: the audit witness in %s is not authentic for your identity (forged, or written with another identity)", ErrChain, w.Name())
		}
		if best.a == nil || a.Seq > best.a.Seq {
			best = witnessed{a: &a, where: w.Name()}
		}
	}
	return best, nil
}

// storeWitness writes b to every witness. A required witness that fails
// fails the append.
func (l *Log) storeWitness(b []byte, durable bool) error {
	for _, w := range l.Witnesses {
		if err := w.Store(b, durable); err != nil && !w.Optional() {
			return fmt.Errorf("witness %s: %w", w.Name(), err)
		}
	}
	return nil
}

// readAnchor reads the anchor and the file's bytes; nil when there is
// none.
func (l *Log) readAnchor(key []byte) (*anchor, []byte, error) {
	ab, raw, err := loadSlots(l.anchorPath())
	if errors.Is(err, errNoRecord) {
		return nil, raw, fmt.Errorf("%w: the anchor is not authentic for your identity (forged, or written with another identity)", ErrChain)
	}
	if errors.Is(err, errTooLarge) {
		return nil, nil, fmt.Errorf("%w: the anchor %s is larger than hush writes it", ErrChain, l.anchorPath())
	}
	if err != nil || ab == nil {
		return nil, raw, err
	}
	var a anchor
	if json.Unmarshal(ab, &a) != nil || !hmac.Equal([]byte(a.MAC), []byte(a.mac(key))) {
		return nil, raw, fmt.Errorf("%w: the anchor is not authentic for your identity (forged, or written with another identity)", ErrChain)
	}
	return &a, raw, nil
}

// nextSeq returns the counter of the append about to be anchored, the
// anchor's current bytes (to put back if the append fails), and, when the
// witness is ahead of the anchor, an AuditRollback entry to record before
// the batch: the append must not silently move the anchor past a
// rollback, and must not fail either (every command would then refuse to
// run until the user repaired a log an attacker broke).
//
// Copies that are not authentic for this key are ignored here (another
// identity wrote them; verify reports them).
func (l *Log) nextSeq(like Entry) (int64, []byte, *Entry) {
	key := l.AnchorKey
	var cur int64
	var found bool
	a, old, err := l.readAnchor(key)
	if err == nil && a != nil {
		cur, found = a.Seq, true
	}
	var best witnessed
	for _, w := range l.Witnesses {
		b, err := w.Load()
		if err != nil || b == nil {
			continue
		}
		var wa anchor
		if json.Unmarshal(b, &wa) != nil || wa.Seq == 0 || !hmac.Equal([]byte(wa.MAC), []byte(wa.mac(key))) {
			continue
		}
		if best.a == nil || wa.Seq > best.a.Seq {
			best = witnessed{a: &wa, where: w.Name()}
		}
	}
	if best.a == nil || best.a.Seq <= cur {
		return cur + 1, old, nil
	}
	state := fmt.Sprintf("the anchor is at append %d", cur)
	if !found {
		state = "the anchor is missing"
	}
	e := like
	e.Action, e.Path, e.Success, e.Error = AuditRollback, filepath.Base(l.Path), false, ""
	e.Keys, e.Source, e.Lease, e.RequestID, e.RemoteRequestID = nil, "", "", "", ""
	e.Detail = fmt.Sprintf("the log was behind its witness in %s: the witness records append %d, %s: the log was rolled back to an older copy, or deleted and restarted", best.where, best.a.Seq, state)
	return best.a.Seq + 1, old, &e
}
