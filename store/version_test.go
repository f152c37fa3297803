package store

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/hush-secrets/hush/crypt"
)

// A document of text values is written as version 1, byte for byte as
// before version 2 existed, so an older hush keeps reading it; one binary
// value makes it version 2, with that value (only) base64-encoded; taking
// the value out makes it version 1 again.
func TestDocumentVersions(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	d := NewDocument("dev")
	d.Secrets["TEXT"] = &Secret{Value: "café <✓> \"q\"", Type: "password", Created: at}
	plain, err := d.Encode()
	if err != nil {
		t.Fatal(err)
	}
	want := "{\"version\":1,\"environment\":\"dev\",\"secrets\":{\n\"TEXT\":{\"value\":\"café <✓> \\\"q\\\"\",\"type\":\"password\",\"created\":\"2026-12-01T10:00:00Z\"}}}\n"
	if string(plain) != want {
		t.Fatalf("text document:\n got %s\nwant %s", plain, want)
	}

	raw := "\xff\x00\xfe bin\x80"
	d.Secrets["BIN"] = &Secret{Value: Value(raw), Note: "key file"}
	d.Secrets["NUL"] = &Secret{Value: "a\x00b"}
	plain, err = d.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(plain, []byte(`{"version":2,`)) {
		t.Fatalf("binary document not version 2: %s", plain)
	}
	for _, w := range []string{
		`"BIN":{"value":"` + base64.StdEncoding.EncodeToString([]byte(raw)) + `","encoding":"base64","note":"key file"}`,
		`"NUL":{"value":"YQBi","encoding":"base64"}`,
		`"TEXT":{"value":"café <✓> \"q\"","type":"password"`,
	} {
		if !bytes.Contains(plain, []byte(w)) {
			t.Errorf("document lacks %s:\n%s", w, plain)
		}
	}
	if _, ok := decodeFast(string(plain)); ok {
		t.Error("the fast path took a document with an encoded value (it must leave those to encoding/json)")
	}
	back, err := DecodeDocument(plain, "dev")
	if err != nil {
		t.Fatal(err)
	}
	if back.Version != 2 || back.Secrets["BIN"].Value.Reveal() != raw || back.Secrets["NUL"].Value.Reveal() != "a\x00b" ||
		back.Secrets["BIN"].Note != "key file" || back.Secrets["TEXT"].Value != d.Secrets["TEXT"].Value {
		t.Fatalf("version 2 read back wrong: %#v", back)
	}
	for name, s := range back.Secrets {
		if s.encoded {
			t.Errorf("%s keeps its decoding mark", name)
		}
	}
	one, ok := decodeOne(string(plain), "dev", "TEXT")
	if ok && one.Secrets["TEXT"].Value != d.Secrets["TEXT"].Value {
		t.Error("decodeOne of a version-2 document")
	}

	delete(back.Secrets, "BIN")
	delete(back.Secrets, "NUL")
	plain, err = back.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if string(plain) != want {
		t.Fatalf("without binary values the document is not version 1 again:\n%s", plain)
	}
}

// What hush never writes is refused, never guessed at.
func TestDocumentEncodingRefused(t *testing.T) {
	t.Parallel()
	for name, in := range map[string]string{
		"encoding in version 1": `{"version":1,"environment":"dev","secrets":{"A":{"value":"eA==","encoding":"base64"}}}`,
		"unknown encoding":      `{"version":2,"environment":"dev","secrets":{"A":{"value":"eA==","encoding":"hex"}}}`,
		"bad base64":            `{"version":2,"environment":"dev","secrets":{"A":{"value":"supersecretvalue!","encoding":"base64"}}}`,
		"unpadded base64":       `{"version":2,"environment":"dev","secrets":{"A":{"value":"eA","encoding":"base64"}}}`,
		"base64 with a newline": `{"version":2,"environment":"dev","secrets":{"A":{"value":"eA=\n=","encoding":"base64"}}}`,
		"NUL in a string, v2":   `{"version":2,"environment":"dev","secrets":{"A":{"value":"a\u0000b"}}}`,
		"NUL in a string, v1":   `{"version":1,"environment":"dev","secrets":{"A":{"value":"a\u0000b"}}}`,
		"encoding not a string": `{"version":2,"environment":"dev","secrets":{"A":{"value":"eA==","encoding":1}}}`,
		"version 3":             `{"version":3,"environment":"dev","secrets":{}}`,
		"over 1 MiB, base64'd":  `{"version":2,"environment":"dev","secrets":{"A":{"value":"` + base64.StdEncoding.EncodeToString(make([]byte, MaxValueSize+1)) + `","encoding":"base64"}}}`,
	} {
		_, err := DecodeDocument([]byte(in), "dev")
		if !errors.Is(err, ErrIntegrity) {
			t.Errorf("%s: err = %v, want ErrIntegrity", name, err)
		}
		if err != nil && strings.Contains(err.Error(), "supersecretvalue") {
			t.Errorf("%s: error quotes the value: %v", name, err)
		}
	}
	// An encoded value that happens to be text reads as that text.
	d, err := DecodeDocument([]byte(`{"version":2,"environment":"dev","secrets":{"A":{"value":"eA==","encoding":"base64"}}}`), "dev")
	if err != nil || d.Secrets["A"].Value.Reveal() != "x" {
		t.Fatalf("encoded text: %v, %v", d, err)
	}
}

// A merge compares secrets through their JSON: two different binary values
// must not look the same (as two runs of U+FFFD would).
func TestMergeTellsBinaryValuesApart(t *testing.T) {
	t.Parallel()
	doc := func(v string) *Document {
		d := NewDocument("dev")
		d.Secrets["K"] = &Secret{Value: Value(v)}
		return d
	}
	base, ours, theirs := doc("\xff\x01"), doc("\xff\x02"), doc("\xfe\x03")
	_, conflicts := Merge3(base, ours, theirs, IncomingTheirs)
	if _, ok := conflicts["K"]; !ok {
		t.Fatal("two different binary changes merged without a conflict")
	}
	merged, conflicts := Merge3(base, base, theirs, IncomingTheirs)
	if len(conflicts) != 0 || merged.Secrets["K"].Value.Reveal() != "\xfe\x03" {
		t.Fatalf("one-sided binary change: %v, %q", conflicts, merged.Secrets["K"].Value.Reveal())
	}
}

// FuzzValueBytes: any value of up to 1 MiB is stored byte for byte, in the
// lowest version that holds it.
func FuzzValueBytes(f *testing.F) {
	for _, s := range []string{"", "x", "\x00", "\xff", "é", "\xed\xa0\x80", "a\x00b\xffc", "\ufffd", strings.Repeat("\x80", 100)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		d := NewDocument("dev")
		d.Secrets["K"] = &Secret{Value: Value(v), Note: string(v[:min(len(v), 3)])}
		plain, err := d.Encode()
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeDocument(plain, "dev")
		if err != nil {
			t.Fatalf("%q: %v", v, err)
		}
		if got := back.Secrets["K"].Value.Reveal(); got != string(v) {
			t.Fatalf("stored %q, read back %q", v, got)
		}
		if wantV := map[bool]int{false: 1, true: 2}[binary(string(v))]; back.Version != wantV {
			t.Fatalf("%q written as version %d, want %d", v, back.Version, wantV)
		}
	})
}

// The version-1 store committed under testdata, written by hush before
// version 2, reads exactly: values, metadata, and the U+FFFD that hush
// stored then for bytes that were not UTF-8.
func TestVersion1Fixture(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("..", "testdata", "store", "v1")
	keyText, err := os.ReadFile(filepath.Join(dir, "TEST-ONLY-age-key.txt"))
	if err != nil {
		t.Fatal(err)
	}
	ids, err := age.ParseIdentities(bytes.NewReader(keyText))
	if err != nil {
		t.Fatal(err)
	}
	ct, err := os.ReadFile(filepath.Join(dir, "dev.age"))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := crypt.Decrypt(ct, ids...)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(plain, []byte(`{"version":1,`)) {
		t.Fatalf("the fixture is not version 1")
	}
	if _, ok := decodeFast(string(plain)); !ok {
		t.Error("the fast path declined a version-1 document hush wrote")
	}
	d, err := DecodeDocument(plain, "dev")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"DB_PASSWORD": `pa$$w0rd "quoted" \ back`,
		"MULTI_LINE":  "line one\nline two\n",
		"UNICODE":     "café ✓",
		"WAS_BINARY":  "\ufffd\ufffdAB",
	}
	if len(d.Secrets) != len(want) {
		t.Fatalf("%d secrets, want %d", len(d.Secrets), len(want))
	}
	for k, v := range want {
		if got := d.Secrets[k].Value.Reveal(); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if s := d.Secrets["DB_PASSWORD"]; s.Type != "database" || s.RotateEvery != "30d" || s.Note != "made by hush before document version 2" || s.Created.IsZero() {
		t.Errorf("DB_PASSWORD metadata: %#v", s)
	}
	// Written again, it is a version-1 document with the same content (the
	// old hush escaped its U+FFFD as \ufffd; this one writes the rune).
	again, err := d.Encode()
	if err != nil {
		t.Fatal(err)
	}
	d2, err := DecodeDocument(again, "dev")
	if err != nil || !bytes.HasPrefix(again, []byte(`{"version":1,`)) || !reflect.DeepEqual(d2, d) {
		t.Errorf("re-encoded fixture differs (%v):\n%s\n%s", err, again, plain)
	}
}

// A merge conflict file keeps binary values exactly too, and one of text
// values is version 1, as a hush before version 2 wrote it.
func TestConflictFileBinary(t *testing.T) {
	t.Parallel()
	p, id := newProject(t)
	rcpts := []Recipient{{Key: id.Public, Label: "me"}}
	store, err := p.Read("dev", Team, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		ours, theirs string
	}{{"text a", "text b"}, {"\xff\x00ours", "\xfetheirs"}} {
		in := map[string]Conflict{"K": {Ours: &Secret{Value: Value(c.ours)}, Theirs: &Secret{Value: Value(c.theirs)}}}
		if err := p.WriteConflicts("dev", in, rcpts, store); err != nil {
			t.Fatal(err)
		}
		got, err := p.ReadConflicts("dev", id)
		if err != nil {
			t.Fatal(err)
		}
		if got["K"].Ours.Value.Reveal() != c.ours || got["K"].Theirs.Value.Reveal() != c.theirs {
			t.Fatalf("conflict read back %q / %q, want %q / %q", got["K"].Ours.Value.Reveal(), got["K"].Theirs.Value.Reveal(), c.ours, c.theirs)
		}
		ct, err := os.ReadFile(p.ConflictPath("dev"))
		if err != nil {
			t.Fatal(err)
		}
		plain, err := crypt.Decrypt(ct, id.Identity)
		if err != nil {
			t.Fatal(err)
		}
		want := map[bool]string{false: `{"version":1,`, true: `{"version":2,`}[binary(c.ours)]
		if !bytes.HasPrefix(plain, []byte(want)) {
			t.Errorf("conflict file of %q starts %.20s, want %s", c.ours, plain, want)
		}
	}
}
