// Command hush-scanbench runs hush's scanner over paths and writes the
// findings as JSON to stdout, for scan/bench.sh until `hush scan` is wired.
//
//	hush-scanbench [-format text|json|sarif] PATH...
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/hush-secrets/hush/scan"
)

func main() {
	format := flag.String("format", "json", "text, json or sarif")
	flag.Parse()
	if err := run(*format, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "hush-scanbench:", err)
		os.Exit(1)
	}
}

func run(format string, paths []string) error {
	f, err := scan.ParseFormat(format)
	if err != nil {
		return err
	}
	s, err := scan.New(scan.Config{})
	if err != nil {
		return err
	}
	findings, err := s.ScanPaths(context.Background(), paths...)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(os.Stdout)
	if err := scan.WriteFindings(w, f, findings, "bench"); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "hush-scanbench: %d findings\n", len(findings))
	return w.Flush()
}
