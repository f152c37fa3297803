package session

import (
	"slices"
	"testing"
	"time"

	"github.com/hush-secrets/hush/store"
)

func TestChangeEvents(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1e9, 0).UTC()
	sec := func(v string, mod func(*store.Secret)) *store.Secret {
		s := &store.Secret{Value: store.Value(v), Type: "api-key"}
		if mod != nil {
			mod(s)
		}
		return s
	}
	exposed := func(s *store.Secret) { s.Exposed = []store.Exposure{{To: "bob", Since: t0}} }
	for _, tc := range []struct {
		name          string
		before, after *store.Secret
		want          []string
	}{
		{"added", nil, sec("a", nil), []string{"added"}},
		{"added exposed", nil, sec("a", exposed), []string{"added", "marked exposed to bob"}},
		{"removed", sec("a", nil), nil, []string{"removed"}},
		{"changed", sec("a", nil), sec("b", nil), []string{"changed"}},
		{"rotated", sec("a", exposed), sec("b", nil), []string{"rotated (the exposed value replaced)"}},
		{"marked", sec("a", nil), sec("a", exposed), []string{"marked exposed to bob"}},
		{"dismissed", sec("a", exposed), sec("a", nil), []string{"exposure to bob dismissed"}},
		{"compromised", sec("a", nil), sec("a", func(s *store.Secret) { s.Compromised = t0 }), []string{"marked compromised"}},
		{"type", sec("a", nil), sec("a", func(s *store.Secret) { s.Type = "config" }), []string{"type api-key → config"}},
		{"note", sec("a", nil), sec("a", func(s *store.Secret) { s.Note = "x" }), []string{"note changed"}},
		{"untouched", sec("a", exposed), sec("a", exposed), nil},
	} {
		if got := changeEvents(tc.before, tc.after); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
