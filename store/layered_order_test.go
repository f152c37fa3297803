package store

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/internal/benchcpu"
)

// writeTeamJSON replaces dev's team store with the JSON document of
// secrets (name → a JSON object), in the order given, keeping the store's
// lineage: a store written by hand, not by hush's encoder.
func writeTeamJSON(t *testing.T, p *Project, id *crypt.Identity, version int, secrets [][2]string) {
	t.Helper()
	d, err := p.Read("dev", Team, id)
	if err != nil {
		t.Fatal(err)
	}
	parts := make([]string, len(secrets))
	for i, s := range secrets {
		parts[i] = fmt.Sprintf("%q:%s", s[0], s[1])
	}
	plain := fmt.Sprintf(`{"version":%d,"environment":"dev","secrets":{%s},"lineage":%q}`, version, strings.Join(parts, ","), d.Lineage)
	ct, err := crypt.Encrypt([]byte(plain), id.Recipient)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(p.TeamPath("dev"), ct); err != nil {
		t.Fatal(err)
	}
}

func layeredNames(t *testing.T, p *Project, id *crypt.Identity) []string {
	t.Helper()
	entries, err := p.Layered("dev", id)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		v := e.Secret.Value.Reveal()
		got = append(got, fmt.Sprintf("%s=%s/%s/%s/%v/%s", e.Name, v, e.Source, e.Env, e.Shadows, e.Overrides))
	}
	return got
}

// Layered lists an environment sorted by name whatever the order of its
// store: hush's own (sorted), a hand-written one out of order, and one
// the fast decoder leaves to encoding/json (a base64 value), with the
// personal store over it.
func TestLayeredOrder(t *testing.T) {
	t.Parallel()
	p, id := newProject(t)
	set(t, p, id, "dev", Team, "B", "team-b")
	set(t, p, id, "dev", Team, "A", "team-a")
	set(t, p, id, "dev", Team, "C", "team-c")
	set(t, p, id, "dev", Personal, "B", "mine-b")
	set(t, p, id, "dev", Personal, "AA", "mine-0")
	want := []string{"A=team-a/team/dev/false/", "AA=mine-0/personal/dev/false/", "B=mine-b/personal/dev/true/dev", "C=team-c/team/dev/false/"}
	if got := layeredNames(t, p, id); !slices.Equal(got, want) {
		t.Errorf("hush's store: Layered = %q, want %q", got, want)
	}
	// Out of order, as another tool or a hand might write it.
	writeTeamJSON(t, p, id, 1, [][2]string{{"C", `{"value":"team-c"}`}, {"A", `{"value":"team-a"}`}, {"B", `{"value":"team-b"}`}})
	if got := layeredNames(t, p, id); !slices.Equal(got, want) {
		t.Errorf("a store out of order: Layered = %q, want %q", got, want)
	}
	// A binary value: the fast decoder declines, encoding/json decodes.
	writeTeamJSON(t, p, id, 2, [][2]string{{"C", `{"value":"dGVhbS1j","encoding":"base64"}`}, {"A", `{"value":"team-a"}`}, {"B", `{"value":"team-b"}`}})
	if _, _, ok := decodeFastNames(`{"version":2,"environment":"dev","secrets":{"C":{"value":"dGVhbS1j","encoding":"base64"}}}`, ""); ok {
		t.Fatal("the fast decoder took a base64 value: this case no longer tests encoding/json's path")
	}
	if got := layeredNames(t, p, id); !slices.Equal(got, want) {
		t.Errorf("a store encoding/json read: Layered = %q, want %q", got, want)
	}
}

// decodeFastNames gives the names in the document's order, one per secret.
func TestDecodeFastNames(t *testing.T) {
	t.Parallel()
	d, names, ok := decodeFastNames(`{"version":1,"environment":"dev","secrets":{"B":{"value":"1"},"A":{"value":"2"},"C":{}}}`, "")
	if !ok || !slices.Equal(names, []string{"B", "A", "C"}) || len(d.Secrets) != 3 {
		t.Fatalf("decodeFastNames = %v, %q, %v", d, names, ok)
	}
	plain, _ := benchDoc(100).Encode()
	d, names, err := decodeDocumentNames(string(plain), "dev")
	if err != nil || len(names) != 100 || !slices.IsSorted(names) || len(d.Secrets) != 100 {
		t.Fatalf("hush's own document: %d names, sorted %v, err %v", len(names), slices.IsSorted(names), err)
	}
}

// BenchmarkLayeredOwn is Layered of an environment of n secrets that
// inherits from none, as hush run and hush export read it.
func BenchmarkLayeredOwn(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			p, id := newProject(b)
			src := benchDoc(n)
			err := p.Update("dev", Team, id, func(d *Document) error {
				d.Secrets = src.Secrets
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			cpu := benchcpu.Now()
			for b.Loop() {
				es, err := p.Layered("dev", id)
				if err != nil || len(es) != n {
					b.Fatal(len(es), err)
				}
			}
			benchcpu.Report(b, cpu)
		})
	}
}
