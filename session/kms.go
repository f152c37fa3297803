package session

import (
	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
	"github.com/hush-secrets/hush/sync/cloud"
	"github.com/hush-secrets/hush/sync/vault"
)

// This file gives the identity access to key services (crypt/kms.go): an
// environment with a KMS recipient (vault-transit:KEY) is written by asking
// the service to wrap its file key and read, by a machine with no age key,
// by asking it to unwrap. Each request is one audit line.

// kmsPublic names a key-service-only identity in audit lines.
const kmsPublic = "kms"

// hasKMS says some environment of p has a KMS recipient.
func hasKMS(p *store.Project) bool {
	for _, ec := range p.Config.Environments {
		for _, r := range ec.Recipients {
			if crypt.IsKMS(r.Key) {
				return true
			}
		}
	}
	return false
}

// kms is this user's access to the key services for p (nil outside a
// project). Nothing is opened until a store with a KMS recipient is read
// or written; Vault is opened then, as hush vault opens it: address from
// --address, VAULT_ADDR or the acknowledged vault: section, the login
// from the environment.
func (s *Session) kms(p *store.Project) *crypt.KMS {
	if p == nil {
		return nil
	}
	project := p.Config.ID
	if hasKMS(p) && p.CheckSettings("id") != nil {
		project = "" // an id a pull changed names no context: refuse
	}
	if s.transit == nil {
		s.transit = &vault.Transit{Open: func() (*vault.Vault, error) { return s.OpenVault(VaultOptions{}) }}
	}
	return &crypt.KMS{
		Services: map[string]crypt.KeyService{
			crypt.KindVaultTransit: s.transit,
			// AWS KMS through hush-cloud: hush links no AWS SDK.
			crypt.KindAWSKMS: &cloud.KeyService{Open: s.cloudClient, Kind: crypt.KindAWSKMS},
		},
		Project: project,
		Ctx:     s.Context,
		Audit:   s.auditKMS,
	}
}

// auditKMS records one request to a key service.
func (s *Session) auditKMS(op, env, recipient string, err error) error {
	action := audit.KMSUnwrap
	if op == "wrap" {
		action = audit.KMSWrap
	}
	e := s.Entry(action, s.SecretPath(env, ""), err)
	e.Detail = recipient
	return s.Record(e)
}

// CloseKMS revokes the login the key services made, if any.
func (s *Session) CloseKMS() {
	if s.transit != nil {
		if v := s.transit.Vault(); v != nil {
			s.CloseVault(v)
		}
	}
}
