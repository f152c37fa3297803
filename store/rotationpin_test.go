package store

import (
	"strings"
	"testing"
)

// TestRotationSourcesPinned: the rotation section's periods are inert,
// but its sources run programs and send credentials: a change of a
// provider, its command or any field is a pinned change, shown field by
// field.
func TestRotationSourcesPinned(t *testing.T) {
	t.Parallel()
	src := "rotation:\n  types: {database: 30d}\n  sources:\n    API_KEY: {provider: command, command: [./rot.sh], sha256: {./rot.sh: aa}}\n"
	base := mustSettings(t, baseYAML+src)
	if base["rotation.sources"] == "" {
		t.Fatalf("rotation.sources is not pinned: %v", base)
	}
	if _, ok := base["rotation"]; ok {
		t.Fatal("the rotation periods are pinned")
	}
	periods := mustSettings(t, baseYAML+strings.Replace(src, "30d", "7d", 1))
	if d := diffSettings(base, periods); len(d) != 0 {
		t.Errorf("a period change is a pinned change: %v", d)
	}
	for _, c := range []struct{ from, to string }{
		{"[./rot.sh]", "[curl, evil.example]"},
		{"provider: command", "provider: postgres"},
		{"sha256: {./rot.sh: aa}", "sha256: {./rot.sh: bb}"},
	} {
		changed := mustSettings(t, baseYAML+strings.Replace(src, c.from, c.to, 1))
		d := diffSettings(base, changed)
		if len(d) != 1 || d[0].Key != "rotation.sources" {
			t.Fatalf("%s -> %s: diff %v", c.from, c.to, d)
		}
		if l := d[0].Leaves(); len(l) != 1 || !strings.HasPrefix(l[0].Key, "rotation.sources.API_KEY.") {
			t.Errorf("%s -> %s: leaves %v", c.from, c.to, l)
		}
	}
	// A source added for another key is a change too.
	added := mustSettings(t, baseYAML+src+"    prod/DB_URL: {provider: postgres, admin: PG}\n")
	if d := diffSettings(base, added); len(d) != 1 {
		t.Errorf("an added source: %v", d)
	}
}
