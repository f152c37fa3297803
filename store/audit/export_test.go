package audit

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func exportEntry(t0 time.Time, min int, path string) Entry {
	return Entry{Time: t0.Add(time.Duration(min) * time.Minute), Action: SecretRead, Path: path, Identity: "age1x", PID: 1, Command: "hush get", Success: true,
		Host: "h", Version: "v", Source: "https://vault:8200", Lease: "L"}
}

// ExportLines writes the log's own bytes across segments: a chain that
// verifies again.
func TestExportLinesAcrossSegments(t *testing.T) {
	dir := t.TempDir()
	l := &Log{Path: filepath.Join(dir, "audit.jsonl"), MaxSize: 300}
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for i := range 6 {
		if err := l.Append(exportEntry(t0, i, "app/prod/K")); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	rep, err := l.ExportLines(nil, &out)
	if err != nil || rep.Lines != 6 || rep.Segments < 2 {
		t.Fatalf("export: %+v %v", rep, err)
	}
	var all []byte
	segs, _ := l.segments()
	for _, s := range segs {
		b, _ := os.ReadFile(s)
		all = append(all, b...)
	}
	if !bytes.Equal(out.Bytes(), all) {
		t.Errorf("export differs from the segments")
	}
	if n, err := Verify(bytes.NewReader(out.Bytes())); err != nil || n != 6 {
		t.Errorf("export does not verify: %d %v", n, err)
	}
	// A broken log exports nothing.
	b, _ := os.ReadFile(l.Path)
	os.WriteFile(l.Path, bytes.Replace(b, []byte(`"success":true`), []byte(`"success":false`), 1), 0o600)
	out.Reset()
	if _, err := l.ExportLines(nil, &out); !errors.Is(err, ErrChain) || out.Len() != 0 {
		t.Errorf("broken log: %v, wrote %d bytes", err, out.Len())
	}
}

func exported(t *testing.T, entries ...Entry) []byte {
	t.Helper()
	l := &Log{Path: filepath.Join(t.TempDir(), "audit.jsonl")}
	for _, e := range entries {
		if err := l.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	if _, err := l.ExportLines(nil, &out); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestMergeTimeline(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	ann := exported(t, exportEntry(t0, 0, "app/prod/A"), exportEntry(t0, 5, "app/prod/C"))
	bob := exported(t, exportEntry(t0, 2, "app/prod/B"), exportEntry(t0, 9, "app/prod/D"))
	// Ann's older export (her first line only) is a prefix of the newer.
	annOld := ann[:bytes.IndexByte(ann, '\n')+1]
	recs, err := Merge([]MergeInput{{"ann.jsonl", bytes.NewReader(ann)}, {"bob.jsonl", bytes.NewReader(bob)}, {"ann-old.jsonl", bytes.NewReader(annOld)}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, r.Path+"@"+r.Log)
	}
	want := "app/prod/A@ann.jsonl app/prod/B@bob.jsonl app/prod/C@ann.jsonl app/prod/D@bob.jsonl"
	if strings.Join(got, " ") != want {
		t.Errorf("timeline %v, want %s", got, want)
	}
	if r := recs[0]; r.SourceIP != "https://vault:8200" || r.Lease != "L" || r.Host != "h" || r.Hash == "" {
		t.Errorf("record %+v", r)
	}

	// An edited line in one file stops the merge and names the file.
	bad := bytes.Replace(bob, []byte("app/prod/D"), []byte("app/prod/E"), 1)
	_, err = Merge([]MergeInput{{"ann.jsonl", bytes.NewReader(ann)}, {"bob.jsonl", bytes.NewReader(bad)}})
	if !errors.Is(err, ErrChain) || !strings.Contains(err.Error(), "bob.jsonl: audit log chain broken at line 2") {
		t.Errorf("edited export: %v", err)
	}
	// A file cut at the front does not start at the chain's beginning.
	_, err = Merge([]MergeInput{{"bob.jsonl", bytes.NewReader(bob[bytes.IndexByte(bob, '\n')+1:])}})
	if !errors.Is(err, ErrChain) {
		t.Errorf("export without its first line: %v", err)
	}
	if _, err := Merge([]MergeInput{{"empty", bytes.NewReader(nil)}}); !errors.Is(err, ErrChain) {
		t.Errorf("empty export: %v", err)
	}
}

func TestWriteRecordsFormats(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	e := exportEntry(t0, 0, "=HYPERLINK(\"x\")")
	e.Error = "-1+1"
	recs := []Record{ToRecord(e), ToRecord(exportEntry(t0, 1, "app/prod/B"))}
	each := func(yield func(Record) error) error {
		for _, r := range recs {
			if err := yield(r); err != nil {
				return err
			}
		}
		return nil
	}
	var b bytes.Buffer
	if err := WriteRecords(&b, "json", each); err != nil {
		t.Fatal(err)
	}
	var arr []map[string]any
	if err := json.Unmarshal(b.Bytes(), &arr); err != nil || len(arr) != 2 {
		t.Fatalf("json %s: %v", b.String(), err)
	}
	for _, k := range []string{"timestamp", "action", "path", "identity", "source_ip", "success", "host", "version", "lease"} {
		if _, ok := arr[1][k]; !ok {
			t.Errorf("json record lacks %s", k)
		}
	}
	b.Reset()
	WriteRecords(&b, "json", func(func(Record) error) error { return nil })
	if b.String() != "[]\n" {
		t.Errorf("empty json %q", b.String())
	}
	b.Reset()
	if err := WriteRecords(&b, "csv", each); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil || len(rows) != 3 || strings.Join(rows[0], ",") != strings.Join(CSVHeader, ",") {
		t.Fatalf("csv %v %v", rows, err)
	}
	if rows[1][2] != `'=HYPERLINK("x")` || rows[1][12] != "'-1+1" || rows[2][2] != "app/prod/B" || rows[1][5] != "true" {
		t.Errorf("csv row %q", rows[1])
	}
	if err := WriteRecords(&b, "xml", each); err == nil {
		t.Error("xml accepted")
	}
}
