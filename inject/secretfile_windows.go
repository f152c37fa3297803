package inject

// NewSecretFile fails on Windows with ErrFileUnsupported.
func NewSecretFile(name string, v Value) (*SecretFile, error) {
	return nil, ErrFileUnsupported
}
