package session

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hush-secrets/hush/store"
)

// TestApplyEditFollowsTheRuleForANewValue: an edit writes values the way
// hush set does (Document.SetValue): a changed value clears the exposure
// and compromise marks and is a rotation, a new key gets the type its
// name suggests, an untouched key keeps everything, a dropped key goes.
func TestApplyEditFollowsTheRuleForANewValue(t *testing.T) {
	tl, _ := newTestLeak(t)
	tl.set("dev", "CHANGE", "old")
	tl.set("dev", "KEEP", "same")
	tl.set("dev", "DROP", "gone")
	created := tl.now
	// CHANGE is compromised and exposed; KEEP is exposed and has a note.
	if err := tl.session("test", "").Update("dev", store.Team, nil, func(d *store.Document, now time.Time) error {
		d.Secrets["CHANGE"].Compromised = now
		d.Secrets["CHANGE"].Exposed = []store.Exposure{{To: "bob", Since: now}}
		d.Secrets["KEEP"].Exposed = []store.Exposure{{To: "bob", Since: now}}
		d.Secrets["KEEP"].Note = "keep my note"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	tl.now = tl.now.Add(time.Hour)
	s := tl.session("edit", "")
	draft, err := s.EditRead("dev", store.Team)
	if err != nil {
		t.Fatal(err)
	}
	vals, err := ParseEdit(draft.Body)
	if err != nil {
		t.Fatalf("the draft's own body does not parse: %v", err)
	}
	if len(vals) != 3 || vals["CHANGE"] != "old" {
		t.Fatalf("draft values = %d keys, CHANGE=%q", len(vals), vals["CHANGE"])
	}
	delete(vals, "DROP")
	vals["CHANGE"] = "new"
	vals["STRIPE_API_KEY"] = "sk_test_x"
	mark := len(tl.lines())
	r, err := s.ApplyEdit(draft, vals)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(r.Changed, ",") != "CHANGE,STRIPE_API_KEY" || strings.Join(r.Removed, ",") != "DROP" {
		t.Errorf("report: changed %v removed %v", r.Changed, r.Removed)
	}
	d := tl.mustDoc("dev")
	ch := d.Secrets["CHANGE"]
	if ch.Value.Reveal() != "new" || !ch.Compromised.IsZero() || len(ch.Exposed) != 0 || !ch.Rotated.Equal(tl.now) || !ch.Created.Equal(created) {
		t.Errorf("CHANGE after edit: value %q compromised %v exposed %v rotated %v created %v", ch.Value.Reveal(), ch.Compromised, ch.Exposed, ch.Rotated, ch.Created)
	}
	nk := d.Secrets["STRIPE_API_KEY"]
	if nk == nil || nk.Type != "api-key" || !nk.Created.Equal(tl.now) {
		t.Errorf("new key after edit: %+v (want type api-key, from the name)", nk)
	}
	keep := d.Secrets["KEEP"]
	if keep.Note != "keep my note" || len(keep.Exposed) != 1 || !keep.Updated.Equal(created) {
		t.Errorf("KEEP was touched: note %q exposed %v updated %v", keep.Note, keep.Exposed, keep.Updated)
	}
	if _, ok := d.Secrets["DROP"]; ok {
		t.Error("DROP is still there")
	}
	leakEqual(t, tl.since(mark),
		"secret.write proj/dev/CHANGE ok",
		"secret.write proj/dev/STRIPE_API_KEY ok",
		"secret.delete proj/dev/DROP ok")
}

// TestApplyEditUnchangedIsNoWrite: a buffer saved with the same values is
// no write and no audit line.
func TestApplyEditUnchangedIsNoWrite(t *testing.T) {
	tl, _ := newTestLeak(t)
	tl.set("dev", "A", "1")
	before := tl.fileBytes(".hush/dev.age")
	s := tl.session("edit", "")
	draft, err := s.EditRead("dev", store.Team)
	if err != nil {
		t.Fatal(err)
	}
	mark := len(tl.lines())
	r, err := s.ApplyEdit(draft, map[string]string{"A": "1"})
	if err != nil || len(r.Changed)+len(r.Removed) != 0 {
		t.Fatalf("ApplyEdit = %+v, %v", r, err)
	}
	if !bytes.Equal(before, tl.fileBytes(".hush/dev.age")) {
		t.Error("an unchanged edit rewrote the store")
	}
	leakEqual(t, tl.since(mark))
}

// TestApplyEditAllOrNothing: one bad value among good ones changes
// nothing; a change refused by the store (a recipient change nobody
// acknowledged) changes nothing and records the failure on every key; an
// audit log that cannot be written refuses the edit before the change.
func TestApplyEditAllOrNothing(t *testing.T) {
	tl, _ := newTestLeak(t)
	tl.set("dev", "A", "1")
	tl.set("dev", "B", "2")
	s := tl.session("edit", "")
	draft, err := s.EditRead("dev", store.Team)
	if err != nil {
		t.Fatal(err)
	}
	before := tl.fileBytes(".hush/dev.age")

	t.Run("bad key", func(t *testing.T) {
		mark := len(tl.lines())
		_, err := s.ApplyEdit(draft, map[string]string{"A": "changed", "B": "2", "not-a-name": "x"})
		if err == nil || !strings.Contains(err.Error(), "nothing changed") {
			t.Fatalf("err = %v", err)
		}
		if !bytes.Equal(before, tl.fileBytes(".hush/dev.age")) {
			t.Error("store changed")
		}
		leakEqual(t, tl.since(mark))
	})

	t.Run("recipient change not acknowledged", func(t *testing.T) {
		other, _ := newTestLeak(t)
		cfgPath := filepath.Join(tl.root, ".hush", "hush.yaml")
		cfg, err := os.ReadFile(cfgPath)
		if err != nil {
			t.Fatal(err)
		}
		defer os.WriteFile(cfgPath, cfg, 0o644)
		planted := strings.Replace(string(cfg), "recipients:\n", "recipients:\n      - key: "+other.id.Public+"\n        label: mallory\n", 1)
		if planted == string(cfg) {
			t.Fatalf("could not plant a recipient in:\n%s", cfg)
		}
		if err := os.WriteFile(cfgPath, []byte(planted), 0o644); err != nil {
			t.Fatal(err)
		}
		mark := len(tl.lines())
		_, err = tl.session("edit", "").ApplyEdit(draft, map[string]string{"A": "changed"})
		var pe *store.PinError
		if !errors.As(err, &pe) {
			t.Fatalf("err = %v, want a PinError", err)
		}
		if !bytes.Equal(before, tl.fileBytes(".hush/dev.age")) {
			t.Error("store changed")
		}
		leakEqual(t, tl.since(mark), "secret.write proj/dev/A failed", "secret.delete proj/dev/B failed")
	})

	t.Run("audit log unwritable", func(t *testing.T) {
		tl.breakAudit()
		_, err := tl.session("edit", "").ApplyEdit(draft, map[string]string{"A": "changed", "B": "2"})
		if err == nil || !strings.Contains(err.Error(), "could not be recorded") {
			t.Fatalf("err = %v", err)
		}
		if !bytes.Equal(before, tl.fileBytes(".hush/dev.age")) {
			t.Error("store changed although its audit line could not be written")
		}
		if err := tl.session("edit", "").EditCheck("dev", store.Team); err == nil {
			t.Error("EditCheck passes with an unwritable audit log: the editor would show plaintext for an edit that cannot be saved")
		}
	})
}

// TestEditReadRefusesBinary: a value that is not UTF-8 text is refused by
// name before a buffer is made, and the read is recorded.
func TestEditReadRefusesBinary(t *testing.T) {
	tl, _ := newTestLeak(t)
	tl.set("dev", "BLOB", "a\xffb")
	mark := len(tl.lines())
	_, err := tl.session("edit", "").EditRead("dev", store.Team)
	if err == nil || !strings.Contains(err.Error(), "BLOB") || strings.Contains(err.Error(), "a\xffb") {
		t.Fatalf("err = %v", err)
	}
	leakEqual(t, tl.since(mark), "secret.read proj/dev ok")
}

// TestParseEditRefuses: what set refuses, and a key given twice, with no
// value in the error.
func TestParseEditRefuses(t *testing.T) {
	for _, in := range []string{"A=sekrit1\nA=sekrit2\n", "1BAD=sekrit\n", "A=\"sekrit\n"} {
		_, err := ParseEdit([]byte(in))
		if err == nil || strings.Contains(err.Error(), "sekrit") {
			t.Errorf("ParseEdit(%q) = %v", in, err)
		}
	}
}

// TestApplyEditKeepsAConcurrentChange: the edit is a diff applied to the
// store as it is at the write, so a key another hush set in the meantime
// (new, or changed and left alone by the edit) is kept.
func TestApplyEditKeepsAConcurrentChange(t *testing.T) {
	tl, _ := newTestLeak(t)
	tl.set("dev", "A", "1")
	tl.set("dev", "B", "2")
	s := tl.session("edit", "")
	draft, err := s.EditRead("dev", store.Team)
	if err != nil {
		t.Fatal(err)
	}
	tl.set("dev", "B", "changed meanwhile")
	tl.set("dev", "C", "added meanwhile")
	if _, err := s.ApplyEdit(draft, map[string]string{"A": "edited", "B": "2"}); err != nil {
		t.Fatal(err)
	}
	d := tl.mustDoc("dev")
	for k, want := range map[string]string{"A": "edited", "B": "changed meanwhile", "C": "added meanwhile"} {
		if sec := d.Secrets[k]; sec == nil || sec.Value.Reveal() != want {
			t.Errorf("%s after the edit: %v", k, sec)
		}
	}
}
