package session

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/hush-secrets/hush/internal/benchcpu"
	"github.com/hush-secrets/hush/store"
)

// BenchmarkPrepareRun is hush run's work between opening the project and
// exec'ing the child, on one environment of n secrets shaped as make
// bench's (a 32-byte value, a type, three timestamps, a rotation period):
// the store decrypted and checked, the environment built under the loader
// policy, the run's audit line written.
func BenchmarkPrepareRun(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s := postureProject(b, 1, 0)
			at := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
			err := s.Update("env0", store.Team, nil, func(d *store.Document, _ time.Time) error {
				for i := range n {
					d.Secrets[fmt.Sprintf("KEY_%05d", i)] = &store.Secret{Value: store.Value(fmt.Sprintf("v%031d", i)),
						Type: "api-key", Created: at, Updated: at, Rotated: at, RotateEvery: "90d"}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			parent := os.Environ()
			cpu := benchcpu.Now()
			for b.Loop() {
				plan, err := s.PrepareRun(context.Background(), RunOptions{Parent: parent})
				if err != nil {
					b.Fatal(err)
				}
				if len(plan.Injected) != n {
					b.Fatalf("%d injected, want %d", len(plan.Injected), n)
				}
				plan.Close()
			}
			benchcpu.Report(b, cpu)
		})
	}
}
