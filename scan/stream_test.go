package scan

import (
	"context"
	"io"
	"strings"
	"testing"
)

// TestLineColumn checks positions: 1-based, columns in code points.
func TestLineColumn(t *testing.T) {
	t.Parallel()
	s := newTestScanner(t, Config{})
	tok := fakeToken(t, "github-pat", 1)
	text := "first\n\nh\u00e9llo \u4e16\u754c token=" + tok + "\nlast " + tok + "\n"
	fs := scanString(t, s, text)
	if len(fs) != 2 {
		t.Fatalf("got %d findings, want 2: %v", len(fs), fs)
	}
	if fs[0].Line != 3 || fs[0].Column != 16 {
		t.Errorf("first at %d:%d, want 3:16", fs[0].Line, fs[0].Column)
	}
	if fs[1].Line != 4 || fs[1].Column != 6 {
		t.Errorf("second at %d:%d, want 4:6", fs[1].Line, fs[1].Column)
	}
	if fs[0].Fingerprint != fs[1].Fingerprint {
		t.Errorf("the same secret has two fingerprints")
	}
}

// slowReader returns at most n bytes per Read, to move chunk edges around.
type slowReader struct {
	r io.Reader
	n int
}

func (s slowReader) Read(p []byte) (int, error) {
	return s.r.Read(p[:min(len(p), s.n)])
}

// TestChunkBoundaries plants secrets across the 1 MiB chunk edges, on short
// and very long lines, and checks every one is found at the right place.
func TestChunkBoundaries(t *testing.T) {
	t.Parallel()
	s := newTestScanner(t, Config{Known: map[string]string{"prod/API": "kn0wn-Value-42"}})
	tok := fakeToken(t, "stripe-secret-key", 3)
	key := fakeToken(t, "private-key-rsa", 4)
	var b strings.Builder
	type want struct{ line, col int }
	var wants []want
	line := 1
	for b.Len() < 3*chunkSize+5000 {
		pad := strings.Repeat("x", (b.Len()*7919)%97) // varying line lengths
		switch n := b.Len() % 5; {
		case n == 0:
			wants = append(wants, want{line, len(pad) + 2})
			b.WriteString(pad + " " + tok + "\n")
		case n == 1 && line%50 == 0:
			wants = append(wants, want{line, 1})
			b.WriteString(key + "\n")
			line += strings.Count(key, "\n")
		default:
			b.WriteString(pad + " filler text without secrets\n")
		}
		line++
	}
	// A 3 MiB line holding the known value right across a chunk edge.
	long := strings.Repeat("a ", chunkSize-4) + "kn0wn-Value-42 " + strings.Repeat("b ", chunkSize)
	wants = append(wants, want{line, 2*(chunkSize-4) + 1})
	b.WriteString(long + "\n")
	text := b.String()

	for _, step := range []int{1 << 30, 4093} {
		fs, err := s.ScanReader(context.Background(), "big.txt", slowReader{strings.NewReader(text), step})
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) != len(wants) {
			t.Fatalf("read by %d: %d findings, want %d", step, len(fs), len(wants))
		}
		for i, f := range fs {
			if f.Line != wants[i].line || f.Column != wants[i].col {
				t.Errorf("read by %d: finding %d (%s) at %d:%d, want %d:%d", step, i, f.Rule, f.Line, f.Column, wants[i].line, wants[i].col)
			}
		}
	}
}

// TestBinarySkipped: a NUL in the first 8 KiB marks a binary file.
func TestBinarySkipped(t *testing.T) {
	t.Parallel()
	s := newTestScanner(t, Config{})
	tok := fakeToken(t, "github-pat", 5)
	if fs := scanString(t, s, "\x00\x01\x02 "+tok); len(fs) != 0 {
		t.Errorf("binary content reported: %v", fs)
	}
	if fs := scanString(t, s, strings.Repeat("z", binarySniff)+"\x00 "+tok); len(fs) != 1 {
		t.Errorf("NUL past the first 8 KiB should not mark the file binary: %v", fs)
	}
}

// TestInlineAllow: hush:allow on the line suppresses its findings only.
func TestInlineAllow(t *testing.T) {
	t.Parallel()
	s := newTestScanner(t, Config{})
	tok := fakeToken(t, "npm-access-token", 6)
	fs := scanString(t, s, "a = \""+tok+"\" // hush:allow test token\nb = \""+tok+"\"\n")
	if len(fs) != 1 || fs[0].Line != 2 {
		t.Errorf("got %v, want one finding on line 2", fs)
	}
}

// TestOverlapPrefersSpecific: one secret matched by a provider rule and the
// generic rule is reported once, by the provider rule; a known value wins
// over both.
func TestOverlapPrefersSpecific(t *testing.T) {
	t.Parallel()
	tok := fakeToken(t, "github-pat", 7)
	fs := scanString(t, newTestScanner(t, Config{}), `api_token = "`+tok+`"`)
	if len(fs) != 1 || fs[0].Rule != "github-pat" {
		t.Errorf("got %v, want one github-pat finding", fs)
	}
	fs = scanString(t, newTestScanner(t, Config{Known: map[string]string{"ci/GH": tok}}), `api_token = "`+tok+`"`)
	if len(fs) != 1 || fs[0].Rule != knownValueRule || fs[0].Key != "ci/GH" {
		t.Errorf("got %v, want one known-value finding", fs)
	}
}

// TestCancel: a cancelled context stops a scan.
func TestCancel(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := newTestScanner(t, Config{})
	_, err := s.ScanReader(ctx, "x", strings.NewReader(strings.Repeat("x\n", 2*chunkSize)))
	if err == nil {
		t.Error("no error from a cancelled scan")
	}
}

// TestSecretAcrossFirstRead slides a secret across the end of the first
// buffer fill, so that its keyword, its body and its line are cut at every
// possible place.
func TestSecretAcrossFirstRead(t *testing.T) {
	t.Parallel()
	s := newTestScanner(t, Config{Known: map[string]string{"k": "s3cret-Known-V4lue"}})
	tok := fakeToken(t, "github-pat", 8)
	fill := int(chunkSize + s.back + s.fwd)
	for off := fill - 60; off < fill+5; off++ {
		pad := strings.Repeat("y", off)
		for _, secret := range []string{tok, "s3cret-Known-V4lue"} {
			fs := scanString(t, s, pad+" "+secret+"\n")
			if len(fs) != 1 || fs[0].Line != 1 || fs[0].Column != off+2 {
				t.Fatalf("offset %d: got %v, want one finding at 1:%d", off, fs, off+2)
			}
		}
	}
}
