package crypt

import (
	"fmt"
	"os"

	"github.com/google/go-tpm/tpm2/transport"
	"github.com/google/go-tpm/tpm2/transport/linuxtpm"
	"github.com/google/go-tpm/tpm2/transport/linuxudstpm"
)

// OpenTPM opens the TPM at path: a character device (/dev/tpmrm0) or a
// unix socket speaking raw TPM commands (swtpm socket --server type=unixio).
func OpenTPM(path string) (transport.TPMCloser, error) {
	if path == "" {
		path = DefaultTPM
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("TPM %s: %w", path, err)
	}
	if st.Mode()&os.ModeSocket != 0 {
		return linuxudstpm.Open(path)
	}
	return linuxtpm.Open(path)
}
