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
