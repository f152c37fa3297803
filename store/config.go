package store

import (
	"bytes"
	"fmt"
	"sort"

	"gopkg.in/yaml.v3"
)

// ConfigVersion is the version of hush.yaml this hush writes and reads.
const ConfigVersion = 1

// Config is .hush/hush.yaml: plaintext, committed, never a secret.
type Config struct {
	Version int `yaml:"version"`
	// ID is the project's identity, 128 random bits in hex, made by hush
	// init. Personal stores and pins are keyed by it (through the user's
	// checkout registry), never by the name the repository declares.
	ID           string                `yaml:"id,omitempty"`
	Project      string                `yaml:"project"`
	DefaultEnv   string                `yaml:"default_env"`
	Environments map[string]*EnvConfig `yaml:"environments"`
	// AllowInject names variables that `hush run` may inject even though
	// they change how programs load code (PATH, LD_PRELOAD…).
	AllowInject []string `yaml:"allow_inject,omitempty"`
	// SSHIdentities lets hush try ~/.ssh/id_ed25519 and ~/.ssh/id_rsa as
	// identities when no other is found.
	SSHIdentities bool `yaml:"ssh_identities,omitempty"`
	// Rotation overrides the default rotation periods.
	Rotation *RotationConfig `yaml:"rotation,omitempty"`
	// Extra keeps sections this version does not know (written by a newer
	// hush or by hand) so rewriting hush.yaml never drops them.
	Extra map[string]any `yaml:",inline"`
}

// EnvConfig is one environment's settings.
type EnvConfig struct {
	Recipients []Recipient `yaml:"recipients"`
	// Inherits names the environment whose values this one sees wherever
	// it sets none (inherit.go). Pinned: see settings.go.
	Inherits string `yaml:"inherits,omitempty"`
	// Extra keeps an environment's settings this version does not know;
	// they are pinned like every other setting (see settings.go).
	Extra map[string]any `yaml:",inline"`
}

// Recipient is a member or CI key of an environment.
type Recipient struct {
	Key   string `yaml:"key"`
	Label string `yaml:"label"`
}

// EnvNames returns the configured environments, sorted.
func (c *Config) EnvNames() []string {
	names := make([]string, 0, len(c.Environments))
	for n := range c.Environments {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Env returns an environment's configuration or an ErrNotFound error.
func (c *Config) Env(name string) (*EnvConfig, error) {
	if err := ValidEnvName(name); err != nil {
		return nil, err
	}
	e, ok := c.Environments[name]
	if !ok {
		return nil, fmt.Errorf("environment %q %w (have: %v); add it with: hush env add %s", name, ErrNotFound, c.EnvNames(), name)
	}
	return e, nil
}

// Labels lists an environment's recipient labels, for error messages.
func (e *EnvConfig) Labels() []string {
	out := make([]string, 0, len(e.Recipients))
	for _, r := range e.Recipients {
		out = append(out, r.Label)
	}
	return out
}

// ParseConfig parses hush.yaml content (from a git revision, say).
func ParseConfig(b []byte) (*Config, error) { return parseConfig(b) }

func parseConfig(b []byte) (*Config, error) {
	var c Config
	if err := yaml.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%w: .hush/hush.yaml: %v", ErrIntegrity, err)
	}
	if c.Version != ConfigVersion {
		return nil, fmt.Errorf("%w: .hush/hush.yaml: unsupported format version %d (this hush reads version %d)", ErrIntegrity, c.Version, ConfigVersion)
	}
	if err := ValidProjectName(c.Project); err != nil {
		return nil, fmt.Errorf("%w: .hush/hush.yaml: %v", ErrIntegrity, err)
	}
	if c.ID != "" {
		if err := validProjectID(c.ID); err != nil {
			return nil, fmt.Errorf("%w: .hush/hush.yaml: %v", ErrIntegrity, err)
		}
	}
	if c.Environments == nil {
		c.Environments = map[string]*EnvConfig{}
	}
	for name, e := range c.Environments {
		if err := ValidEnvName(name); err != nil {
			return nil, fmt.Errorf("%w: .hush/hush.yaml: %v", ErrIntegrity, err)
		}
		if e == nil {
			c.Environments[name] = &EnvConfig{}
		}
	}
	return &c, nil
}

func (c *Config) encode() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString("# hush project configuration. Committed; holds no secret.\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
