package scan

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/hush-secrets/hush/scan/internal/corpusgen"
)

// BenchmarkScanPaths scans an 8 MB generated corpus (see scan/bench.sh for
// the full comparison with gitleaks).
func BenchmarkScanPaths(b *testing.B) {
	dir := b.TempDir()
	m, err := corpusgen.Generate(corpusgen.Options{Dir: dir, Seed: 7, Size: 8 << 20})
	if err != nil {
		b.Fatal(err)
	}
	s := newTestScanner(b, Config{})
	b.SetBytes(m.Bytes)
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.ScanPaths(context.Background(), dir); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAutomaton measures the prefilter alone, over generated source.
func BenchmarkAutomaton(b *testing.B) {
	dir := b.TempDir()
	m, err := corpusgen.Generate(corpusgen.Options{Dir: dir, Seed: 8, Size: 4 << 20})
	if err != nil {
		b.Fatal(err)
	}
	var data []byte
	for _, p := range m.Plants {
		if len(data) > 4<<20 {
			break
		}
		d, _ := os.ReadFile(filepath.Join(dir, p.File))
		data = append(data, d...)
	}
	s := newTestScanner(b, Config{})
	b.SetBytes(int64(len(data)))
	var hits []hit
	for b.Loop() {
		_, hits = s.ac.scan(data, 0, 0, hits[:0])
	}
}
