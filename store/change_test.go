package store

import (
	"testing"
	"time"
)

func TestSetValue(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t1 := t0.Add(time.Hour)
	d := NewDocument("dev")

	sec, ch := d.SetValue("DB_PASSWORD", Value("a"), t0)
	if ch != Created || sec.Type != "database" || sec.Created != t0 || sec.Updated != t0 || sec.Rotated != t0 || sec.Value.Reveal() != "a" {
		t.Fatalf("new key: %v %+v", ch, sec)
	}
	sec.Exposed = []Exposure{{To: "bob", Since: t0}}
	sec.Compromised = t0
	sec.Type, sec.Note = "custom", "kept"

	if s2, ch := d.SetValue("DB_PASSWORD", Value("a"), t1); ch != Unchanged || s2.Updated != t0 || len(s2.Exposed) != 1 || s2.Compromised != t0 {
		t.Fatalf("same value: %v %+v", ch, s2)
	}
	s3, ch := d.SetValue("DB_PASSWORD", Value("b"), t1)
	if ch != Replaced || s3.Value.Reveal() != "b" || s3.Updated != t1 || s3.Rotated != t1 || s3.Created != t0 ||
		s3.Exposed != nil || !s3.Compromised.IsZero() || s3.Type != "custom" || s3.Note != "kept" {
		t.Fatalf("new value: %v %+v", ch, s3)
	}
	if s, _ := d.SetValue("PLAIN", Value("x"), t0); s.Type != "" {
		t.Fatalf("no type fits PLAIN, got %q", s.Type)
	}
}
