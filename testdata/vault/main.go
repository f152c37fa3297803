// Command vault is HashiCorp Vault built from its Go module, for hush's
// tests only: `make vault` builds it into .cache/bin/vault and the sync
// tests start `vault server -dev` on a loopback port. It lives in its own
// module so Vault's licence (BUSL) and dependencies stay out of hush's.
package main

import (
	"os"

	"github.com/hashicorp/vault/command"
)

func main() {
	os.Exit(command.Run(os.Args[1:]))
}
