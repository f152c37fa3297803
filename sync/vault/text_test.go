package vault

import (
	"errors"
	"strings"
	"testing"

	"github.com/hush-secrets/hush/store"
)

// A value Vault's JSON API would give back changed is refused before any
// write, naming the keys, never the values.
func TestPushRefusesBinaryValues(t *testing.T) {
	if err := checkText(map[string]store.Value{"A": "text é", "B": "nul\x00ok"}); err != nil {
		t.Fatalf("text refused: %v", err)
	}
	err := checkText(map[string]store.Value{"A": "ok", "Z_BIN": "\xffsecretbytes", "B_BIN": "\xfe"})
	if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "B_BIN, Z_BIN: the value is not valid UTF-8") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "secretbytes") {
		t.Fatalf("error quotes a value: %v", err)
	}
}
