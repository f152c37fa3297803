package scan

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// BenchmarkNewKnown3000: building a scanner for 3,000 known values and
// scanning a small staged diff with it, which is what a pre-commit hook does.
func BenchmarkNewKnown3000(b *testing.B) {
	known := map[string]string{}
	for i := range 3000 {
		known[fmt.Sprintf("prod/SECRET_%d", i)] = fmt.Sprintf("v%07d-Zt5nQ2vK8mW3xB7c", i)
	}
	text := strings.Repeat("func main() { fmt.Println(\"hello\") }\n", 200)
	for b.Loop() {
		s, err := New(Config{Known: known})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.ScanReader(context.Background(), "main.go", strings.NewReader(text)); err != nil {
			b.Fatal(err)
		}
	}
}
