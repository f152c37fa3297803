package session

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hush-secrets/hush/rotate"
	"github.com/hush-secrets/hush/rotate/command"
	"github.com/hush-secrets/hush/rotate/vault"
	"github.com/hush-secrets/hush/sync/cloud"
)

// rotationProviders are the providers a rotation.sources entry may name
// that run in hush, each a package under rotate/. A map literal, not an
// init() registry: adding a provider is one line here (or in
// companionProviders).
var rotationProviders = map[string]rotate.Factory{
	"command": command.New,
	"vault":   vault.New,
}

// companionProviders run in the companion hush-cloud (cmd/hush-cloud
// lists their factories): each links a driver (pgx, the MySQL driver, the
// ACME client) that would cost every hush command, hush run included, its
// size and its start-up for a command run once a month.
var companionProviders = map[string]bool{"postgres": true, "mysql": true, "mariadb": true, "acme": true}

// provider makes the Provider set names; a companion's is checked there.
func (s *Session) provider(set rotate.Settings) (rotate.Provider, error) {
	if companionProviders[set.Provider] {
		c, err := s.cloudClient()
		if err != nil {
			return nil, err
		}
		return cloud.NewProvider(c, set)
	}
	f, ok := rotationProviders[set.Provider]
	if !ok {
		names := make([]string, 0, len(rotationProviders)+len(companionProviders))
		for n := range rotationProviders {
			names = append(names, n)
		}
		for n := range companionProviders {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("rotation.sources.%s: unknown provider %q (known: %s)", set.Name, set.Provider, strings.Join(names, ", "))
	}
	return f(set)
}
