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

// valueText makes n bytes of text dense with values: whole values, values
// cut short, and runs of random bytes from alphabet, glued together so that
// values overlap and any cut lands inside one.
func valueText(r *rand.Rand, secrets []Secret, n int, alphabet string) []byte {
	var out []byte
	for len(out) < n {
		v := secrets[r.IntN(len(secrets))].Value.Reveal()
		switch r.IntN(3) {
		case 0:
			out = append(out, v...)
		case 1:
			out = append(out, v[:r.IntN(len(v))]...)
		default:
			for k := r.IntN(8); k > 0; k-- {
				out = append(out, alphabet[r.IntN(len(alphabet))])
			}
		}
	}
	return out
}

// TestMaskLargeWrites covers what small inputs never reach: writes long
// enough for scan to walk their two halves at once, cut in the middle of
// values and of overlapping runs of them, and automata too big for the
// table, whose deep states take goto edges and failure links.
func TestMaskLargeWrites(t *testing.T) {
	t.Parallel()
	var all strings.Builder
	for b := 0; b < 256; b++ {
		all.WriteByte(byte(b))
	}
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	tests := []struct {
		name     string
		values   int
		alphabet string
		lo, hi   int // value lengths
		size     int
	}{
		{"overlapping runs", 4, "ab", MinMaskLen, MinMaskLen + 3, 6 << 10},
		{"every byte, beyond the table", 300, all.String(), 20, 64, 16 << 10},
		{"alnum", 200, alnum, 20, 64, 16 << 10},
		// Longer than half a write: a PEM key, say.
		{"values longer than half a write", 3, alnum, 1500, 3000, 16 << 10},
	}
	for ti, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(uint64(ti), 5))
			secrets := make([]Secret, tt.values)
			for i := range secrets {
				v := make([]byte, tt.lo+r.IntN(tt.hi-tt.lo+1))
				for j := range v {
					v[j] = tt.alphabet[r.IntN(len(tt.alphabet))]
				}
				secrets[i] = Secret{Name: fmt.Sprintf("FAKE_%d", i), Value: NewValue(string(v))}
			}
			if tt.alphabet == all.String() {
				m, _ := NewMasker(secrets)
				if m.nclass != 256 || int(m.ndense) >= len(m.out) {
					t.Fatalf("%d classes, %d of %d states in the table: want 256 classes and states beyond the table", m.nclass, m.ndense, len(m.out))
				}
			}
			for round := 0; round < 4; round++ {
				checkSplits(t, secrets, valueText(r, secrets, tt.size, tt.alphabet), r)
			}
			// Whole, the input goes through the two walks in one write.
			in := valueText(r, secrets, tt.size, tt.alphabet)
			m, _ := NewMasker(secrets)
			if got, want := m.Mask(in), refMask(secrets, in); !bytes.Equal(got, want) {
				t.Fatalf("whole input of %d bytes: got %q\nwant %q", len(in), got, want)
			}
		})
	}
}

// TestMaskSplit puts the middle of a long write, where scan's second walk
// starts knowing nothing, at the awkward places.
func TestMaskSplit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		secrets       []Secret
		before, after string // the text either side of the middle
		want          string // what before+after becomes
	}{
		// The second walk sees only the short value; the first, carried
		// past the middle, finds the long one. The short match must not
		// come after it and cut its region short, showing its end.
		{"inside a long value holding a short one",
			sec("L", "fake-long-secret-value-0123", "S", "secret-v"),
			"fak", "e-long-secret-value-0123", "[hush:L]"},
		// The first walk stops right before V's last byte, where the walks
		// agree: V is the second walk's to report.
		{"value ends where the walks agree",
			sec("V", "abcdefg", "W", "xabcdeZZZ"),
			"x", "abcdefg", "x[hush:V]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pad := strings.Repeat(".", 2*splitMin)
			mid := len(pad) + len(tt.before)
			tail := strings.Repeat(".", mid-len(tt.after))
			in := pad + tt.before + tt.after + tail
			if len(in)/2 != mid {
				t.Fatalf("middle at %d, want %d", len(in)/2, mid)
			}
			m, _ := NewMasker(tt.secrets)
			got := string(m.Mask([]byte(in)))
			if want := pad + tt.want + tail; got != want {
				t.Errorf("got %q, want %q", strings.Trim(got, "."), tt.want)
			}
			if ref := string(refMask(tt.secrets, []byte(in))); ref != got {
				t.Errorf("refMask = %q", strings.Trim(ref, "."))
			}
		})
	}
}
