package store

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hush-secrets/hush/crypt"
)

func TestMergedRecipients(t *testing.T) {
	t.Parallel()
	keys := map[string]string{}
	for _, n := range []string{"alice", "bob", "carol", "mallory"} {
		id, err := crypt.Generate()
		if err != nil {
			t.Fatal(err)
		}
		keys[n] = id.Public
	}
	rs := func(names string) []Recipient {
		var out []Recipient
		for _, n := range strings.Fields(names) {
			out = append(out, Recipient{Key: keys[n], Label: n})
		}
		return out
	}
	labels := func(rs []Recipient) string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Label)
		}
		return strings.Join(out, " ")
	}
	const noPin = "-"
	for _, tc := range []struct {
		name                     string
		base, ours, theirs, pins string
		kept, notAcked           string
	}{
		{"unchanged", "alice bob", "alice bob", "alice bob", "alice bob", "alice bob", ""},
		{"removed on our side", "alice bob", "alice", "alice bob", "alice", "alice", ""},
		{"removed on their side, still pinned", "alice bob", "alice bob", "alice", "alice bob", "alice", ""},
		{"removed on both sides", "alice bob", "alice", "alice", "alice", "alice", ""},
		{"added on their side, acknowledged", "alice", "alice", "alice carol", "alice carol", "alice carol", ""},
		{"added on their side, not pinned", "alice", "alice", "alice mallory", "alice", "alice", "mallory"},
		{"added on our side, pinned", "alice", "alice carol", "alice", "alice carol", "alice carol", ""},
		{"on both sides but never pinned", "alice mallory", "alice mallory", "alice mallory", "alice", "alice", "mallory"},
		{"removal by us, re-added by them", "alice bob", "alice", "alice bob", "alice bob", "alice", ""},
		{"removed by them, added by us: a removal wins", "alice bob", "alice bob carol", "alice", "alice bob carol", "alice carol", ""},
		{"no base: both sides added the environment", "", "alice bob", "alice", "alice bob", "alice bob", ""},
		{"no pin: only what both sides have", "alice", "alice carol", "alice mallory", noPin, "alice", "carol mallory"},
		{"no pin: removals still apply", "alice bob", "alice", "alice bob", noPin, "alice", ""},
		{"nobody left", "alice", "bob", "carol", "alice", "", "bob carol"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			havePin := tc.pins != noPin
			var pins []Recipient
			if havePin {
				pins = rs(tc.pins)
			}
			kept, notAcked := MergedRecipients(rs(tc.base), rs(tc.ours), rs(tc.theirs), pins, havePin)
			if got := labels(kept); got != tc.kept {
				t.Errorf("kept %q, want %q", got, tc.kept)
			}
			if got := labels(notAcked); got != tc.notAcked {
				t.Errorf("not acknowledged %q, want %q", got, tc.notAcked)
			}
			// Whatever the sides say, nothing outside the pins.
			if havePin {
				for _, r := range kept {
					if !hasKey(pins, crypt.CanonicalRecipient(r.Key)) {
						t.Errorf("kept %s, which is not pinned", r.Label)
					}
				}
			}
		})
	}
}

func TestDecryptFileRefusesEmpty(t *testing.T) {
	t.Parallel()
	id, err := crypt.Generate()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dev.age")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	doc, err := DecryptFile(path, "dev", id)
	if !errors.Is(err, ErrIntegrity) || doc != nil {
		t.Fatalf("empty file: got %v, %v; want an integrity error and no document", doc, err)
	}
}

// TestPinnedEnvAfterPins: once the pins cover the project, an environment
// that arrived after them has an acknowledged set, and it is empty — so a
// merge of it keeps nobody (and is refused) instead of trusting whatever
// both sides of a pushed history agree on.
func TestPinnedEnvAfterPins(t *testing.T) {
	t.Parallel()
	p, id := newProject(t)
	if _, err := p.Register(time.Now()); err != nil {
		t.Fatal(err)
	}
	if rs, ok, err := p.Pinned("dev"); err != nil || !ok || len(rs) != 1 {
		t.Fatalf("Pinned(dev) = %v, %v, %v; want the one recipient", rs, ok, err)
	}
	mallory, err := crypt.Generate()
	if err != nil {
		t.Fatal(err)
	}
	// The pushed commit adds an environment.
	y := strings.Replace(string(p.Raw()), "environments:\n", "environments:\n  ci:\n    recipients:\n      - key: "+mallory.Public+"\n        label: ci\n      - key: "+id.Public+"\n        label: me\n", 1)
	writeYAML(t, p, y)
	if len(p.Config.Environments["ci"].Recipients) != 2 {
		t.Fatalf("the test's hush.yaml has no environment ci:\n%s", y)
	}
	rs, ok, err := p.Pinned("ci")
	if err != nil || !ok || len(rs) != 0 {
		t.Fatalf("Pinned(ci) = %v, %v, %v; want an empty acknowledged set", rs, ok, err)
	}
	side := p.Config.Environments["ci"].Recipients
	if kept, _ := MergedRecipients(side, side, side, rs, ok); len(kept) != 0 {
		t.Fatalf("a merge of an unacknowledged environment keeps %v", kept)
	}
}

// Their side putting a key back to an older version of itself (a replayed
// blob from history continues the lineage) is a conflict, never a clean
// change; a change of their own that is newer merges as before.
func TestMerge3TheirRollbackIsAConflict(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	old := &Secret{Value: "leaked", Updated: t0, Rotated: t0}
	cur := &Secret{Value: "fresh", Updated: t0.Add(day), Rotated: t0.Add(day)}
	marked := &Secret{Value: "fresh", Updated: t0.Add(day), Rotated: t0.Add(day),
		Exposed: []Exposure{{To: "bob", Since: t0.Add(2 * day)}}}
	compromised := &Secret{Value: "fresh", Updated: t0.Add(day), Rotated: t0.Add(day), Compromised: t0.Add(3 * day)}
	newer := &Secret{Value: "newer", Updated: t0.Add(4 * day), Rotated: t0.Add(4 * day)}
	for _, tc := range []struct {
		name         string
		base, theirs *Secret
		older        bool // a conflict marked Older
	}{
		{"older value replayed", cur, old, true},
		{"exposure mark dropped", marked, cur, true},
		{"compromise mark dropped", compromised, cur, true},
		{"a newer change of theirs", cur, newer, false},
		{"a mark added by theirs", cur, marked, false},
		{"deleted by theirs", cur, nil, false},
	} {
		doc := func(s *Secret) *Document {
			d := NewDocument("dev")
			if s != nil {
				d.Secrets["K"] = s
			}
			return d
		}
		merged, conflicts := Merge3(doc(tc.base), doc(tc.base), doc(tc.theirs), IncomingTheirs)
		if _, c := Merge3(doc(tc.base), doc(tc.base), doc(tc.theirs), IncomingNone); len(c) > 0 {
			t.Errorf("%s: a conflict in a revert, which goes back on purpose", tc.name)
		}
		if _, c := Merge3(doc(tc.base), doc(tc.theirs), doc(tc.base), IncomingOurs); tc.older != (len(c) == 1 && c["K"].Older) {
			t.Errorf("%s: in a rebase (ours incoming) conflicts = %v", tc.name, c)
		}
		c, isConflict := conflicts["K"]
		switch {
		case tc.older && (!isConflict || !c.Older):
			t.Errorf("%s: merged cleanly (conflicts %v), want a conflict marked older", tc.name, conflicts)
		case tc.older && merged.Secrets["K"].Value != tc.base.Value:
			t.Errorf("%s: the merge did not keep ours", tc.name)
		case !tc.older && isConflict:
			t.Errorf("%s: a conflict, want their change taken", tc.name)
		case !tc.older && tc.theirs == nil && merged.Secrets["K"] != nil:
			t.Errorf("%s: their deletion was not taken", tc.name)
		case !tc.older && tc.theirs != nil && merged.Secrets["K"] != tc.theirs:
			t.Errorf("%s: their change was not taken", tc.name)
		}
	}
}
