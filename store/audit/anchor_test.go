package audit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

func appendN(t testing.TB, l *Log, n int, identity string) {
	t.Helper()
	for i := 0; i < n; i++ {
		if err := l.Append(Entry{Time: time.Now(), Action: SecretRead, Path: fmt.Sprintf("p/dev/K%d", i), Identity: identity, Success: true}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAnchorFindsTruncationAndRewrite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l := &Log{Path: filepath.Join(dir, "audit.jsonl"), AnchorKey: testKey}
	appendN(t, l, 5, "age1me")
	rep, err := l.VerifyAll(testKey, nil)
	if err != nil || !rep.Anchored || rep.AnchoredLine != 5 || rep.Lines != 5 {
		t.Fatalf("intact: %+v, %v", rep, err)
	}
	orig, _ := os.ReadFile(l.Path)

	// Cut the last two lines: the chain alone still verifies...
	lines := strings.SplitAfter(string(orig), "\n")
	short := strings.Join(lines[:3], "")
	os.WriteFile(l.Path, []byte(short), 0o600)
	if f, _ := l.Open(); f != nil {
		if n, err := Verify(f); err != nil || n != 3 {
			t.Fatalf("chain of a truncated log: %d, %v", n, err)
		}
		f.Close()
	}
	// ...the anchor does not.
	if _, err := l.VerifyAll(testKey, nil); !errors.Is(err, ErrChain) || !strings.Contains(err.Error(), "cut from its end") {
		t.Fatalf("truncated: %v", err)
	}

	// A wholly rewritten, self-consistent log of the same size.
	os.Remove(l.Path)
	forger := &Log{Path: l.Path}
	appendN(t, forger, 5, "age1me")
	if _, err := l.VerifyAll(testKey, nil); !errors.Is(err, ErrChain) {
		t.Fatalf("rewritten: %v", err)
	}

	// A forged anchor (wrong key) is refused.
	os.WriteFile(l.Path, orig, 0o600)
	other := &Log{Path: filepath.Join(dir, "x.jsonl"), AnchorKey: []byte("another key, another identity..")}
	appendN(t, other, 1, "age1x")
	b, _ := os.ReadFile(other.anchorPath())
	os.WriteFile(l.anchorPath()+".bak", mustRead(t, l.anchorPath()), 0o600)
	os.WriteFile(l.anchorPath(), b, 0o600)
	if _, err := l.VerifyAll(testKey, nil); !errors.Is(err, ErrChain) || !strings.Contains(err.Error(), "not authentic") {
		t.Fatalf("forged anchor: %v", err)
	}

	// A deleted anchor is found.
	os.Remove(l.anchorPath())
	if _, err := l.VerifyAll(testKey, nil); !errors.Is(err, ErrChain) || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("missing anchor: %v", err)
	}

	// Lines appended without a key are reported as unanchored, not broken.
	os.Rename(l.anchorPath()+".bak", l.anchorPath())
	appendN(t, &Log{Path: l.Path}, 2, "")
	rep, err = l.VerifyAll(testKey, nil)
	if err != nil || rep.AnchoredLine != 5 || rep.Lines != 7 {
		t.Fatalf("unanchored tail: %+v, %v", rep, err)
	}
}

func mustRead(t testing.TB, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRotationKeepsTheChain(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	l := &Log{Path: filepath.Join(dir, "audit.jsonl"), MaxSize: 1000, AnchorKey: testKey}
	appendN(t, l, 30, "age1me")
	segs, _ := l.segments()
	if len(segs) < 4 {
		t.Fatalf("only %d segments", len(segs))
	}
	var paths []string
	rep, err := l.VerifyAll(testKey, func(_ int, e Entry) error { paths = append(paths, e.Path); return nil })
	if err != nil || rep.Lines != 30 || rep.Segments != len(segs) || !rep.Anchored || rep.AnchoredLine != 30 {
		t.Fatalf("rotated log: %+v, %v", rep, err)
	}
	if paths[0] != "p/dev/K0" || paths[29] != "p/dev/K29" {
		t.Fatalf("order: %v", paths)
	}
	// Deleting a middle segment breaks the chain; so does the first.
	os.Rename(segs[1], segs[1]+".gone")
	if _, err := l.VerifyAll(testKey, nil); !errors.Is(err, ErrChain) {
		t.Fatalf("missing middle segment: %v", err)
	}
	os.Rename(segs[1]+".gone", segs[1])
	os.Rename(segs[0], segs[0]+".gone")
	if _, err := l.VerifyAll(testKey, nil); !errors.Is(err, ErrChain) {
		t.Fatalf("missing first segment: %v", err)
	}
}

// TestFiftyWriters: 50 concurrent writers (each its own file descriptors,
// so flock really arbitrates) leave no torn line and one valid chain.
func TestFiftyWriters(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	var wg sync.WaitGroup
	for w := 0; w < 50; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			l := &Log{Path: path, AnchorKey: testKey}
			for i := 0; i < 10; i++ {
				if err := l.Append(Entry{Action: SecretRead, Path: fmt.Sprintf("p/e/W%d_%d", w, i), Identity: "age1me", Success: true}); err != nil {
					t.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	rep, err := (&Log{Path: path}).VerifyAll(testKey, nil)
	if err != nil || rep.Lines != 500 || !rep.Anchored || rep.AnchoredLine != 500 {
		t.Fatalf("50 writers: %+v, %v", rep, err)
	}
}
