package scan

import "testing"

func TestIsEnvFile(t *testing.T) {
	for name, want := range map[string]bool{
		".env": true, ".env.local": true, ".env.example": true, ".envrc": true, ".env-prod": true,
		".env_test": true, "prod.env": true, "sub/dir/.env": true, `sub\win\.ENV`: true, "PROD.ENV": true,
		".environment": false, "env": false, "env.sh": false, ".envelope": false, "dotenv": false,
		"x.env.bak": false, "": false,
	} {
		if got := IsEnvFile(name); got != want {
			t.Errorf("IsEnvFile(%q) = %v, want %v", name, got, want)
		}
	}
	for name, want := range map[string]bool{
		".env.example": true, ".env.SAMPLE": true, "a/.env.template": true, ".env.dist": true,
		".env": false, ".env.local": false, "prod.env": false,
	} {
		if got := IsEnvTemplate(name); got != want {
			t.Errorf("IsEnvTemplate(%q) = %v, want %v", name, got, want)
		}
	}
}
