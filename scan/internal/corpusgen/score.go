package corpusgen

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Found is one reported finding, reduced to where it is.
type Found struct {
	File string
	Line int
}

// Score compares a scanner's findings with a manifest.
type Score struct {
	Tool     string
	Findings int
	Planted  int
	Found    int // planted secrets with a finding on their line
	FalsePos int // distinct lines with findings but no planted secret
	// PerRule holds, by the rule of the planted secret, how many were
	// planted and how many found.
	PerRule map[string][2]int
}

// Recall is Found/Planted.
func (s Score) Recall() float64 {
	if s.Planted == 0 {
		return 0
	}
	return float64(s.Found) / float64(s.Planted)
}

// ScoreFindings scores findings against the manifest of the corpus at root.
// A planted secret counts as found when a finding is on its first line.
func ScoreFindings(tool string, m Manifest, root string, found []Found) Score {
	s := Score{Tool: tool, Findings: len(found), Planted: len(m.Plants), PerRule: map[string][2]int{}}
	at := map[Found]bool{}
	for _, f := range found {
		at[Found{relTo(root, f.File), f.Line}] = true
	}
	planted := map[Found]bool{}
	for _, p := range m.Plants {
		k := Found{p.File, p.Line}
		planted[k] = true
		c := s.PerRule[p.Rule]
		c[0]++
		if at[k] {
			c[1]++
			s.Found++
		}
		s.PerRule[p.Rule] = c
	}
	for k := range at {
		if !planted[k] {
			s.FalsePos++
		}
	}
	return s
}

// relTo makes a reported path relative to the corpus root, slash-separated.
func relTo(root, file string) string {
	file = filepath.ToSlash(file)
	root = strings.TrimSuffix(filepath.ToSlash(root), "/")
	if rest, ok := strings.CutPrefix(file, root+"/"); ok {
		return rest
	}
	if abs, err := filepath.Abs(root); err == nil {
		if rest, ok := strings.CutPrefix(file, filepath.ToSlash(abs)+"/"); ok {
			return rest
		}
	}
	return strings.TrimPrefix(file, "./")
}

// ReadHushJSON reads hush's `json` findings.
func ReadHushJSON(r io.Reader) ([]Found, error) {
	var fs []struct {
		File string `json:"file"`
		Line int    `json:"line"`
	}
	if err := json.NewDecoder(r).Decode(&fs); err != nil {
		return nil, fmt.Errorf("hush report: %w", err)
	}
	out := make([]Found, len(fs))
	for i, f := range fs {
		out[i] = Found{f.File, f.Line}
	}
	return out, nil
}

// ReadGitleaksJSON reads a gitleaks `--report-format json` report.
func ReadGitleaksJSON(r io.Reader) ([]Found, error) {
	var fs []struct {
		File      string
		StartLine int
	}
	if err := json.NewDecoder(r).Decode(&fs); err != nil {
		return nil, fmt.Errorf("gitleaks report: %w", err)
	}
	out := make([]Found, len(fs))
	for i, f := range fs {
		out[i] = Found{f.File, f.StartLine}
	}
	return out, nil
}

// ReadReport opens and parses a report of tool ("hush" or "gitleaks").
func ReadReport(tool, path string) ([]Found, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if tool == "gitleaks" {
		return ReadGitleaksJSON(f)
	}
	return ReadHushJSON(f)
}

// WriteScores prints the scores side by side, then the rules on which a
// tool missed planted secrets.
func WriteScores(w io.Writer, scores []Score) {
	fmt.Fprintf(w, "%-10s %9s %9s %9s %9s\n", "tool", "findings", "recall", "found", "false-pos")
	for _, s := range scores {
		fmt.Fprintf(w, "%-10s %9d %8.2f%% %4d/%-4d %9d\n", s.Tool, s.Findings, 100*s.Recall(), s.Found, s.Planted, s.FalsePos)
	}
	var missed []string
	for _, s := range scores {
		for rule, c := range s.PerRule {
			if c[1] < c[0] {
				missed = append(missed, fmt.Sprintf("  %-10s %-34s %d/%d found", s.Tool, rule, c[1], c[0]))
			}
		}
	}
	slices.Sort(missed)
	if len(missed) > 0 {
		fmt.Fprintln(w, "rules with misses:")
		for _, l := range missed {
			fmt.Fprintln(w, l)
		}
	}
}
