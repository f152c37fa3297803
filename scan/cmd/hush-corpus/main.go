// Command hush-corpus makes and scores the scanner's benchmark corpus, and
// writes the per-rule test fixtures.
//
//	hush-corpus gen -dir DIR [-seed N] [-size MB]   corpus in DIR, manifest in DIR.manifest.json
//	hush-corpus score -dir DIR -hush FILE [-gitleaks FILE]
//	hush-corpus fixtures [-dir testdata/scan/rules]
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/hush-secrets/hush/scan/internal/corpusgen"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "hush-corpus:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: hush-corpus gen|score|fixtures [flags]")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	dir := fs.String("dir", "", "corpus directory (fixtures: output directory)")
	seed := fs.Uint64("seed", 1, "random seed")
	size := fs.Int64("size", 80, "corpus size in MB")
	hushReport := fs.String("hush", "", "hush JSON report")
	glReport := fs.String("gitleaks", "", "gitleaks JSON report")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	switch args[0] {
	case "gen":
		if *dir == "" {
			return fmt.Errorf("gen: -dir is required")
		}
		if err := os.RemoveAll(*dir); err != nil {
			return err
		}
		m, err := corpusgen.Generate(corpusgen.Options{Dir: *dir, Seed: *seed, Size: *size << 20})
		if err != nil {
			return err
		}
		fmt.Printf("corpus: %d files, %.1f MB, %d planted secrets, %d decoys\n",
			m.Files, float64(m.Bytes)/(1<<20), len(m.Plants), len(m.Decoys))
		return corpusgen.WriteManifest(*dir+".manifest.json", m)
	case "score":
		m, err := corpusgen.ReadManifest(*dir + ".manifest.json")
		if err != nil {
			return err
		}
		var scores []corpusgen.Score
		for _, t := range []struct{ tool, path string }{{"hush", *hushReport}, {"gitleaks", *glReport}} {
			if t.path == "" {
				continue
			}
			found, err := corpusgen.ReadReport(t.tool, t.path)
			if err != nil {
				return err
			}
			scores = append(scores, corpusgen.ScoreFindings(t.tool, m, *dir, found))
		}
		corpusgen.WriteScores(os.Stdout, scores)
		return nil
	case "fixtures":
		if *dir == "" {
			*dir = "testdata/scan/rules"
		}
		return corpusgen.WriteFixtures(*dir, *seed)
	}
	return fmt.Errorf("unknown command %q", args[0])
}
