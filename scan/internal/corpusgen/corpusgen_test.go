package corpusgen

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestGenerateDeterministic: one seed, one corpus, and the manifest points
// at the planted lines.
func TestGenerateDeterministic(t *testing.T) {
	t.Parallel()
	a, b := t.TempDir(), t.TempDir()
	ma, err := Generate(Options{Dir: a, Seed: 5, Size: 600 << 10})
	if err != nil {
		t.Fatal(err)
	}
	mb, err := Generate(Options{Dir: b, Seed: 5, Size: 600 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ma, mb) || len(ma.Plants) == 0 || len(ma.Decoys) == 0 {
		t.Fatalf("manifests differ or are empty: %d/%d plants", len(ma.Plants), len(mb.Plants))
	}
	for _, p := range ma.Plants {
		da, _ := os.ReadFile(filepath.Join(a, p.File))
		db, _ := os.ReadFile(filepath.Join(b, p.File))
		if !bytes.Equal(da, db) {
			t.Fatalf("%s differs between runs", p.File)
		}
		lines := strings.Split(string(da), "\n")
		if p.Line > len(lines) || p.Column > len(lines[p.Line-1]) {
			t.Errorf("plant %+v beyond its file", p)
		}
	}
}

func TestScore(t *testing.T) {
	t.Parallel()
	m := Manifest{Plants: []Plant{{File: "a.go", Line: 3, Rule: "x"}, {File: "b.go", Line: 1, Rule: "y"}}}
	s := ScoreFindings("t", m, "/c", []Found{{"/c/a.go", 3}, {"/c/a.go", 3}, {"/c/a.go", 4}, {"./c.go", 9}})
	if s.Found != 1 || s.FalsePos != 2 || s.Recall() != 0.5 || s.PerRule["y"] != [2]int{1, 0} {
		t.Errorf("got %+v", s)
	}
}
