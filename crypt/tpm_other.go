//go:build !linux

package crypt

import (
	"errors"

	"github.com/google/go-tpm/tpm2/transport"
)

// OpenTPM: hush talks to a TPM through Linux's device or a swtpm socket
// only; elsewhere a sealed identity cannot be opened.
func OpenTPM(path string) (transport.TPMCloser, error) {
	return nil, errors.New("TPM-sealed identities need Linux (/dev/tpmrm0)")
}
