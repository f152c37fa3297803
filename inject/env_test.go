package inject

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
)

// requireOrSkip skips a test for want of a component, or fails it when
// HUSH_TEST_REQUIRE_ALL=1 (CI), where nothing may skip.
func requireOrSkip(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("HUSH_TEST_REQUIRE_ALL") == "1" {
		t.Fatal(why)
	}
	t.Skip(why)
}

func TestValueRedacts(t *testing.T) {
	t.Parallel()
	const fake = "fake-secret-value"
	v := NewValue(fake)
	s := Secret{Name: "K", Value: v}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "v", v)
	js, _ := json.Marshal(struct{ V Value }{v})
	for _, got := range []string{
		fmt.Sprint(v), fmt.Sprintf("%v %+v %#v %s %q %x %X %d %10s", v, v, v, v, v, v, v, v, v),
		fmt.Sprintf("%v %+v %#v", s, s, &s), fmt.Sprint([]Secret{s}), logged.String(), string(js),
		fmt.Sprint(Environ{"K=" + fake}), fmt.Sprintf("%#v %q", Environ{"K=" + fake}, Environ{"K=" + fake}),
	} {
		if strings.Contains(got, fake) || strings.Contains(got, fmt.Sprintf("%x", fake)) {
			t.Errorf("leaked: %s", got)
		}
	}
	if v.Reveal() != fake || v.Len() != len(fake) {
		t.Error("Reveal lost the value")
	}
}

func TestValidName(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{"A": true, "_": true, "a_1": true, "DB_PASSWORD": true,
		"": false, "1A": false, "A-B": false, "A.B": false, "A B": false, "É": false, "A=": false} {
		if ValidName(name) != want {
			t.Errorf("ValidName(%q) = %v", name, !want)
		}
	}
}

func TestBuildEnv(t *testing.T) {
	t.Parallel()
	parent := []string{"PATH=/usr/bin", "HOME=/home/u", "LC_ALL=C", "EDITOR=vi", "SHARED=parent", "SSH_AUTH_SOCK=/s", "DUP=1", "DUP=2"}
	tests := []struct {
		name        string
		opts        EnvOptions
		want        []string
		dropped     []string
		kept        []string
		injectNames []string
	}{
		{
			name: "override and append",
			opts: EnvOptions{Parent: parent, Secrets: sec("SHARED", "fake-s", "NEW", "fake-n")},
			want: []string{"PATH=/usr/bin", "HOME=/home/u", "LC_ALL=C", "EDITOR=vi", "SHARED=fake-s",
				"SSH_AUTH_SOCK=/s", "DUP=2", "NEW=fake-n"},
			injectNames: []string{"SHARED", "NEW"},
		},
		{
			name: "no override",
			opts: EnvOptions{Parent: []string{"SHARED=parent"}, Secrets: sec("SHARED", "fake-s", "NEW", "fake-n"), NoOverride: true},
			want: []string{"SHARED=parent", "NEW=fake-n"}, kept: []string{"SHARED"}, injectNames: []string{"NEW"},
		},
		{
			name: "pristine",
			opts: EnvOptions{Parent: parent, Secrets: sec("NEW", "fake-n"), Pristine: true, Keep: []string{"SSH_AUTH_SOCK"}},
			want: []string{"PATH=/usr/bin", "HOME=/home/u", "LC_ALL=C", "SSH_AUTH_SOCK=/s", "NEW=fake-n"},
		},
		{
			name: "only and except",
			opts: EnvOptions{Secrets: sec("DB_USER", "u", "DB_PASS", "p", "API_KEY", "k"), Only: []string{"DB_*"}, Except: []string{"DB_PASS"}},
			want: []string{"DB_USER=u"},
		},
		{
			name: "dangerous dropped unless allowed",
			opts: EnvOptions{Secrets: sec("LD_PRELOAD", "/x.so", "NODE_OPTIONS", "--require x", "PATH", "/evil",
				"GIT_CONFIG_KEY_0", "core.sshCommand", "BASH_ENV", "/x", "OK", "v"), Allow: []string{"NODE_OPTIONS"}},
			want:    []string{"NODE_OPTIONS=--require x", "OK=v"},
			dropped: []string{"LD_PRELOAD", "PATH", "GIT_CONFIG_KEY_0", "BASH_ENV"},
		},
		{
			// Files in order, the later over the earlier and over the
			// parent; the store over them all.
			name: "env files layered",
			opts: EnvOptions{Parent: []string{"A=parent", "P=parent"}, Files: []string{"A=a", "B=a", "C=a", "B=b", "C=b"},
				Secrets: sec("C", "store")},
			want: []string{"A=a", "P=parent", "B=b", "C=store"}, injectNames: []string{"C"},
		},
		{
			// --no-override keeps the user's environment over files too,
			// and names a key kept from both a file and the store once.
			name: "env files under no override",
			opts: EnvOptions{Parent: []string{"A=parent"}, Files: []string{"A=a", "B=a", "B=b"},
				Secrets: sec("A", "store"), NoOverride: true},
			want: []string{"A=parent", "B=b"}, kept: []string{"A"},
		},
		{
			name: "last secret wins",
			opts: EnvOptions{Secrets: sec("A", "1", "B", "2", "A", "3")},
			want: []string{"A=3", "B=2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := BuildEnv(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(env.Environ, Environ(tt.want)) {
				t.Errorf("environ\n got %q\nwant %q", []string(env.Environ), tt.want)
			}
			if !slices.Equal(env.Dropped, tt.dropped) || !slices.Equal(env.Kept, tt.kept) {
				t.Errorf("dropped %v kept %v, want %v %v", env.Dropped, env.Kept, tt.dropped, tt.kept)
			}
			if tt.injectNames != nil {
				var names []string
				for _, s := range env.Injected {
					names = append(names, s.Name)
				}
				if !slices.Equal(names, tt.injectNames) {
					t.Errorf("injected %v, want %v", names, tt.injectNames)
				}
			}
		})
	}
}

func TestBuildEnvErrors(t *testing.T) {
	t.Parallel()
	const fake = "fake-v"
	for _, opts := range []EnvOptions{
		{Secrets: sec("1BAD", fake)},
		{Secrets: sec("NUL", fake+"\x00")},
		{Secrets: sec("A", fake), Only: []string{"["}},
		{Parent: []string{"X=hush://dev"}, Resolve: func(string, string) (Value, error) { return NewValue(fake), nil }},
		{Parent: []string{"X=hush://dev/K"}, Resolve: func(string, string) (Value, error) { return Value{}, errors.New("no identity") }},
	} {
		_, err := BuildEnv(opts)
		if err == nil || strings.Contains(err.Error(), fake) {
			t.Errorf("BuildEnv(%v) err = %v", opts.Secrets, err)
		}
	}
}

func TestBuildEnvResolvesRefs(t *testing.T) {
	t.Parallel()
	calls := 0
	resolve := func(env, key string) (Value, error) {
		calls++
		return NewValue("fake-" + env + "-" + key), nil
	}
	env, err := BuildEnv(EnvOptions{
		Parent: []string{"DB=hush://prod/DB_URL", "DB2=hush://prod/DB_URL", "PLAIN=x", "LD_PRELOAD=hush://dev/LIB"},
		Files:  []string{"FROM_FILE=hush://dev/API_KEY", "PLAIN=from-file"},
		// A store value that looks like a reference is passed as written:
		// a dev-only member must not make a prod member's run read prod.
		Secrets: sec("STORED", "hush://prod/STRIPE_KEY"),
		Resolve: resolve,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Environ{"DB=fake-prod-DB_URL", "DB2=fake-prod-DB_URL", "PLAIN=from-file", "FROM_FILE=fake-dev-API_KEY", "STORED=hush://prod/STRIPE_KEY"}
	if !slices.Equal(env.Environ, want) {
		t.Errorf("got %q", []string(env.Environ))
	}
	if calls != 2 {
		t.Errorf("resolver called %d times, want once per reference and never for a store value", calls)
	}
	if !slices.Equal(env.Dropped, []string{"LD_PRELOAD"}) || len(env.Injected) != 4 {
		t.Errorf("dropped %v, injected %d", env.Dropped, len(env.Injected))
	}
	if !slices.Equal(env.Literal, []string{"STORED"}) {
		t.Errorf("literal %v", env.Literal)
	}
}

func TestBuildEnvHidesIdentity(t *testing.T) {
	t.Parallel()
	parent := []string{"PATH=/bin", "HUSH_IDENTITY=AGE-SECRET-KEY-FAKE", "HUSH_IDENTITY_FILE=/k", "hush_identity=x", "HUSH_ENV=dev"}
	hidden := []string{"HUSH_IDENTITY", "HUSH_IDENTITY_FILE"}
	for _, opts := range []EnvOptions{
		{Parent: parent, Hidden: hidden},
		{Parent: parent, Hidden: hidden, Pristine: true, Keep: []string{"HUSH_IDENTITY"}},
		{Parent: parent, Hidden: hidden, Only: []string{"X"}, Secrets: sec("X", "fake-x")},
		{Parent: parent, Hidden: hidden, Secrets: sec("HUSH_IDENTITY", "fake-from-store"), Allow: []string{"HUSH_IDENTITY"}},
		{Parent: parent, Hidden: hidden, Files: []string{"HUSH_IDENTITY_FILE=/attacker"}, Allow: []string{"HUSH_IDENTITY_FILE"}},
	} {
		env, err := BuildEnv(opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, kv := range env.Environ {
			if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(strings.ToUpper(k), "HUSH_IDENTITY") {
				t.Errorf("%+v: child gets %s", opts.Secrets, k)
			}
		}
	}
}

func TestBuildEnvFilesPolicy(t *testing.T) {
	t.Parallel()
	env, err := BuildEnv(EnvOptions{
		Parent: []string{"MAKEFLAGS=-j4"}, // the user's own: kept
		Files:  []string{"MAKEFLAGS=--eval=x", "NODE_OPTIONS=--require=x", "OK=1", "CC=cc"},
		Allow:  []string{"cc"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := (Environ{"MAKEFLAGS=-j4", "OK=1", "CC=cc"}); !slices.Equal(env.Environ, want) {
		t.Errorf("got %q", []string(env.Environ))
	}
	if !slices.Equal(env.Dropped, []string{"MAKEFLAGS", "NODE_OPTIONS"}) {
		t.Errorf("dropped %v", env.Dropped)
	}
}

func TestParseRef(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		ref     Ref
		isRef   bool
		wantErr bool
	}{
		{"hush://dev/DB_URL", Ref{"dev", "DB_URL"}, true, false},
		{"hush://prod-eu.1/K", Ref{"prod-eu.1", "K"}, true, false},
		{"plain", Ref{}, false, false},
		{"https://x/y", Ref{}, false, false},
		{"hush://dev", Ref{}, true, true},
		{"hush://dev/1BAD", Ref{}, true, true},
		{"hush:///K", Ref{}, true, true},
		{"hush://a/b/c", Ref{}, true, true},
	}
	for _, tt := range tests {
		ref, isRef, err := ParseRef(tt.in)
		if ref != tt.ref || isRef != tt.isRef || (err != nil) != tt.wantErr {
			t.Errorf("ParseRef(%q) = %v %v %v", tt.in, ref, isRef, err)
		}
	}
	refs, err := FindRefs([]string{"A=hush://dev/X", "B=plain", "C=hush://prod/Y"})
	if err != nil || len(refs) != 2 || refs[1].Name != "C" || refs[1].Ref.String() != "hush://prod/Y" {
		t.Errorf("FindRefs = %v, %v", refs, err)
	}
	if refs, err := FindSecretRefs(sec("A", "hush://dev/X")); err != nil || len(refs) != 1 {
		t.Errorf("FindSecretRefs = %v, %v", refs, err)
	}
}

func TestEnvironLookup(t *testing.T) {
	t.Parallel()
	e := Environ{"A=1", "B=x=y", "A=2", "=C:=C:\\"}
	if v, ok := e.Lookup("A"); !ok || v != "2" {
		t.Errorf("Lookup(A) = %q %v", v, ok)
	}
	if v, _ := e.Lookup("B"); v != "x=y" {
		t.Errorf("Lookup(B) = %q", v)
	}
	if !slices.Equal(e.Names(), []string{"A", "B", "A", "=C:"}) {
		t.Errorf("Names = %v", e.Names())
	}
}
