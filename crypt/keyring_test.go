package crypt

import (
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestKeyringHungBus points go-keyring at a D-Bus socket that accepts
// connections and never answers, as a half-started session bus does. The
// call must come back with ErrKeyringUnavailable instead of hanging.
func TestKeyringHungBus(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "bus")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // hold it open, say nothing
		}
	}()
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+sock)
	k := SystemKeyring{Timeout: 200 * time.Millisecond}
	_, err = k.Get(KeyringService, KeyringUser)
	if !errors.Is(err, ErrKeyringUnavailable) || !strings.Contains(err.Error(), "no answer within") {
		t.Fatalf("Get on a hung bus: %v", err)
	}
}

// TestKeyringNoBus: with no bus at all the keyring is unavailable at once.
func TestKeyringNoBus(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+filepath.Join(t.TempDir(), "absent"))
	_, err := SystemKeyring{}.Get(KeyringService, KeyringUser)
	if !errors.Is(err, ErrKeyringUnavailable) {
		t.Fatalf("Get with no bus: %v", err)
	}
}

type fakeKeyring struct {
	items map[string]string
	err   error
}

func (f *fakeKeyring) Get(s, u string) (string, error) {
	if f.err != nil {
		return "", f.err
	}
	v, ok := f.items[s+"/"+u]
	if !ok {
		return "", ErrKeyringNotFound
	}
	return v, nil
}

func (f *fakeKeyring) Set(s, u, v string) error {
	if f.err != nil {
		return f.err
	}
	f.items[s+"/"+u] = v
	return nil
}

func (f *fakeKeyring) Delete(s, u string) error { delete(f.items, s+"/"+u); return nil }

func TestLookupOrder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	envID, _ := Generate()
	fileID, _ := Generate()
	ringID, _ := Generate()
	keyPath := filepath.Join(dir, "k.txt")
	if err := WriteKeyFile(keyPath, []byte(FormatKeyFile(fileID, time.Now()))); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "cfg")
	if err := WriteKeyFile(filepath.Join(cfg, IdentityFileName), []byte(FormatKeyFile(fileID, time.Now()))); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	ring := &fakeKeyring{items: map[string]string{KeyringService + "/" + KeyringUser: ringID.SecretText()}}
	var notes []string
	l := &Lookup{Getenv: getenv, Keyring: ring, ConfigDir: cfg, Note: func(n string) { notes = append(notes, n) }}

	check := func(want *Identity, source string) {
		t.Helper()
		got, err := l.Find()
		if err != nil || got.Public != want.Public || !strings.Contains(got.Source, source) {
			t.Fatalf("Find = %v from %q, %v; want %s from %s", got, sourceOf(got), err, want.Public, source)
		}
	}
	env["HUSH_IDENTITY"] = envID.SecretText()
	env["HUSH_IDENTITY_FILE"] = keyPath
	check(envID, "HUSH_IDENTITY")
	delete(env, "HUSH_IDENTITY")
	check(fileID, keyPath)
	delete(env, "HUSH_IDENTITY_FILE")
	check(ringID, "keyring")

	// A locked or missing keyring falls through to the file, with a note.
	ring.err = ErrKeyringUnavailable
	check(fileID, IdentityFileName)
	if len(notes) != 1 || !strings.Contains(notes[0], "keyring unavailable") {
		t.Fatalf("notes = %q", notes)
	}
	// An empty keyring falls through silently.
	ring.err = nil
	delete(ring.items, KeyringService+"/"+KeyringUser)
	notes = nil
	check(fileID, IdentityFileName)
	if len(notes) != 0 {
		t.Fatalf("notes = %q", notes)
	}
	// Nothing anywhere: ErrNoIdentity, never a new identity.
	l.ConfigDir = filepath.Join(dir, "empty")
	if _, err := l.Find(); !errors.Is(err, ErrNoIdentity) {
		t.Fatalf("Find with nothing: %v", err)
	}
}

func TestStoreFallsBackToFile(t *testing.T) {
	t.Parallel()
	id, _ := Generate()
	l := &Lookup{Getenv: func(string) string { return "" }, Keyring: &fakeKeyring{err: ErrKeyringUnavailable}, ConfigDir: t.TempDir()}
	where, err := l.Store(id)
	if err != nil || where != l.IdentityFile() {
		t.Fatalf("Store = %q, %v", where, err)
	}
	got, err := l.Find()
	if err != nil || got.Public != id.Public {
		t.Fatalf("Find after Store = %v, %v", got, err)
	}
	ring := &fakeKeyring{items: map[string]string{}}
	l2 := &Lookup{Getenv: func(string) string { return "" }, Keyring: ring, ConfigDir: t.TempDir()}
	if where, err := l2.Store(id); err != nil || where != "the OS keyring" {
		t.Fatalf("Store with keyring = %q, %v", where, err)
	}
}

func sourceOf(id *Identity) string {
	if id == nil {
		return ""
	}
	return id.Source
}
