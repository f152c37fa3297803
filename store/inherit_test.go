package store

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hush-secrets/hush/crypt"
)

// TestInheritsPinned: every setting of an environment but its recipients
// (pinned on their own) is a pinned setting, inherits among them, under
// the key an older hush, which kept it as an unknown field, pinned it.
func TestInheritsPinned(t *testing.T) {
	t.Parallel()
	withExtra := mustSettings(t, strings.Replace(baseYAML, "  dev:\n", "  dev:\n    inherits: base\n", 1))
	if got := withExtra[InheritSetting("dev")]; got != `"base"` {
		t.Fatalf("inherits pinned as %q (%v)", got, withExtra)
	}
	if InheritSetting("dev") != "environments.dev.inherits" {
		t.Fatalf("InheritSetting = %s, not the key Extra pins it under", InheritSetting("dev"))
	}
	typ := reflect.TypeOf(EnvConfig{})
	for i := 0; i < typ.NumField(); i++ {
		name, opts, _ := strings.Cut(typ.Field(i).Tag.Get("yaml"), ",")
		if opts == "inline" || name == "recipients" {
			continue
		}
		y := strings.Replace(baseYAML, "  dev:\n", "  dev:\n    "+name+": x\n", 1)
		if _, ok := mustSettings(t, y)["environments.dev."+name]; !ok {
			t.Errorf("EnvConfig field %s (%s) is not pinned", typ.Field(i).Name, name)
		}
	}
}

// chainProject is base <- dev <- staging, each pinned as the user's own.
func chainProject(t *testing.T) (*Project, *crypt.Identity) {
	t.Helper()
	p, id := newProject(t)
	if _, err := p.Register(time.Now()); err != nil {
		t.Fatal(err)
	}
	me := []Recipient{{Key: id.Public, Label: "me"}}
	for _, env := range []string{"base", "staging"} {
		if err := p.CreateEnv(env, me, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.SetInherits("staging", "dev"); err != nil {
		t.Fatal(err)
	}
	if err := p.SetInherits("dev", "base"); err != nil {
		t.Fatal(err)
	}
	set(t, p, id, "base", Team, "REGION", "eu")
	set(t, p, id, "base", Team, "HOST", "base-host")
	set(t, p, id, "dev", Team, "HOST", "dev-host")
	set(t, p, id, "dev", Team, "LEVEL", "debug")
	set(t, p, id, "staging", Team, "LEVEL", "info")
	set(t, p, id, "staging", Personal, "HOST", "my-host")
	return p, id
}

func TestLayeredInherits(t *testing.T) {
	t.Parallel()
	p, id := chainProject(t)
	if parents, err := p.Parents("staging"); err != nil || !reflect.DeepEqual(parents, []string{"dev", "base"}) {
		t.Fatalf("Parents = %v, %v", parents, err)
	}
	entries, err := p.Layered("staging", id)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name+"="+e.Secret.Value.Reveal()+" "+e.Source.String()+"/"+e.Env+" over "+e.Overrides)
	}
	want := []string{
		"HOST=my-host personal/staging over dev", // personal on top of the nearest team value
		"LEVEL=info team/staging over dev",
		"REGION=eu team/base over ",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Layered(staging)\n got %q\nwant %q", got, want)
	}
	// Without the personal store: what the team gives.
	team, err := p.TeamLayered("staging", id)
	if err != nil || len(team) != 3 || team[0].Secret.Value.Reveal() != "dev-host" || team[0].Env != "dev" || team[0].Overrides != "base" {
		t.Fatalf("TeamLayered = %+v, %v", team, err)
	}
	sec, from, err := p.ReadInherited("staging", id, "REGION")
	if err != nil || sec == nil || sec.Value.Reveal() != "eu" || from != "base" {
		t.Fatalf("ReadInherited(REGION) = %v, %q, %v", sec, from, err)
	}
	if sec, from, err := p.ReadInherited("staging", id, "NOPE"); sec != nil || from != "" || err != nil {
		t.Fatalf("ReadInherited(NOPE) = %v, %q, %v", sec, from, err)
	}
	// dev is itself: its child adds nothing to it.
	dev, err := p.Layered("dev", id)
	if err != nil || len(dev) != 3 {
		t.Fatalf("Layered(dev) = %+v, %v", dev, err)
	}
}

// TestInheritsUnreadableParent: a parent the reader cannot decrypt fails
// the read, naming it, as no identity (exit 4); a key the child holds
// itself is read without decrypting the parent.
func TestInheritsUnreadableParent(t *testing.T) {
	t.Parallel()
	p, id := chainProject(t)
	other, err := crypt.Generate()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.CreateEnv("ops", []Recipient{{Key: other.Public, Label: "ops"}}, other); err != nil {
		t.Fatal(err)
	}
	set(t, p, other, "ops", Team, "OPS_ONLY", "x")
	if err := p.SetInherits("base", "ops"); err != nil {
		t.Fatal(err)
	}
	for _, read := range []func() error{
		func() error { _, err := p.Layered("staging", id); return err },
		func() error { _, err := p.TeamLayered("staging", id); return err },
		func() error { _, _, err := p.ReadInherited("staging", id, "OPS_ONLY"); return err },
	} {
		err := read()
		if !errors.Is(err, ErrNoIdentity) || !strings.Contains(err.Error(), "staging inherits from ops (through dev, base), which you cannot read") {
			t.Errorf("read = %v, want ErrNoIdentity naming ops", err)
		}
	}
	if sec, from, err := p.ReadInherited("staging", id, "LEVEL"); err != nil || from != "staging" || sec.Value.Reveal() != "info" {
		t.Fatalf("own key = %v, %q, %v", sec, from, err)
	}
}

func TestInheritsBroken(t *testing.T) {
	t.Parallel()
	p, id := chainProject(t)
	raw := string(p.Raw())
	ack := func(y string) {
		t.Helper()
		writeYAML(t, p, y)
		if err := p.Acknowledge(p.Raw(), nil); err != nil {
			t.Fatal(err)
		}
	}
	cycle := strings.Replace(raw, "    inherits: base\n", "    inherits: staging\n", 1)
	if cycle == raw {
		t.Fatalf("no inherits: base in\n%s", raw)
	}
	// Unacknowledged: refused as a settings change, whatever it says.
	writeYAML(t, p, cycle)
	var se *SettingsError
	if _, err := p.Layered("staging", id); !errors.As(err, &se) || !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), `environments.dev.inherits: "base" -> "staging"`) {
		t.Fatalf("unacknowledged change: %v", err)
	}
	ack(cycle)
	if _, err := p.Layered("staging", id); !errors.Is(err, ErrInheritance) || !strings.Contains(err.Error(), "cycle (staging -> dev -> staging)") {
		t.Fatalf("cycle: %v", err)
	}
	ack(strings.Replace(raw, "    inherits: base\n", "    inherits: qa\n", 1))
	if _, _, err := p.ReadInherited("staging", id, "LEVEL"); !errors.Is(err, ErrInheritance) || !strings.Contains(err.Error(), "environment dev inherits from qa, which is not an environment") {
		t.Fatalf("missing parent: %v", err)
	}
	ack(strings.Replace(raw, "    inherits: base\n", "    inherits: ../prod\n", 1))
	if _, err := p.Parents("staging"); !errors.Is(err, ErrInheritance) || !strings.Contains(err.Error(), "not an environment name") {
		t.Fatalf("bad name: %v", err)
	}
}

func TestSetInherits(t *testing.T) {
	t.Parallel()
	p, _ := chainProject(t)
	if err := p.SetInherits("base", "staging"); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "cycle") {
		t.Fatalf("cycle: %v", err)
	}
	if err := p.SetInherits("base", "base"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("self: %v", err)
	}
	if err := p.SetInherits("base", "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
	if p.Config.Environments["base"].Inherits != "" {
		t.Fatalf("a refused change stayed: %q", p.Config.Environments["base"].Inherits)
	}
	// The user's own change needs no acknowledgement.
	pd, err := p.Pending()
	if err != nil || !pd.Empty() {
		t.Fatalf("Pending after own changes = %+v, %v", pd, err)
	}
	if err := p.RemoveEnv("dev"); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "staging inherit from dev") {
		t.Fatalf("RemoveEnv(dev) = %v", err)
	}
	if err := p.SetInherits("staging", ""); err != nil {
		t.Fatal(err)
	}
	if err := p.RemoveEnv("dev"); err != nil {
		t.Fatalf("RemoveEnv(dev) with no child = %v", err)
	}
}

// BenchmarkLayered is a read of an environment with no parent and of one
// with a chain of two: what Parents' pin checks add to every read.
func BenchmarkLayered(b *testing.B) {
	p, id := newProject(b)
	if _, err := p.Register(time.Now()); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		set(b, p, id, "dev", Team, "KEY_"+strings.Repeat("X", i%5)+string(rune('A'+i%26)), "value")
	}
	me := []Recipient{{Key: id.Public, Label: "me"}}
	for _, env := range []string{"staging", "qa"} {
		if err := p.CreateEnv(env, me, id); err != nil {
			b.Fatal(err)
		}
	}
	if err := p.SetInherits("staging", "dev"); err != nil {
		b.Fatal(err)
	}
	if err := p.SetInherits("qa", "staging"); err != nil {
		b.Fatal(err)
	}
	for _, env := range []string{"dev", "qa"} {
		b.Run(env, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := p.Layered(env, id); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("parents", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := p.Parents("qa"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
