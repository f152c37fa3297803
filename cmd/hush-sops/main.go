// Command hush-sops is hush's companion for SOPS files. hush runs it when a
// command reads or writes one, and talks to it over stdin and stdout (see
// package sopsfile); it is not meant to be run by hand.
//
// It is a separate executable because the sops library links some 350
// packages (the AWS, GCP, Azure and HuaweiCloud SDKs, gRPC…) whose start-up
// cost would otherwise be paid by every hush command.
package main

import (
	"os"

	"github.com/hush-secrets/hush/sync/sopsfile/sopslib"
)

func main() {
	harden()
	os.Exit(sopslib.Main(os.Args, os.Stdin, os.Stdout, os.Stderr))
}
