package store

import "testing"

func TestIsConfigValue(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, value string
		want        bool
	}{
		{"DB_HOST", "localhost", true},
		{"DB_HOST", "db.internal.example.com", true},
		{"DB_PORT", "5432", true},
		{"REDIS_ADDR", "127.0.0.1:6379", true},
		{"DEBUG", "true", true},
		{"NODE_ENV", "production", true},
		{"LOG_LEVEL", "info", true},
		{"WORKERS", "4", true},
		{"OPTIONAL", "", true},
		{"DB_PASSWORD", "", true},
		// A secret's name wins over a harmless-looking value.
		{"DB_PASSWORD", "localhost", false},
		{"PIN", "1234", false},
		{"API_KEY", "12345", false},
		{"SESSION_TTL", "3600", false},
		{"JWT_SECRET", "true", false},
		// Values that may carry credentials or are simply unknown.
		{"DATABASE_URL", "postgres://u:p@localhost/db", false},
		{"WEBHOOK", "https://hooks.example.com/T000/B000/XXXX", false},
		{"SERVICE_HOST", "user:pw@host", false},
		{"MAGIC", "123456", false},
		{"MAGIC", "c2VjcmV0", false},
		{"DB_HOST", " localhost", false},
	} {
		if got := IsConfigValue(c.name, c.value); got != c.want {
			t.Errorf("IsConfigValue(%q, %q) = %v, want %v", c.name, c.value, got, c.want)
		}
	}
}

func TestHasConflictMarkers(t *testing.T) {
	t.Parallel()
	armor := "-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n"
	if hasConflictMarkers([]byte(armor)) {
		t.Fatal("plain armor has no markers")
	}
	conflict := "<<<<<<< HEAD\n" + armor + "=======\n" + armor + ">>>>>>> other\n"
	if !hasConflictMarkers([]byte(conflict)) {
		t.Fatal("git's markers not seen")
	}
}
