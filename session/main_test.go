package session

import (
	"os"
	"testing"

	"github.com/hush-secrets/hush/sync/vault/vaulttest"
)

// TestMain stops the Vault dev server the tests share (vault_partial_test.go),
// which would otherwise outlive the test binary.
func TestMain(m *testing.M) {
	code := m.Run()
	vaulttest.StopShared()
	os.Exit(code)
}
