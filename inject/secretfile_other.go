//go:build unix && !linux

package inject

// NewSecretFile makes a FIFO fed by hush (see newFIFOFile): this system has
// no memfd.
func NewSecretFile(name string, v Value) (*SecretFile, error) { return newFIFOFile(name, v) }
