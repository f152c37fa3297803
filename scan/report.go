package scan

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
)

// Format names an output format of WriteFindings.
type Format string

const (
	FormatText  Format = "text"
	FormatJSON  Format = "json"
	FormatSARIF Format = "sarif"
)

// ParseFormat checks a --format value.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case FormatText, FormatJSON, FormatSARIF:
		return f, nil
	}
	return "", fmt.Errorf("scan: unknown format %q (want text, json or sarif)", s)
}

// WriteFindings writes findings in a format; toolVersion goes into SARIF.
func WriteFindings(w io.Writer, format Format, fs []Finding, toolVersion string) error {
	switch format {
	case FormatText:
		return WriteText(w, fs)
	case FormatJSON:
		return WriteJSON(w, fs)
	case FormatSARIF:
		return WriteSARIF(w, fs, toolVersion)
	}
	return fmt.Errorf("scan: unknown format %q", format)
}

// WriteText writes one line per finding (see Finding.String).
func WriteText(w io.Writer, fs []Finding) error {
	for _, f := range fs {
		if _, err := fmt.Fprintln(w, f.String()); err != nil {
			return err
		}
	}
	return nil
}

// WriteJSON writes the findings as a JSON array ([] when there are none), the
// format ReadBaseline reads back.
func WriteJSON(w io.Writer, fs []Finding) error {
	if fs == nil {
		fs = []Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // "Ann <ann@example.com>" as written
	enc.SetIndent("", "  ")
	return enc.Encode(fs)
}

// SARIF 2.1.0, as much of it as code-scanning uploads use.
type (
	sarifLog struct {
		Schema  string     `json:"$schema"`
		Version string     `json:"version"`
		Runs    []sarifRun `json:"runs"`
	}
	sarifRun struct {
		Tool       sarifTool     `json:"tool"`
		ColumnKind string        `json:"columnKind"`
		Results    []sarifResult `json:"results"`
	}
	sarifTool struct {
		Driver sarifDriver `json:"driver"`
	}
	sarifDriver struct {
		Name           string      `json:"name"`
		InformationURI string      `json:"informationUri"`
		Version        string      `json:"version,omitempty"`
		Rules          []sarifRule `json:"rules"`
	}
	sarifRule struct {
		ID               string       `json:"id"`
		ShortDescription sarifMessage `json:"shortDescription"`
		DefaultConfig    struct {
			Level string `json:"level"`
		} `json:"defaultConfiguration"`
	}
	sarifMessage struct {
		Text string `json:"text"`
	}
	sarifResult struct {
		RuleID              string            `json:"ruleId"`
		RuleIndex           int               `json:"ruleIndex"`
		Level               string            `json:"level"`
		Message             sarifMessage      `json:"message"`
		Locations           []sarifLocation   `json:"locations"`
		PartialFingerprints map[string]string `json:"partialFingerprints"`
		Properties          map[string]string `json:"properties,omitempty"`
	}
	sarifLocation struct {
		PhysicalLocation struct {
			ArtifactLocation struct {
				URI       string `json:"uri"`
				URIBaseID string `json:"uriBaseId,omitempty"`
			} `json:"artifactLocation"`
			Region struct {
				StartLine   int `json:"startLine"`
				StartColumn int `json:"startColumn"`
			} `json:"region"`
		} `json:"physicalLocation"`
	}
)

// WriteSARIF writes a SARIF 2.1.0 log for code-scanning uploads: every rule
// in the driver, one result per finding with the fingerprint as its
// partial fingerprint, and commit and author as properties.
func WriteSARIF(w io.Writer, fs []Finding, toolVersion string) error {
	rules, err := compiledRules()
	if err != nil {
		return err
	}
	d := sarifDriver{Name: "hush", InformationURI: "https://github.com/hush-secrets/hush", Version: toolVersion}
	index := map[string]int{}
	addRule := func(id, desc string) {
		r := sarifRule{ID: id, ShortDescription: sarifMessage{desc}}
		r.DefaultConfig.Level = "error"
		index[id] = len(d.Rules)
		d.Rules = append(d.Rules, r)
	}
	for _, r := range rules {
		addRule(r.ID, r.Description)
	}
	addRule(knownValueRule, "a value of a secret stored in hush")
	run := sarifRun{Tool: sarifTool{d}, ColumnKind: "unicodeCodePoints", Results: []sarifResult{}}
	for _, f := range fs {
		i, ok := index[f.Rule]
		if !ok {
			addRule(f.Rule, f.Description)
			i = index[f.Rule]
			run.Tool.Driver.Rules = d.Rules
		}
		what := f.Description
		if f.Key != "" {
			what = "value of " + f.Key
			if f.Form != "" && f.Form != "verbatim" {
				what += " (" + f.Form + ")"
			}
		}
		res := sarifResult{RuleID: f.Rule, RuleIndex: i, Level: "error",
			Message:             sarifMessage{fmt.Sprintf("%s: %s", what, f.Redacted)},
			PartialFingerprints: map[string]string{"hushSecret/v1": f.SecretFingerprint, "hushLocation/v1": f.Fingerprint}}
		var loc sarifLocation
		loc.PhysicalLocation.ArtifactLocation.URI = sarifURI(f.File)
		if !strings.HasPrefix(f.File, "/") {
			loc.PhysicalLocation.ArtifactLocation.URIBaseID = "%SRCROOT%"
		}
		loc.PhysicalLocation.Region.StartLine = max(f.Line, 1)
		loc.PhysicalLocation.Region.StartColumn = max(f.Column, 1)
		res.Locations = []sarifLocation{loc}
		if f.Commit != "" {
			res.Properties = map[string]string{"commit": f.Commit, "author": f.Author}
		}
		run.Results = append(run.Results, res)
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs:    []sarifRun{run},
	})
}

// sarifURI escapes a slash path as a URI reference.
func sarifURI(p string) string {
	u := url.URL{Path: strings.TrimPrefix(p, "./")}
	if strings.HasPrefix(p, "/") {
		u.Scheme = "file"
	}
	return u.String()
}
