package session

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
)

// TestInjectAuditsAndRefuses: a render is one line naming the keys it
// read; a missing key fails it with a failed line for that key and no
// value; an unwritable audit log refuses it before any value is read.
func TestInjectAuditsAndRefuses(t *testing.T) {
	s, _ := coreSession(t)
	for k, v := range map[string]string{"A": "va", "B": "vb", "UNUSED": "vu"} {
		if _, err := s.Set("dev", store.Team, k, store.Value(v), Meta{}); err != nil {
			t.Fatal(err)
		}
	}
	before := len(auditLines(t, s))
	r, err := s.Inject(context.Background(), InjectOptions{Stdin: strings.NewReader(`{{ .B }}-{{ hush "A" | json }}-{{ .B }}`)})
	if err != nil || string(r.Data) != `vb-"va"-vb` || r.Env != "dev" {
		t.Fatalf("%+v, %v", r, err)
	}
	lines := auditLines(t, s)[before:]
	if len(lines) != 1 || lines[0].Action != audit.SecretRead || lines[0].Path != "demo/dev" || !slices.Equal(lines[0].Keys, []string{"B", "A"}) || !lines[0].Success {
		t.Fatalf("lines %+v", lines)
	}

	before += 1
	_, err = s.Inject(context.Background(), InjectOptions{Stdin: strings.NewReader(`{{ .A }} {{ .NOPE }}`)})
	if !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "NOPE") || strings.Contains(err.Error(), "va") {
		t.Fatalf("missing key: %v", err)
	}
	lines = auditLines(t, s)[before:]
	if len(lines) != 1 || lines[0].Path != "demo/dev/NOPE" || lines[0].Success {
		t.Fatalf("lines %+v", lines)
	}

	breakAudit(t, s)
	if r, err := s.Inject(context.Background(), InjectOptions{Stdin: strings.NewReader(`{{ .A }}`)}); err == nil || r != nil {
		t.Fatalf("unwritable audit log: %+v, %v", r, err)
	}
}
