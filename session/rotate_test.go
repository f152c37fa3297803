package session

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hush-secrets/hush/store"
)

func leakValue(v string) func() (string, error) { return func() (string, error) { return v, nil } }

// TestRotate: a new value is a rotation by the one rule; a key that is not
// there, or the same value, changes nothing and is a failed line; an
// audit log that cannot be written refuses it before the change.
func TestRotate(t *testing.T) {
	tl, _ := newTestLeak(t)
	tl.set("dev", "TOKEN", "old")
	if err := tl.session("test", "").Update("dev", store.Team, nil, func(d *store.Document, now time.Time) error {
		d.Secrets["TOKEN"].Exposed = []store.Exposure{{To: "bob", Since: now}}
		d.Secrets["TOKEN"].Compromised = now
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	tl.now = tl.now.Add(24 * time.Hour)
	mark := len(tl.lines())
	env, err := tl.session("rotate", "").Rotate("TOKEN", store.Team, RotateOptions{Read: leakValue("new")})
	if err != nil || env != "dev" {
		t.Fatalf("Rotate = %q, %v", env, err)
	}
	sec := tl.mustDoc("dev").Secrets["TOKEN"]
	if sec.Value.Reveal() != "new" || len(sec.Exposed) != 0 || !sec.Compromised.IsZero() || !sec.Rotated.Equal(tl.now) {
		t.Errorf("after rotate: exposed %v compromised %v rotated %v", sec.Exposed, sec.Compromised, sec.Rotated)
	}
	leakEqual(t, tl.since(mark), "secret.write proj/dev/TOKEN ok")

	before := tl.fileBytes(".hush/dev.age")
	mark = len(tl.lines())
	_, err = tl.session("rotate", "").Rotate("TOKEN", store.Team, RotateOptions{Read: leakValue("new")})
	var ue *UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "same as the old one") {
		t.Errorf("the same value: %v", err)
	}
	if _, err := tl.session("rotate", "").Rotate("NOPE", store.Team, RotateOptions{Generate: true, Length: 16, Charset: "hex"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a missing key: %v", err)
	}
	leakEqual(t, tl.since(mark), "secret.write proj/dev/TOKEN failed", "secret.write proj/dev/NOPE failed")
	asked := false
	if _, err := tl.session("rotate", "").Rotate("bad-name", store.Team, RotateOptions{Read: func() (string, error) { asked = true; return "x", nil }}); !errors.Is(err, store.ErrInvalid) || asked {
		t.Errorf("a bad name: %v (value asked for: %v)", err, asked)
	}
	tl.breakAudit()
	if _, err := tl.session("rotate", "").Rotate("TOKEN", store.Team, RotateOptions{Generate: true, Length: 32, Charset: "alnum"}); err == nil || !strings.Contains(err.Error(), "could not be recorded") {
		t.Errorf("with the audit log unwritable: %v", err)
	}
	if !bytes.Equal(before, tl.fileBytes(".hush/dev.age")) {
		t.Error("the store changed")
	}
}
