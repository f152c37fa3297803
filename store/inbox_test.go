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

func TestDropRoundTrip(t *testing.T) {
	t.Parallel()
	p, id := newProject(t)
	rcpts := p.Config.Environments["dev"].Recipients
	value := "bin\x00ary\xff value"
	did, path, err := p.WriteDrop(&Drop{Environment: "dev", Key: "API_KEY", Value: Value(value), Contributor: "carol", Created: time.Unix(1e9, 0)}, rcpts)
	if err != nil {
		t.Fatal(err)
	}
	if path != p.DropPath("dev", did) {
		t.Fatalf("path %s, want %s", path, p.DropPath("dev", did))
	}
	ct, _ := os.ReadFile(path)
	if strings.Contains(string(ct), "API_KEY") || strings.Contains(string(ct), "carol") {
		t.Fatal("the drop file shows its key or contributor in clear")
	}
	ids, other, err := p.DropIDs("dev")
	if err != nil || len(ids) != 1 || ids[0] != did || len(other) != 0 {
		t.Fatalf("DropIDs = %v %v %v", ids, other, err)
	}
	d, err := p.ReadDrop("dev", did, id)
	if err != nil {
		t.Fatal(err)
	}
	if d.Key != "API_KEY" || d.Value.Reveal() != value || d.Contributor != "carol" || !d.Created.Equal(time.Unix(1e9, 0)) {
		t.Fatalf("drop read back as %+v", d)
	}
	// Someone else cannot read it.
	other2, _ := crypt.Generate()
	if _, err := p.ReadDrop("dev", did, other2); !errors.Is(err, ErrNoIdentity) {
		t.Fatalf("ReadDrop with another identity = %v", err)
	}
	if err := p.RemoveDrop("dev", did); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(p.Dir(), InboxDirName)); !os.IsNotExist(err) {
		t.Fatalf("the empty inbox stays: %v", err)
	}
}

// TestDropRefusals: a drop moved between inboxes, a store put in the
// inbox, a bad id, a planted link instead of the inbox.
func TestDropRefusals(t *testing.T) {
	t.Parallel()
	p, id := newProject(t)
	rcpts := p.Config.Environments["prod"].Recipients
	did, path, err := p.WriteDrop(&Drop{Environment: "prod", Key: "K", Value: "v", Contributor: "c"}, rcpts)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(p.InboxDir("dev"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path, p.DropPath("dev", did)); err != nil {
		t.Fatal(err)
	}
	if _, err := p.ReadDrop("dev", did, id); !errors.Is(err, ErrIntegrity) || !strings.Contains(err.Error(), "was it moved") {
		t.Fatalf("a moved drop = %v", err)
	}
	// An old drop copied under a new name.
	renamed := "fedcba9876543210"
	b0, _ := os.ReadFile(p.DropPath("dev", did))
	if err := os.WriteFile(p.DropPath("dev", renamed), b0, 0o600); err != nil {
		t.Fatal(err)
	}
	// A team store is an age file to the same recipients, but no drop.
	set(t, p, id, "dev", Team, "K", "v")
	b, _ := os.ReadFile(p.TeamPath("dev"))
	fake := "0123456789abcdef"
	if err := os.WriteFile(p.DropPath("dev", fake), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := p.ReadDrop("dev", fake, id); !errors.Is(err, ErrIntegrity) {
		t.Fatalf("a store as a drop = %v", err)
	}
	for _, bad := range []string{"../x", "0123456789ABCDEF", "short", ""} {
		if _, err := p.ReadDrop("dev", bad, id); !errors.Is(err, ErrInvalid) {
			t.Errorf("ReadDrop(%q) = %v", bad, err)
		}
	}
	if _, err := p.ReadDrop("dev", renamed, id); !errors.Is(err, ErrIntegrity) || !strings.Contains(err.Error(), "renamed") {
		t.Fatalf("a renamed drop = %v", err)
	}
	// A planted link in place of the inbox.
	p2, _ := newProject(t)
	elsewhere := t.TempDir()
	if err := os.Symlink(elsewhere, filepath.Join(p2.Dir(), InboxDirName)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := p2.WriteDrop(&Drop{Environment: "dev", Key: "K", Value: "v", Contributor: "c"}, p2.Config.Environments["dev"].Recipients); !errors.Is(err, ErrUnsafe) {
		t.Fatalf("WriteDrop through a planted link = %v", err)
	}
	if ents, _ := os.ReadDir(elsewhere); len(ents) != 0 {
		t.Fatalf("written through the link: %v", ents)
	}
	if _, _, err := p2.DropIDs("dev"); !errors.Is(err, ErrUnsafe) {
		t.Fatalf("DropIDs through a planted link = %v", err)
	}
}

// TestLineageTrust: a version is trusted when its lineage is pinned, or a
// trusted version names it as replaced; a store of its own lineage, or
// one without, is not.
func TestLineageTrust(t *testing.T) {
	t.Parallel()
	p, id := newProject(t)
	set(t, p, id, "dev", Team, "K", "v")
	cur, err := p.Read("dev", Team, id)
	if err != nil {
		t.Fatal(err)
	}
	old := &Document{Lineage: newLineage()}
	// A member removal since: the current store names old as replaced.
	removal := &Document{Lineage: cur.Lineage, Previous: old.Lineage}
	forged := &Document{Lineage: newLineage()}
	claims := &Document{Lineage: newLineage(), Previous: newLineage()}
	trusted, err := p.LineageTrust("dev", []*Document{cur, removal, old, forged, claims})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		d    *Document
		want bool
	}{
		{"pinned", cur, true}, {"replaced by a pinned one", old, true}, {"of its own", forged, false},
		{"naming an unknown previous", claims, false}, {"without a lineage", &Document{}, false},
	} {
		if got := trusted(tc.d); got != tc.want {
			t.Errorf("%s: trusted = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestFingerprint(t *testing.T) {
	t.Parallel()
	a, b := &Document{Lineage: newLineage()}, &Document{Lineage: newLineage()}
	ka, kb := FingerprintKey(a), FingerprintKey(b)
	if FingerprintKey(&Document{}) != nil {
		t.Fatal("a store without a lineage has a fingerprint key")
	}
	// Same key, same value: same fingerprint (members compare them).
	if Fingerprint(ka, "dev", "K", "1234") != Fingerprint(FingerprintKey(&Document{Lineage: a.Lineage}), "dev", "K", "1234") {
		t.Fatal("one lineage, two fingerprints of one value")
	}
	// Another lineage (a removal since), another key, or another value:
	// another fingerprint; and never the unkeyed hash.
	f := Fingerprint(ka, "dev", "K", "1234")
	for _, g := range []string{Fingerprint(kb, "dev", "K", "1234"), Fingerprint(ka, "dev", "K", "1235"), Fingerprint(ka, "prod", "K", "1234"), Fingerprint(ka, "dev", "L", "1234")} {
		if g == f {
			t.Fatal("fingerprints collide across key, value, environment or lineage")
		}
	}
	if len(f) != 12 {
		t.Fatalf("fingerprint %q", f)
	}
}
