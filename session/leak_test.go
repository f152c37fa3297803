package session

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hush-secrets/hush/store"
)

// TestLeakMarksCompromised: a leak without a new value records the leak
// and marks the secret compromised, keeping its value; the runbook names
// the other environments holding the key and the accesses recorded.
func TestLeakMarksCompromised(t *testing.T) {
	tl, _ := newTestLeak(t, "prod", "staging")
	tl.set("prod", "STRIPE_API_KEY", "sk_live_1")
	tl.set("staging", "STRIPE_API_KEY", "sk_test_1")
	tl.now = tl.now.Add(time.Hour)
	mark := len(tl.lines())
	s := tl.session("leak", "prod")
	l, err := s.RecordLeak("STRIPE_API_KEY")
	if err != nil {
		t.Fatal(err)
	}
	if l.Env != "prod" || !strings.Contains(l.Revoke, "Stripe") {
		t.Errorf("leak = %+v", l)
	}
	r, err := s.RotateLeaked(l, LeakRotation{})
	if err != nil {
		t.Fatal(err)
	}
	sec := tl.mustDoc("prod").Secrets["STRIPE_API_KEY"]
	if r.Rotated || sec.Value.Reveal() != "sk_live_1" || !sec.Compromised.Equal(tl.now) {
		t.Errorf("rotated %v, value kept %v, compromised %v", r.Rotated, sec.Value.Reveal() == "sk_live_1", sec.Compromised)
	}
	if strings.Join(r.AlsoIn, ",") != "staging" || strings.Join(r.Recipients, ",") != "me" {
		t.Errorf("also in %v, recipients %v", r.AlsoIn, r.Recipients)
	}
	leakEqual(t, tl.since(mark), "secret.leak proj/prod/STRIPE_API_KEY ok", "secret.write proj/prod/STRIPE_API_KEY ok",
		"secret.list proj/staging ok")
	// The accesses are every line of that path, the leak's own included.
	var acts []string
	for _, e := range r.Accesses {
		acts = append(acts, e.Action)
	}
	if strings.Join(acts, ",") != "secret.write,secret.leak,secret.write" || r.AccessErr != nil {
		t.Errorf("accesses = %v, %v", acts, r.AccessErr)
	}
}

// TestLeakRotates: a new value (generated or given) is a rotation by the
// one rule: the marks go. The leaked value given again is no rotation:
// the secret is marked compromised.
func TestLeakRotates(t *testing.T) {
	for _, tc := range []struct {
		name    string
		o       LeakRotation
		rotated bool
	}{
		{"generate", LeakRotation{Generate: true}, true},
		{"value", LeakRotation{Value: "fresh"}, true},
		{"the leaked value", LeakRotation{Value: "old"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tl, _ := newTestLeak(t)
			tl.set("dev", "DB_PASSWORD", "old")
			if err := tl.session("test", "").Update("dev", store.Team, nil, func(d *store.Document, now time.Time) error {
				d.Secrets["DB_PASSWORD"].Exposed = []store.Exposure{{To: "bob", Since: now}}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			tl.now = tl.now.Add(time.Hour)
			s := tl.session("leak", "")
			l, err := s.RecordLeak("DB_PASSWORD")
			if err != nil {
				t.Fatal(err)
			}
			r, err := s.RotateLeaked(l, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			sec := tl.mustDoc("dev").Secrets["DB_PASSWORD"]
			if r.Rotated != tc.rotated {
				t.Errorf("rotated = %v", r.Rotated)
			}
			if tc.rotated {
				if sec.Value.Reveal() == "old" || len(sec.Exposed) != 0 || !sec.Compromised.IsZero() || !sec.Rotated.Equal(tl.now) {
					t.Errorf("after rotation: exposed %v compromised %v rotated %v", sec.Exposed, sec.Compromised, sec.Rotated)
				}
				if tc.o.Generate && len(sec.Value.Reveal()) != 32 {
					t.Errorf("generated value has %d chars", len(sec.Value.Reveal()))
				}
			} else if sec.Compromised.IsZero() || len(sec.Exposed) != 1 {
				t.Errorf("the leaked value given again: compromised %v exposed %v", sec.Compromised, sec.Exposed)
			}
		})
	}
}

// TestLeakRefusals: a key that is not there is a failed leak line and no
// write; an audit log that cannot be written refuses the leak before
// anything is changed.
func TestLeakRefusals(t *testing.T) {
	tl, _ := newTestLeak(t)
	tl.set("dev", "A", "1")
	before := tl.fileBytes(".hush/dev.age")
	mark := len(tl.lines())
	if _, err := tl.session("leak", "").RecordLeak("MISSING"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("leak of a missing key: %v", err)
	}
	leakEqual(t, tl.since(mark), "secret.leak proj/dev/MISSING failed")
	if _, err := tl.session("leak", "").RecordLeak("not-a-name"); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("leak of a bad name: %v", err)
	}

	s := tl.session("leak", "")
	l, err := s.RecordLeak("A")
	if err != nil {
		t.Fatal(err)
	}
	tl.breakAudit()
	if _, err := s.RotateLeaked(l, LeakRotation{Value: "new"}); err == nil || !strings.Contains(err.Error(), "could not be recorded") {
		t.Errorf("rotate with the audit log unwritable: %v", err)
	}
	if _, err := tl.session("leak", "").RecordLeak("A"); err == nil {
		t.Error("a leak was accepted that could not be recorded")
	}
	if !bytes.Equal(before, tl.fileBytes(".hush/dev.age")) {
		t.Error("the store changed although nothing could be recorded")
	}
}

func TestRevokeAdvice(t *testing.T) {
	for _, tc := range []struct{ name, typ, want string }{
		{"AWS_SECRET_ACCESS_KEY", "", "AWS IAM"},
		{"GH_TOKEN", "", "GitHub"},
		{"db_pass", "database", "database user"},
		{"X", "", "where it is issued"},
	} {
		if got := RevokeAdvice(tc.name, tc.typ); !strings.Contains(got, tc.want) {
			t.Errorf("RevokeAdvice(%s, %s) = %q", tc.name, tc.typ, got)
		}
	}
}
