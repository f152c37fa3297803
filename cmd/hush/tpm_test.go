package main

import (
	"testing"

	"github.com/hush-secrets/hush/crypt/tpmtest"
	"github.com/rogpeppe/go-internal/testscript"
)

// TestTPMScripts runs testdata/script/tpm/*.txtar with two throwaway
// software TPMs (Debian's swtpm) on unix sockets: $HUSH_TPM, this
// machine's, and $TPM2, another machine's.
func TestTPMScripts(t *testing.T) {
	tpm1, tpm2 := tpmtest.Start(t), tpmtest.Start(t)
	testscript.Run(t, testscript.Params{
		Dir:                 "../../testdata/script/tpm",
		RequireExplicitExec: true,
		Setup: func(e *testscript.Env) error {
			if err := scriptSetup(e); err != nil {
				return err
			}
			e.Setenv("HUSH_TPM", tpm1)
			e.Setenv("TPM2", tpm2)
			return nil
		},
	})
}
