package store

import (
	"fmt"
	"testing"
	"time"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/internal/benchcpu"
)

func benchDoc(n int) *Document {
	d := NewDocument("dev")
	now := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		d.Secrets[fmt.Sprintf("KEY_%05d", i)] = &Secret{Value: Value(fmt.Sprintf("v%031d", i)), Type: "api-key",
			Created: now, Updated: now, Rotated: now, RotateEvery: "90d"}
	}
	return d
}

func BenchmarkDecodeDocument(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		plain, _ := benchDoc(n).Encode()
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.SetBytes(int64(len(plain)))
			cpu := benchcpu.Now()
			for b.Loop() {
				if _, err := DecodeDocument(plain, "dev"); err != nil {
					b.Fatal(err)
				}
			}
			benchcpu.Report(b, cpu)
		})
	}
}

func BenchmarkEncodeDocument(b *testing.B) {
	d := benchDoc(1000)
	for b.Loop() {
		if _, err := d.Encode(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecrypt(b *testing.B) {
	id, _ := crypt.Generate()
	for _, n := range []int{1000, 10000} {
		plain, _ := benchDoc(n).Encode()
		ct, _ := crypt.Encrypt(plain, id.Recipient)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.SetBytes(int64(len(ct)))
			for b.Loop() {
				if _, err := crypt.Decrypt(ct, id.Identity); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
