package scan

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// reportFixture scans text holding secrets of several kinds and returns the
// findings and the secrets whole.
func reportFixture(t *testing.T) ([]Finding, []string) {
	t.Helper()
	known := "Correct-Horse-Battery-9"
	secrets := []string{
		fakeToken(t, "aws-access-key-id", 40), fakeToken(t, "github-pat", 41),
		fakeToken(t, "private-key-openssh", 42), "Xq7#vP2!mK9z", known,
	}
	text := "aws = " + secrets[0] + "\ngh: " + secrets[1] + "\n" + secrets[2] + "\npassword = \"" + secrets[3] +
		"\"\nconn = \"" + known + "\"\n"
	s := newTestScanner(t, Config{Known: map[string]string{"prod/DB_PASSWORD": known}})
	fs, err := s.ScanReader(context.Background(), "config/app.yaml", strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 5 {
		t.Fatalf("got %d findings, want 5: %v", len(fs), fs)
	}
	// What the history scan adds.
	fs[0].Commit, fs[0].Author = "0123456789abcdef0123456789abcdef01234567", "Dev <dev@example.test>"
	return fs, secrets
}

// TestRedactionEveryFormat: no format ever holds a whole secret, and each
// holds the redacted prefixes.
func TestRedactionEveryFormat(t *testing.T) {
	t.Parallel()
	fs, secrets := reportFixture(t)
	for _, format := range []Format{FormatText, FormatJSON, FormatSARIF} {
		var b bytes.Buffer
		if err := WriteFindings(&b, format, fs, "1.0.0"); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		assertNoSecret(t, out, secrets...)
		for _, s := range secrets {
			if !strings.Contains(out, s[:4]+"…") {
				t.Errorf("%s: no redacted %q…", format, s[:4])
			}
		}
	}
	// A stray %v or %+v of a finding is safe too.
	for _, f := range fs {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			assertNoSecret(t, sprintf(verb, f), secrets...)
		}
	}
}

// TestTextFormat names the key of a known value as the issue asks.
func TestTextFormat(t *testing.T) {
	t.Parallel()
	fs, _ := reportFixture(t)
	var b bytes.Buffer
	if err := WriteText(&b, fs); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if !strings.HasPrefix(lines[4], "value of prod/DB_PASSWORD in config/app.yaml:18:9: Corr…") {
		t.Errorf("known-value line %q", lines[4])
	}
	if !strings.HasPrefix(lines[0], "aws-access-key-id in config/app.yaml:1:7: AKIA… in commit 0123456789ab by Dev <dev@example.test> [") {
		t.Errorf("rule line %q", lines[0])
	}
}

// TestJSONFormat has the fields and reads back as a baseline.
func TestJSONFormat(t *testing.T) {
	t.Parallel()
	fs, _ := reportFixture(t)
	var b bytes.Buffer
	if err := WriteJSON(&b, fs); err != nil {
		t.Fatal(err)
	}
	var raw []map[string]any
	if err := json.Unmarshal(b.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"rule", "file", "line", "column", "commit", "author", "redacted", "fingerprint"} {
		if _, ok := raw[0][k]; !ok {
			t.Errorf("json lacks %q: %v", k, raw[0])
		}
	}
	if raw[4]["key"] != "prod/DB_PASSWORD" {
		t.Errorf("known-value key %v", raw[4]["key"])
	}
	fps, err := ReadBaseline(&b)
	if err != nil || len(fps) != 5 || fps[1] != fs[1].Fingerprint {
		t.Errorf("baseline %v, %v", fps, err)
	}
	var empty bytes.Buffer
	if WriteJSON(&empty, nil); strings.TrimSpace(empty.String()) != "[]" {
		t.Errorf("no findings: %q, want []", empty.String())
	}
}

// TestSARIF checks the parts code scanning reads.
func TestSARIF(t *testing.T) {
	t.Parallel()
	fs, _ := reportFixture(t)
	var b bytes.Buffer
	if err := WriteSARIF(&b, fs, "1.2.3"); err != nil {
		t.Fatal(err)
	}
	var log struct {
		Version string `json:"version"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name    string `json:"name"`
					Version string `json:"version"`
					Rules   []struct {
						ID string `json:"id"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				RuleIndex int    `json:"ruleIndex"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct {
							URI string `json:"uri"`
						} `json:"artifactLocation"`
						Region struct {
							StartLine   int `json:"startLine"`
							StartColumn int `json:"startColumn"`
						} `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
				PartialFingerprints map[string]string `json:"partialFingerprints"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(b.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || len(log.Runs) != 1 || log.Runs[0].Tool.Driver.Name != "hush" || log.Runs[0].Tool.Driver.Version != "1.2.3" {
		t.Fatalf("header: %+v", log)
	}
	run := log.Runs[0]
	if len(run.Results) != len(fs) {
		t.Fatalf("%d results, want %d", len(run.Results), len(fs))
	}
	for i, r := range run.Results {
		if run.Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID || r.RuleID != fs[i].Rule {
			t.Errorf("result %d: rule %s index %d", i, r.RuleID, r.RuleIndex)
		}
		loc := r.Locations[0].PhysicalLocation
		if loc.ArtifactLocation.URI != "config/app.yaml" || loc.Region.StartLine != fs[i].Line || loc.Region.StartColumn != fs[i].Column {
			t.Errorf("result %d location %+v", i, loc)
		}
		if r.PartialFingerprints["hushSecret/v1"] != fs[i].SecretFingerprint || fs[i].SecretFingerprint == "" ||
			r.PartialFingerprints["hushLocation/v1"] != fs[i].Fingerprint || fs[i].Fingerprint == "" {
			t.Errorf("result %d fingerprint %v", i, r.PartialFingerprints)
		}
	}
}

func TestParseFormat(t *testing.T) {
	t.Parallel()
	if f, err := ParseFormat("sarif"); f != FormatSARIF || err != nil {
		t.Errorf("sarif: %v %v", f, err)
	}
	if _, err := ParseFormat("xml"); err == nil {
		t.Error("xml accepted")
	}
}
