package inject

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

// FuzzMask checks that a MaskWriter's output equals the reference replacement
// of the whole input however the input is cut into writes.
func FuzzMask(f *testing.F) {
	f.Add("abcdefgh", "efghijklmn", "aaaaaa", []byte("-abcdefghijklmn-aaaaaaaa-"), uint64(1))
	f.Add("clé-secrète", "secrète-ü", "日本語のひみつ", []byte("x clé-secrète-ü 日本語のひみつ"), uint64(7))
	f.Add("line-one\nline-two", "\r\nfake\r\n", "xxxxxxx", []byte("line-one\nline-two\r\nfake\r\n"), uint64(3))
	f.Fuzz(func(t *testing.T, a, b, c string, in []byte, seed uint64) {
		secrets := sec("A", a, "B", b, "C", c)
		r := rand.New(rand.NewPCG(seed, seed>>7))
		checkSplits(t, secrets, in, r)
		// Cut in the middle of every occurrence of a value, too.
		m, _ := NewMasker(secrets)
		var buf bytes.Buffer
		w := m.newWriter(&buf, 0)
		rest := in
		for len(rest) > 0 {
			n := len(rest)
			for _, v := range []string{a, b, c} {
				if i := strings.Index(string(rest), v); v != "" && i >= 0 && i+len(v)/2 > 0 && i+len(v)/2 < n {
					n = i + len(v)/2
				}
			}
			_, _ = w.Write(rest[:n])
			rest = rest[n:]
		}
		_ = w.Close()
		if want := refMask(secrets, in); !bytes.Equal(buf.Bytes(), want) {
			t.Fatalf("cut in values: got %q want %q", buf.Bytes(), want)
		}
	})
}

// BenchmarkMask masks 8 MiB with 1,000 values of 20–64 bytes, written in
// 32 KiB chunks: log-like text with about one value per 4 KiB ("logs"),
// random text from the values' own alphabet, the automaton's worst case
// ("alnum"), and KEY=value lines, as from a child that dumps its environment
// ("values"), where every line is a match.
func BenchmarkMask(b *testing.B) {
	r := rand.New(rand.NewPCG(42, 42))
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	secrets := randomSecrets(r, 1000, alnum)
	words := strings.Fields(`GET POST /api/v1/users request completed status=200 latency=12ms
		user_id=42 trace error warning connection pool opened closed retry backoff
		{"level":"info","msg":"listening","port":8080} token refreshed cache miss hit`)
	var logs []byte
	for len(logs) < 8<<20 {
		logs = append(logs, "2026-01-02T03:04:05.678Z INFO "...)
		for i := 0; i < 12; i++ {
			logs = append(logs, words[r.IntN(len(words))]...)
			logs = append(logs, ' ')
		}
		if r.IntN(40) == 0 {
			logs = append(logs, secrets[r.IntN(len(secrets))].Value.Reveal()...)
		}
		logs = append(logs, '\n')
	}
	noise := make([]byte, 8<<20)
	for i := range noise {
		noise[i] = alnum[r.IntN(len(alnum))]
	}
	var env []byte
	for len(env) < 8<<20 {
		s := secrets[r.IntN(len(secrets))]
		env = append(env, s.Name+"="+s.Value.Reveal()+"\n"...)
	}
	m, _ := NewMasker(secrets)
	for _, bc := range []struct {
		name string
		in   []byte
	}{{"logs", logs}, {"alnum", noise}, {"values", env}} {
		b.Run(bc.name, func(b *testing.B) {
			w := m.newWriter(discard{}, 0)
			b.SetBytes(int64(len(bc.in)))
			for b.Loop() {
				for rest := bc.in; len(rest) > 0; {
					n := min(len(rest), 32<<10)
					_, _ = w.Write(rest[:n])
					rest = rest[n:]
				}
			}
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkNewMasker compiles the 1,000 values of BenchmarkMask: hush run
// --mask pays this once at start, before the child runs.
func BenchmarkNewMasker(b *testing.B) {
	r := rand.New(rand.NewPCG(42, 42))
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	secrets := randomSecrets(r, 1000, alnum)
	b.ReportAllocs()
	var m *Masker
	for b.Loop() {
		m, _ = NewMasker(secrets)
	}
	// What a masker keeps: the table, and per state its output, depth,
	// failure link, goto edges and kid.
	b.ReportMetric(float64(len(m.out)), "states")
	b.ReportMetric(float64(4*len(m.trans)), "table-B")
	b.ReportMetric(float64(4*len(m.trans)+len(m.out)*(4+4+4+4+4+1+2)), "masker-B")
}

// FuzzMaskLong is FuzzMask for writes long enough that scan walks their two
// halves at once: the input, repeated past 2×splitMin, is written whole and
// then cut in two at a point the fuzzer picks.
func FuzzMaskLong(f *testing.F) {
	f.Add("abcdefgh", "efghijklmn", "aaaaaa", []byte("-abcdefghijklmn-aaaaaaaa-"), uint16(1))
	f.Add("clé-secrète", "secrète-ü", "日本語のひみつ", []byte("x clé-secrète-ü 日本語のひみつ"), uint16(2049))
	f.Add("abababab", "babababa", "aabbaabb", []byte("ab"), uint16(1024))
	f.Fuzz(func(t *testing.T, a, b, c string, in []byte, cut uint16) {
		if len(in) == 0 {
			return
		}
		secrets := sec("A", a, "B", b, "C", c)
		long := bytes.Repeat(in, 2*splitMin/len(in)+2)
		want := refMask(secrets, long)
		m, _ := NewMasker(secrets)
		if got := m.Mask(long); !bytes.Equal(got, want) {
			t.Fatalf("whole: got %q want %q", got, want)
		}
		var buf bytes.Buffer
		w := m.newWriter(&buf, 0)
		k := int(cut) % (len(long) + 1)
		_, _ = w.Write(long[:k])
		_, _ = w.Write(long[k:])
		_ = w.Close()
		if !bytes.Equal(buf.Bytes(), want) {
			t.Fatalf("cut at %d: got %q want %q", k, buf.Bytes(), want)
		}
	})
}
