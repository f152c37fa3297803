package inject

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/hush-secrets/hush/internal/benchcpu"
)

func TestLastWins(t *testing.T) {
	t.Parallel()
	sec := func(kv ...string) []Secret {
		var out []Secret
		for i := 0; i < len(kv); i += 2 {
			out = append(out, Secret{Name: kv[i], Value: NewValue(kv[i+1])})
		}
		return out
	}
	show := func(ss []Secret) string {
		var out []string
		for _, s := range ss {
			out = append(out, s.Name+"="+s.Value.Reveal())
		}
		return fmt.Sprint(out)
	}
	for _, c := range []struct{ in, want []Secret }{
		{nil, nil},
		{sec("A", "1"), sec("A", "1")},
		{sec("A", "1", "B", "2", "C", "3"), sec("A", "1", "B", "2", "C", "3")},
		{sec("B", "1", "A", "2"), sec("B", "1", "A", "2")},
		{sec("A", "1", "A", "2"), sec("A", "2")},
		{sec("A", "1", "B", "2", "B", "3"), sec("A", "1", "B", "3")},
		{sec("A", "1", "B", "2", "C", "3", "A", "4"), sec("A", "4", "B", "2", "C", "3")},
		{sec("B", "1", "A", "2", "B", "3"), sec("B", "3", "A", "2")},
	} {
		if got := lastWins(c.in); show(got) != show(c.want) {
			t.Errorf("lastWins(%s) = %s, want %s", show(c.in), show(got), show(c.want))
		}
	}
}

// BenchmarkBuildEnv is hush run's environment of n store secrets (sorted,
// as Layered gives them) over this process's environment.
func BenchmarkBuildEnv(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			secrets := make([]Secret, n)
			for i := range secrets {
				secrets[i] = Secret{Name: fmt.Sprintf("KEY_%05d", i), Value: NewValue(fmt.Sprintf("v%031d", i))}
			}
			if !slices.IsSortedFunc(secrets, func(a, b Secret) int { return strings.Compare(a.Name, b.Name) }) {
				b.Fatal("not sorted")
			}
			parent := os.Environ()
			cpu := benchcpu.Now()
			for b.Loop() {
				env, err := BuildEnv(EnvOptions{Parent: parent, Secrets: secrets, Hidden: []string{"HUSH_IDENTITY"}})
				if err != nil || len(env.Injected) != n {
					b.Fatal(err)
				}
			}
			benchcpu.Report(b, cpu)
		})
	}
}
