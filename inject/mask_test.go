package inject

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// refMask is the specification of masking, written the slow and obvious way:
// find every occurrence of every value, merge the overlapping ones, name each
// region after its longest value (the earliest of equal length).
func refMask(secrets []Secret, in []byte) []byte {
	type occ struct{ s, e, pat int }
	var pats []string
	var names []string
	seen := map[string]bool{}
	for _, s := range secrets {
		if v := s.Value.Reveal(); len(v) >= MinMaskLen && !seen[v] {
			seen[v] = true
			pats = append(pats, v)
			names = append(names, s.Name)
		}
	}
	var occs []occ
	for pi, p := range pats {
		for i := 0; i+len(p) <= len(in); i++ {
			if string(in[i:i+len(p)]) == p {
				occs = append(occs, occ{i, i + len(p), pi})
			}
		}
	}
	sort.Slice(occs, func(a, b int) bool { return occs[a].s < occs[b].s })
	var out []byte
	at := 0
	for i := 0; i < len(occs); {
		s, e, best := occs[i].s, occs[i].e, occs[i]
		j := i + 1
		for ; j < len(occs) && occs[j].s < e; j++ {
			e = max(e, occs[j].e)
			o := occs[j]
			if l, bl := o.e-o.s, best.e-best.s; l > bl || l == bl && o.s < best.s {
				best = o
			}
		}
		out = append(out, in[at:s]...)
		out = append(out, "[hush:"+names[best.pat]+"]"...)
		at, i = e, j
	}
	return append(out, in[at:]...)
}

func sec(pairs ...string) []Secret {
	var out []Secret
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, Secret{Name: pairs[i], Value: NewValue(pairs[i+1])})
	}
	return out
}

func TestMaskTable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		secrets []Secret
		in      string
		want    string
	}{
		{"none", sec("A", "fake-secret-1"), "nothing here", "nothing here"},
		{"one", sec("A", "fake-secret-1"), "x=fake-secret-1;", "x=[hush:A];"},
		{"twice", sec("A", "fake-secret-1"), "fake-secret-1fake-secret-1", "[hush:A][hush:A]"},
		{"nested longest wins", sec("S", "fakepass", "L", "fakepass-long"), "<fakepass-long>", "<[hush:L]>"},
		{"nested short only", sec("S", "fakepass", "L", "fakepass-long"), "<fakepass-lon>", "<[hush:S]-lon>"},
		{"overlap merged", sec("A", "abcdefgh", "B", "efghijklmn"), "-abcdefghijklmn-", "-[hush:B]-"},
		{"self overlap", sec("A", "aaaaaa"), "xaaaaaaaaaax", "x[hush:A]x"},
		{"adjacent kept apart", sec("A", "fake-one", "B", "fake-two"), "fake-onefake-two", "[hush:A][hush:B]"},
		{"short skipped", sec("P", "12345", "A", "fake-secret-1"), "12345 fake-secret-1", "12345 [hush:A]"},
		{"utf8", sec("U", "clé-secrète-ü"), "a clé-secrète-ü b", "a [hush:U] b"},
		{"multi-line", sec("M", "line-one\nline-two"), "x line-one\nline-two y", "x [hush:M] y"},
		{"same value two names", sec("A", "fake-shared", "B", "fake-shared"), "fake-shared", "[hush:A]"},
		{"prefix at end", sec("A", "fake-secret-1"), "ends with fake-sec", "ends with fake-sec"},
		{"binary", sec("B", "\x00\xff\xfe\x01\x02\x03"), "a\x00\xff\xfe\x01\x02\x03b", "a[hush:B]b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := NewMasker(tt.secrets)
			if got := string(m.Mask([]byte(tt.in))); got != tt.want {
				t.Errorf("Mask = %q, want %q", got, tt.want)
			}
			if ref := string(refMask(tt.secrets, []byte(tt.in))); ref != tt.want {
				t.Errorf("refMask = %q, want %q", ref, tt.want)
			}
			// Byte by byte gives the same.
			var buf bytes.Buffer
			w := m.newWriter(&buf, 0)
			for i := 0; i < len(tt.in); i++ {
				if _, err := w.Write([]byte{tt.in[i]}); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if buf.String() != tt.want {
				t.Errorf("byte by byte = %q, want %q", buf.String(), tt.want)
			}
		})
	}
}

func TestMaskSkipped(t *testing.T) {
	t.Parallel()
	_, skipped := NewMasker(sec("SHORT", "abc", "EMPTY", "", "OK", "fake-long-value"))
	if want := []string{"SHORT", "EMPTY"}; !slices.Equal(skipped, want) {
		t.Errorf("skipped = %v, want %v", skipped, want)
	}
}

// syncBuffer is a bytes.Buffer safe for the flush timer's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestMaskFlushAfterSilence(t *testing.T) {
	t.Parallel()
	m, _ := NewMasker(sec("A", "fake-secret-1"))
	var buf syncBuffer
	w := m.newWriter(&buf, 5*time.Millisecond)
	if _, err := w.Write([]byte("password: fake-sec")); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != "password: " {
		t.Fatalf("before the delay got %q, want the possible prefix held back", got)
	}
	// No timing assertion: wait for however long the flush takes.
	for buf.String() != "password: fake-sec" {
		time.Sleep(time.Millisecond)
	}
	if _, err := w.Write([]byte("ret-1 fake-secret-1")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := buf.String(), "password: fake-secret-1 [hush:A]"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Error("write after close succeeded")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, fmt.Errorf("disk full") }

func TestMaskWriteError(t *testing.T) {
	t.Parallel()
	m, _ := NewMasker(sec("A", "fake-secret-1"))
	w := m.newWriter(failWriter{}, 0)
	if _, err := w.Write([]byte("hello\n")); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err = %v", err)
	}
	if _, err := w.Write([]byte("again")); err == nil {
		t.Fatal("sticky error lost")
	}
}

// randomSecrets makes n fake values of 20–64 bytes drawn from alphabet.
func randomSecrets(r *rand.Rand, n int, alphabet string) []Secret {
	out := make([]Secret, n)
	for i := range out {
		b := make([]byte, 20+r.IntN(45))
		for j := range b {
			b[j] = alphabet[r.IntN(len(alphabet))]
		}
		out[i] = Secret{Name: fmt.Sprintf("FAKE_%d", i), Value: NewValue(string(b))}
	}
	return out
}

func TestMaskRandomSplits(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 300; round++ {
		secrets := randomSecrets(r, 1+r.IntN(5), "ab")
		for i := range secrets { // shorten so that overlaps are common
			v := secrets[i].Value.Reveal()
			secrets[i].Value = NewValue(v[:MinMaskLen+r.IntN(4)])
		}
		in := make([]byte, r.IntN(200))
		for i := range in {
			in[i] = "abc"[r.IntN(3)]
		}
		checkSplits(t, secrets, in, r)
	}
}

func checkSplits(t *testing.T, secrets []Secret, in []byte, r *rand.Rand) {
	t.Helper()
	m, _ := NewMasker(secrets)
	want := refMask(secrets, in)
	var buf bytes.Buffer
	w := m.newWriter(&buf, 0)
	for rest := in; len(rest) > 0; {
		n := 1 + r.IntN(len(rest))
		if _, err := w.Write(rest[:n]); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("secrets %q input %q:\n got %q\nwant %q", values(secrets), in, buf.Bytes(), want)
	}
}

func values(s []Secret) []string {
	var out []string
	for _, x := range s {
		out = append(out, x.Value.Reveal())
	}
	return out
}
