package main

import (
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/hush-secrets/hush/sync/gcpsm"
	"github.com/hush-secrets/hush/sync/gcpsm/gcpsmtest"
)

// TestGCPSMScripts runs testdata/script/gcpsm/*.txtar through the real
// hush-cloud and Google's client against gcpsmtest, the in-process fake of
// Secret Manager's gRPC API (no emulator is served here): application-
// default credentials from a service-account key the fake's token
// endpoint verifies, the endpoint from HUSH_GCPSM_ENDPOINT.
func TestGCPSMScripts(t *testing.T) {
	t.Parallel()
	srv := gcpsmtest.Start(t)
	creds, err := srv.CredentialsFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hushCloud(); err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "../../testdata/script/gcpsm",
		RequireExplicitExec: true,
		Setup: func(e *testscript.Env) error {
			if err := scriptSetup(e); err != nil {
				return err
			}
			e.Setenv("GOOGLE_APPLICATION_CREDENTIALS", creds)
			e.Setenv(gcpsm.EndpointEnv, "http://"+srv.Addr)
			e.Setenv("GCP_ENDPOINT", "http://"+srv.Addr)
			return nil
		},
		Cmds:      withScriptCmds(map[string]func(ts *testscript.TestScript, neg bool, args []string){}),
		Condition: scriptCondition,
	})
}
