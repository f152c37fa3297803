package store

import (
	"crypto/rand"
	"fmt"
	"math/big"
)

// charsets for generated values.
var charsets = map[string]string{
	"alnum":   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
	"hex":     "0123456789abcdef",
	"base64":  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
	"symbols": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#%+,-.:=@^_~",
}

// GenerateValue returns length characters drawn uniformly from charset
// with crypto/rand (rejection sampling through rand.Int, so no modulo
// bias).
func GenerateValue(length int, charset string) (string, error) {
	set, ok := charsets[charset]
	if !ok {
		return "", fmt.Errorf("%w charset %q: use alnum, hex, base64 or symbols", ErrInvalid, charset)
	}
	if length < 8 || length > 4096 {
		return "", fmt.Errorf("%w length %d: use 8 to 4096", ErrInvalid, length)
	}
	out := make([]byte, length)
	n := big.NewInt(int64(len(set)))
	for i := range out {
		k, err := rand.Int(rand.Reader, n)
		if err != nil {
			return "", err
		}
		out[i] = set[k.Int64()]
	}
	return string(out), nil
}
