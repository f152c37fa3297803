package session

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/store"
)

func TestTextconv(t *testing.T) {
	t.Parallel()
	alice, err := crypt.Generate()
	if err != nil {
		t.Fatal(err)
	}
	bob, err := crypt.Generate()
	if err != nil {
		t.Fatal(err)
	}
	doc := store.NewDocument("dev")
	for _, k := range []string{"A", "B"} {
		doc.SetValue(k, "same-secret-value", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	}
	doc.Secrets["A"].Type, doc.Secrets["A"].RotateEvery = "database", "30d"
	path := filepath.Join(t.TempDir(), "dev.age")
	rcpts := []store.Recipient{{Key: alice.Public, Label: "alice"}, {Key: bob.Public, Label: "bob"}}
	if err := store.WriteTo(path, doc, rcpts); err != nil {
		t.Fatal(err)
	}
	textconv := func(id *crypt.Identity) *TextconvReport {
		t.Helper()
		getenv := map[string]string{"HOME": t.TempDir(), "HUSH_KEYRING": "off"}
		if id != nil {
			getenv["HUSH_IDENTITY"] = id.SecretText()
		}
		rep, err := New(Options{Dir: t.TempDir(), Getenv: func(k string) string { return getenv[k] }}).Textconv(path)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	a, b := textconv(alice), textconv(bob)
	if a.Env != "dev" || len(a.Keys) != 2 || a.Unreadable != "" {
		t.Fatalf("report = %+v", a)
	}
	k := a.Keys[0]
	if k.Name != "A" || k.Type != "database" || k.RotateEvery != "30d" || len(k.Hash) != 12 || strings.Contains(k.Hash, "same") {
		t.Errorf("key A = %+v", k)
	}
	// Keyed per identity and per key: equal values do not show as equal
	// to someone comparing hashes across keys or across users.
	if a.Keys[0].Hash == a.Keys[1].Hash || a.Keys[0].Hash == b.Keys[0].Hash {
		t.Errorf("hashes A %s, B %s, bob's A %s: want all different", a.Keys[0].Hash, a.Keys[1].Hash, b.Keys[0].Hash)
	}
	if again := textconv(alice); again.Keys[0].Hash != k.Hash {
		t.Errorf("hash not stable: %s then %s", k.Hash, again.Keys[0].Hash)
	}
	stranger, err := crypt.Generate()
	if err != nil {
		t.Fatal(err)
	}
	if r := textconv(stranger); !strings.HasPrefix(r.Unreadable, "cannot decrypt: ") || len(r.Keys) != 0 {
		t.Errorf("a stranger's textconv = %+v", r)
	}
	if r := textconv(nil); r.Unreadable != "no identity to decrypt this store" {
		t.Errorf("textconv without identity = %+v", r)
	}
}
