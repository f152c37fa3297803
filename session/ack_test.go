package session

import (
	"errors"
	"os"
	"testing"

	"github.com/hush-secrets/hush/store"
)

// TestAckPinsWhatThePlanShowed: a setting changed by a pull is in the
// plan; applying it pins it; a hush.yaml that changed between the plan
// and the apply is refused and pins nothing.
func TestAckPinsWhatThePlanShowed(t *testing.T) {
	s, _ := coreSession(t)
	p, _ := s.Project()
	pulled := string(p.Raw()) + "vault: {address: \"https://vault.example\"}\n"
	if err := os.WriteFile(p.ConfigPath(), []byte(pulled), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := p.ReloadConfig(); err != nil {
		t.Fatal(err)
	}
	plan, err := s.PlanAck(nil)
	if err != nil || len(plan.Settings) != 1 || plan.Empty() {
		t.Fatalf("plan = %+v, %v; want the vault setting", plan, err)
	}
	// Between the prompt and the pin, the file changes again.
	if err := os.WriteFile(p.ConfigPath(), []byte(pulled+"ssh_identities: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplyAck(plan); !errors.Is(err, store.ErrChangedSinceShown) {
		t.Fatalf("ApplyAck after a change = %v, want ErrChangedSinceShown", err)
	}
	if err := p.CheckSettings("vault"); err == nil {
		t.Fatal("vault was pinned by a refused acknowledgement")
	}
	// As shown, it pins, and nothing is left to acknowledge.
	if err := os.WriteFile(p.ConfigPath(), []byte(pulled), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := p.ReloadConfig(); err != nil {
		t.Fatal(err)
	}
	if plan, err = s.PlanAck(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplyAck(plan); err != nil {
		t.Fatal(err)
	}
	if err := p.CheckSettings("vault"); err != nil {
		t.Fatalf("vault not pinned: %v", err)
	}
	if plan, err = s.PlanAck(nil); err != nil || !plan.Empty() {
		t.Fatalf("plan after ack = %+v, %v", plan, err)
	}
}
