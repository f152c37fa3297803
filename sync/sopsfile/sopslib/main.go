package sopslib

import (
	"fmt"
	"io"

	"github.com/hush-secrets/hush/sync/sopsfile"
)

// Main is hush-sops: it serves one request from hush on stdin and stdout
// and returns the exit code. (The hush tests run it in their own binary.)
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 1 {
		fmt.Fprintf(stderr, "%s: hush runs this for SOPS files (hush import, export --format sops, diff, migrate); it takes no arguments\n", sopsfile.HelperName)
		return 2
	}
	if err := sopsfile.Serve(stdin, stdout, Lib{}); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", sopsfile.HelperName, err)
		return 1
	}
	return 0
}
