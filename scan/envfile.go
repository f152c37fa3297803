package scan

import (
	"path"
	"strings"
)

// IsEnvFile reports whether a file name is a plaintext env file's: .env,
// its variants (.env.local, .env-prod, .env_test, .envrc) and NAME.env,
// whatever the case. It is the one answer hush gives — to the scanner
// (configuration files), to hush doctor (plaintext files in the project)
// and to hush migrate (files still holding an imported value). A template
// (IsEnvTemplate) is an env file too: a real value in one is a leak.
func IsEnvFile(name string) bool {
	base := strings.ToLower(path.Base(strings.ReplaceAll(name, "\\", "/")))
	if strings.HasSuffix(base, ".env") {
		return true // .env, prod.env, .env.prod.env
	}
	rest, ok := strings.CutPrefix(base, ".env")
	if !ok {
		return false
	}
	return rest == "rc" || rest != "" && strings.ContainsRune(".-_", rune(rest[0]))
}

// IsEnvTemplate reports whether an env file name is a template's by
// convention (.env.example, .env.sample, .env.template, .env.dist), a
// file meant to be committed with placeholder values.
func IsEnvTemplate(name string) bool {
	base := strings.ToLower(path.Base(strings.ReplaceAll(name, "\\", "/")))
	for _, sfx := range []string{".example", ".sample", ".template", ".dist"} {
		if strings.HasSuffix(base, sfx) {
			return true
		}
	}
	return false
}
