package store

import (
	"errors"
	"testing"
)

func TestMergedLineage(t *testing.T) {
	a, b, c := newLineage(), newLineage(), newLineage()
	doc := func(l, prev string) *Document { return &Document{Lineage: l, Previous: prev} }
	for _, tc := range []struct {
		name          string
		ours, theirs  *Document
		lineage, prev string
		forged        bool
	}{
		{"same", doc(a, ""), doc(a, ""), a, "", false},
		{"theirs removed a member", doc(a, ""), doc(b, a), b, a, false},
		{"ours removed a member", doc(b, a), doc(a, ""), b, a, false},
		{"unrelated", doc(a, ""), doc(b, ""), "", "", true},
		{"theirs claims an unrelated previous", doc(a, ""), doc(b, c), "", "", true},
		{"theirs has none", doc(a, ""), doc("", ""), "", "", true},
		{"ours from before lineages", doc("", ""), doc(b, ""), b, "", false},
	} {
		l, p, err := MergedLineage("dev", tc.ours, tc.theirs)
		var fe *ForgedError
		if tc.forged != errors.As(err, &fe) || tc.forged && !errors.Is(err, ErrIntegrity) {
			t.Errorf("%s: err = %v", tc.name, err)
			continue
		}
		if !tc.forged && (l != tc.lineage || p != tc.prev) {
			t.Errorf("%s: lineage %q/%q, want %q/%q", tc.name, l, p, tc.lineage, tc.prev)
		}
	}
}

// TestLineageRefusesAReplacedStore: a store written by someone who could
// not read the previous one (a new document, a lineage of its own) is
// refused by Read and ReadKey; the members' next write is not; a removal's
// new lineage is followed.
func TestLineageRefusesAReplacedStore(t *testing.T) {
	p, id := newProject(t)
	set(t, p, id, "dev", Team, "K", "v1")
	if _, err := p.ReadKey("dev", Team, id, "K"); err != nil {
		t.Fatal(err)
	}
	// The forger writes a whole new document to the same recipients.
	forged := NewDocument("dev")
	forged.Secrets["K"] = &Secret{Value: "evil"}
	forged.Lineage = newLineage()
	if err := WriteTo(p.TeamPath("dev"), forged, p.Config.Environments["dev"].Recipients); err != nil {
		t.Fatal(err)
	}
	var fe *ForgedError
	if _, err := p.ReadKey("dev", Team, id, "K"); !errors.As(err, &fe) {
		t.Fatalf("ReadKey of a replaced store = %v", err)
	}
	if _, err := p.Read("dev", Team, id); !errors.As(err, &fe) {
		t.Fatalf("Read of a replaced store = %v", err)
	}
	if err := p.Update("dev", Team, id, func(*Document) error { return nil }); !errors.As(err, &fe) {
		t.Fatalf("Update of a replaced store = %v", err)
	}
	if err := p.ForgetLineage("dev"); err != nil {
		t.Fatal(err)
	}
	if sec, err := p.ReadKey("dev", Team, id, "K"); err != nil || sec.Value != "evil" {
		t.Fatalf("after ForgetLineage: %v, %v", sec, err)
	}
}
