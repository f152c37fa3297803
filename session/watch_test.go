package session

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func newTestWatcher(paths ...string) *Watcher {
	pl := &RunPlan{}
	pl.watch.add(paths...)
	w := NewWatcher(pl)
	w.Interval, w.Settle = 20*time.Millisecond, 60*time.Millisecond
	return w
}

func waitChange(t *testing.T, w *Watcher, d time.Duration) *Change {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	c, err := w.Wait(ctx)
	if err != nil {
		return nil
	}
	return c
}

// TestWatcherSeesEveryKindOfChange: a write in place, an editor's
// write-and-rename, a file created where there was none and a file
// removed are each a change; the files as they were are none.
func TestWatcherSeesEveryKindOfChange(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	team, personal := filepath.Join(dir, "dev.age"), filepath.Join(dir, "personal.age")
	if err := os.WriteFile(team, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	w := newTestWatcher(team, personal)
	if c := waitChange(t, w, 300*time.Millisecond); c != nil {
		t.Fatalf("no change, got %+v", c)
	}
	// Rename-and-replace, same size: the inode tells.
	tmp := filepath.Join(dir, ".dev.age.tmp")
	if err := os.WriteFile(tmp, []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, team); err != nil {
		t.Fatal(err)
	}
	c := waitChange(t, w, 2*time.Second)
	if c == nil || len(c.Paths) != 1 || c.Paths[0] != team || len(c.Gone) != 0 {
		t.Fatalf("rename: %+v", c)
	}
	w.Accept()
	if c := waitChange(t, w, 300*time.Millisecond); c != nil {
		t.Fatalf("accepted, got %+v", c)
	}
	// A personal store that appears.
	if err := os.WriteFile(personal, []byte("p"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c := waitChange(t, w, 2*time.Second); c == nil || c.Paths[0] != personal || len(c.Gone) != 0 {
		t.Fatalf("created: %+v", c)
	}
	w.Accept()
	// A team store removed is gone, not empty.
	if err := os.Remove(team); err != nil {
		t.Fatal(err)
	}
	if c := waitChange(t, w, 2*time.Second); c == nil || len(c.Gone) != 1 || c.Gone[0] != team {
		t.Fatalf("removed: %+v", c)
	}
}

// TestWatcherSettles: a burst of writes is one change, reported once the
// file is still; a file changed and changed back is none.
func TestWatcherSettles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f := filepath.Join(dir, "app.env")
	if err := os.WriteFile(f, []byte("A=1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w := newTestWatcher(f)
	done := make(chan *Change, 1)
	go func() { done <- waitChange(t, w, 5*time.Second) }()
	var last time.Time
	for i := 0; i < 8; i++ {
		if err := os.WriteFile(f, []byte("A="+string(rune('a'+i))+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		last = time.Now()
		time.Sleep(25 * time.Millisecond)
	}
	c := <-done
	if c == nil {
		t.Fatal("no change")
	}
	if since := time.Since(last); since < w.Settle {
		t.Errorf("reported %v after the last write, before it settled (%v)", since, w.Settle)
	}
	// Changed back: same content, size and time as the base.
	w2 := newTestWatcher(f)
	orig, _ := os.ReadFile(f)
	st, _ := os.Stat(f)
	if err := os.WriteFile(f, []byte("A=zz\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f, orig, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(f, st.ModTime(), st.ModTime()); err != nil {
		t.Fatal(err)
	}
	if c := waitChange(t, w2, 400*time.Millisecond); c != nil {
		t.Fatalf("changed back, got %+v", c)
	}
}
