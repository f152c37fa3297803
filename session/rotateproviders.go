package session

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hush-secrets/hush/rotate"
	"github.com/hush-secrets/hush/rotate/acme"
	"github.com/hush-secrets/hush/rotate/command"
	"github.com/hush-secrets/hush/rotate/mysql"
	"github.com/hush-secrets/hush/rotate/postgres"
	"github.com/hush-secrets/hush/rotate/vault"
)

// rotationProviders are the providers a rotation.sources entry may name,
// each a package under rotate/. A map literal, not an init() registry:
// adding a provider is one line here.
var rotationProviders = map[string]rotate.Factory{
	"command":  command.New,
	"postgres": postgres.New,
	"mysql":    mysql.New,
	"mariadb":  mysql.New,
	"vault":    vault.New,
	"acme":     acme.New,
}

// provider makes the Provider s names.
func provider(s rotate.Settings) (rotate.Provider, error) {
	f, ok := rotationProviders[s.Provider]
	if !ok {
		names := make([]string, 0, len(rotationProviders))
		for n := range rotationProviders {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("rotation.sources.%s: unknown provider %q (known: %s)", s.Name, s.Provider, strings.Join(names, ", "))
	}
	return f(s)
}
