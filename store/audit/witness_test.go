package audit

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hush-secrets/hush/crypt"
)

func witnessedLog(t *testing.T) (*Log, string) {
	t.Helper()
	dir := t.TempDir()
	wpath := filepath.Join(dir, "data", "audit.witness")
	return &Log{Path: filepath.Join(dir, "state", "audit.jsonl"), AnchorKey: testKey, Witnesses: []Witness{FileWitness{Path: wpath}}}, wpath
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func wantChain(t *testing.T, l *Log, want string) {
	t.Helper()
	_, err := l.VerifyAll(testKey, nil)
	if !errors.Is(err, ErrChain) || !strings.Contains(err.Error(), want) {
		t.Fatalf("verify: %v; want an ErrChain containing %q", err, want)
	}
}

// A log and its anchor restored together from an older copy verify on
// their own; the witness's counter is ahead and says so.
func TestWitnessFindsRollback(t *testing.T) {
	t.Parallel()
	l, _ := witnessedLog(t)
	appendN(t, l, 3, "age1me")
	copyFile(t, l.Path, l.Path+".bak")
	copyFile(t, l.anchorPath(), l.anchorPath()+".bak")
	appendN(t, l, 2, "age1me")
	rep, err := l.VerifyAll(testKey, nil)
	if err != nil || !rep.Witnessed || rep.Seq != 5 || rep.Lines != 5 {
		t.Fatalf("intact: %+v, %v", rep, err)
	}
	copyFile(t, l.Path+".bak", l.Path)
	copyFile(t, l.anchorPath()+".bak", l.anchorPath())
	// Without the witness this is the old, valid state.
	bare := *l
	bare.Witnesses = nil
	if _, err := bare.VerifyAll(testKey, nil); err != nil {
		t.Fatalf("the old copy on its own: %v", err)
	}
	wantChain(t, l, "append 5 there, 3 in the anchor): they were rolled back")

	// The next append does not launder it: it records the rollback in the
	// chain, and the counter keeps growing from the witness's.
	appendN(t, l, 1, "age1me")
	rep, err = l.VerifyAll(testKey, nil)
	if err != nil || len(rep.Rollbacks) != 1 || rep.Rollbacks[0] != 4 || rep.Seq != 6 {
		t.Fatalf("after the next append: %+v, %v", rep, err)
	}
	var got Entry
	l.VerifyAll(testKey, func(n int, e Entry) error {
		if n == 4 {
			got = e
		}
		return nil
	})
	if got.Action != AuditRollback || got.Success || !strings.Contains(got.Detail, "witness records append 5, the anchor is at append 3") {
		t.Fatalf("rollback line: %+v", got)
	}
}

// Deleting the log and its anchor, or replacing both with a consistent
// forgery written without the identity, is found by the witness.
func TestWitnessFindsWholesaleRewrite(t *testing.T) {
	t.Parallel()
	l, _ := witnessedLog(t)
	appendN(t, l, 4, "age1me")

	os.Remove(l.Path)
	os.Remove(l.anchorPath())
	wantChain(t, l, "records 4 anchored appends: the log was deleted or replaced")

	// A forger without the identity re-chains lines with no identity and
	// leaves no anchor.
	forger := &Log{Path: l.Path}
	appendN(t, forger, 2, "")
	wantChain(t, l, "the anchor "+l.anchorPath()+" is missing, but")

	// With an anchor from elsewhere (another identity's key): refused.
	other := &Log{Path: l.Path, AnchorKey: []byte("another key, another identity..")}
	appendN(t, other, 1, "")
	wantChain(t, l, "not authentic")
}

// A witness deleted while the anchor counts appends is an error; a v1
// anchor (before the witness) verifies, with a note.
func TestWitnessMissing(t *testing.T) {
	t.Parallel()
	l, wpath := witnessedLog(t)
	appendN(t, l, 2, "age1me")
	os.Remove(wpath)
	wantChain(t, l, "the audit witness is missing")

	legacy, _ := witnessedLog(t)
	old := &Log{Path: legacy.Path, AnchorKey: testKey}
	appendN(t, old, 2, "age1me")
	// Strip the counter: what hush wrote before the witness existed.
	a, _, _ := old.readAnchor(testKey)
	if err := old.writeAnchor(testKey, a.Offset, a.Head, 0, nil, false); err != nil {
		t.Fatal(err)
	}
	rep, err := legacy.VerifyAll(testKey, nil)
	if err != nil || !rep.Anchored || rep.Witnessed || !strings.Contains(rep.WitnessNote, "no witness yet") {
		t.Fatalf("v1 anchor: %+v, %v", rep, err)
	}
	appendN(t, legacy, 1, "age1me")
	if rep, err := legacy.VerifyAll(testKey, nil); err != nil || !rep.Witnessed || rep.Seq != 1 {
		t.Fatalf("after the first witnessed append: %+v, %v", rep, err)
	}
}

// Lines stripped of their identity and re-chained, with the anchor gone:
// any history with a witness, or with identity lines, needs the anchor.
func TestMissingAnchorAfterHistory(t *testing.T) {
	t.Parallel()
	l, _ := witnessedLog(t)
	appendN(t, l, 3, "age1me")
	os.Remove(l.anchorPath())
	wantChain(t, l, "is missing, but")

	// No witness either (a log from before it), but identity lines.
	bare := &Log{Path: filepath.Join(t.TempDir(), "audit.jsonl"), AnchorKey: testKey}
	appendN(t, bare, 1, "age1me")
	os.Remove(bare.anchorPath())
	if _, err := bare.VerifyAll(testKey, nil); !errors.Is(err, ErrChain) || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("missing anchor, identity lines: %v", err)
	}
}

type failingWitness struct{}

func (failingWitness) Load() ([]byte, error)    { return nil, errors.New("no D-Bus") }
func (failingWitness) Store([]byte, bool) error { return errors.New("no D-Bus") }
func (failingWitness) Name() string             { return "keyring" }
func (failingWitness) Optional() bool           { return true }

// An optional witness that does not answer neither fails an append nor
// hides the file witness; a required one that cannot be written fails the
// append and leaves log and anchor as they were.
func TestWitnessFailures(t *testing.T) {
	t.Parallel()
	l, wpath := witnessedLog(t)
	l.Witnesses = append([]Witness{failingWitness{}}, l.Witnesses...)
	appendN(t, l, 2, "age1me")
	if rep, err := l.VerifyAll(testKey, nil); err != nil || !rep.Witnessed {
		t.Fatalf("with a dead keyring: %+v, %v", rep, err)
	}
	before, _ := os.ReadFile(l.Path)
	anchorBefore, _ := os.ReadFile(l.anchorPath())
	os.Remove(wpath)
	os.MkdirAll(wpath, 0o700) // the witness path is now a directory: writes fail
	err := l.Append(Entry{Time: time.Now(), Action: SecretRead, Path: "p/dev/X", Identity: "age1me", Success: true})
	if err == nil || !strings.Contains(err.Error(), "witness") {
		t.Fatalf("append with an unwritable witness: %v", err)
	}
	after, _ := os.ReadFile(l.Path)
	anchorAfter, _ := os.ReadFile(l.anchorPath())
	if string(after) != string(before) || string(anchorAfter) != string(anchorBefore) {
		t.Fatal("a failed append changed the log or the anchor")
	}
}

// A crash that tears the newer witness slot leaves the older one: the
// witness is one append behind the anchor, which verifies; a slot forged
// without the key is refused.
func TestWitnessTornSlot(t *testing.T) {
	t.Parallel()
	l, wpath := witnessedLog(t)
	appendN(t, l, 3, "age1me") // seq 3 is in slot 1, seq 2 in slot 0
	f, err := os.OpenFile(wpath, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte(`{"segment":"audit.js`), witnessSlot)
	f.Close()
	if rep, err := l.VerifyAll(testKey, nil); err != nil || !rep.Anchored {
		t.Fatalf("torn newer slot: %+v, %v", rep, err)
	}
	appendN(t, l, 1, "age1me")
	if rep, err := l.VerifyAll(testKey, nil); err != nil || !rep.Witnessed || rep.Seq != 4 {
		t.Fatalf("after the next append: %+v, %v", rep, err)
	}
	forged := []byte(`{"segment":"audit.jsonl","offset":1,"head":"00","seq":99,"mac":"00"}`)
	slot := []byte(strings.Repeat(" ", witnessSlot))
	copy(slot, forged)
	f, _ = os.OpenFile(wpath, os.O_RDWR, 0)
	f.WriteAt(slot, 0)
	f.Close()
	wantChain(t, l, "not authentic")
}

// Switching identities: the old identity's witness is ignored by the new
// one's appends, and after the first of them verify agrees again.
func TestWitnessIdentitySwitch(t *testing.T) {
	t.Parallel()
	l, _ := witnessedLog(t)
	appendN(t, l, 6, "age1old")
	newKey := []byte("the new identity's anchor key...")
	nl := *l
	nl.AnchorKey = newKey
	appendN(t, &nl, 1, "age1new")
	rep, err := nl.VerifyAll(newKey, nil)
	if err != nil || !rep.Witnessed || rep.Seq != 1 {
		t.Fatalf("after switching: %+v, %v", rep, err)
	}
}

// A run naming 10,000 keys is a line longer than the tail lastHash reads
// first: the next append still chains after it.
func TestAppendAfterLongLine(t *testing.T) {
	t.Parallel()
	l, _ := witnessedLog(t)
	keys := make([]string, 10000)
	for i := range keys {
		keys[i] = "SOME_RATHER_LONG_KEY_NAME_" + strings.Repeat("X", 10) + string(rune('A'+i%26))
	}
	if err := l.Append(Entry{Time: time.Now(), Action: SecretRead, Path: "p/dev", Keys: keys, Identity: "age1me", Success: true}); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(l.Path); st.Size() < 128<<10 {
		t.Fatalf("line of %d bytes: not longer than the tail window", st.Size())
	}
	appendN(t, l, 1, "age1me")
	rep, err := l.VerifyAll(testKey, nil)
	if err != nil || rep.Lines != 2 || !rep.Witnessed {
		t.Fatalf("%+v, %v", rep, err)
	}
}

type slowKeyring struct{ calls *int }

func (k slowKeyring) Get(string, string) (string, error) {
	*k.calls++
	return "", crypt.ErrKeyringUnavailable
}
func (k slowKeyring) Set(string, string, string) error {
	*k.calls++
	return crypt.ErrKeyringUnavailable
}
func (k slowKeyring) Delete(string, string) error { return nil }

// A keyring that does not answer is asked once per process, not at every
// load and store.
func TestKeyringWitnessGivesUp(t *testing.T) {
	t.Parallel()
	l, _ := witnessedLog(t)
	calls := 0
	l.Witnesses = append([]Witness{NewKeyringWitness(slowKeyring{&calls}, "w")}, l.Witnesses...)
	appendN(t, l, 3, "age1me")
	if _, err := l.VerifyAll(testKey, nil); err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Fatalf("the dead keyring was asked %d times", calls)
	}
}
