// Package rotate changes a credential where it lives — a database role's
// password, a certificate, an API key at its provider — in step with the
// store, so the two never disagree without a record that says so.
//
// # The protocol
//
// A rotation of one key in one environment runs four phases, in order. The
// session (session/rotatesource.go) drives them; a Provider implements the
// three that touch the source:
//
//  1. create:  Provider.Create makes the new credential at the source.
//  2. store:   hush writes Result.Value (and Result.Also) into the team
//     store in one change, and pushes the environment to Vault when it
//     syncs (as `hush rotate --push` does).
//  3. verify:  Provider.Verify proves the new credential works at the
//     source (logs in with it); nothing is retired before it has.
//  4. retire:  once Settings.Grace has passed since verify, Provider.Retire
//     makes the old credential unusable.
//
// Before phase 1 hush writes a Journal (journal.go), encrypted to the
// user's own identity in the personal data directory, holding the old value
// and a Proposed new one; after every phase it rewrites the journal with the
// next phase and what the provider returned, and removes it only when the
// rotation is done. A crash, a kill or an error at any instant therefore
// leaves either nothing changed or a journal naming the phase to run next;
// `hush rotate --resume`, rerunning `hush rotate KEY`, or `hush rotate
// --due` continues it from that phase, and `hush status`/`hush doctor` show
// it meanwhile. A journal of one key blocks a new rotation of that key until
// it is finished.
//
// # Idempotence (what a rerun means for a provider)
//
// Every method may be called again for the same rotation (the same
// Request.ID), because hush can die after the source changed and before the
// journal recorded it. Each MUST then converge instead of failing or
// compounding:
//
//   - Create is called again with the same ID, Old and Proposed, and no
//     Result from the lost attempt. It must leave the source holding one
//     new credential described by the Result it returns. A provider that
//     sets a value hush chose uses Proposed, so setting it again is a no-op;
//     one whose source mints the value itself (Vault, an ACME CA, a script)
//     may mint another that supersedes the first. Create never retires or
//     disables Old beyond what its mode inherently does (ALTER ROLE …
//     PASSWORD replaces the old password: Result.OldValid false says so).
//   - Verify must not change anything; it may run any number of times.
//   - Retire must succeed when the old credential is already retired, and
//     never destroys what cannot be recreated (no DROP of a role that owns
//     objects: NOLOGIN or a new random password instead).
//
// An error from a method stops the rotation at that phase with the journal
// kept and the error recorded in it (Journal.LastError); it is retried by
// the next run. A Create error must mean the source is unchanged or changed
// in a way a rerun of Create converges from.
//
// # Settings
//
// A provider is chosen in hush.yaml, under rotation.sources, by key (every
// environment) or by ENV/KEY (that environment only, winning over the key):
//
//	rotation:
//	  sources:
//	    DB_PASSWORD:
//	      provider: postgres      # which Provider
//	      grace: 10m              # common: wait between verify and retire
//	      timeout: 1m             # common: bound on each provider call
//	      admin: PG_ADMIN_URL     # provider's own fields from here on
//	      role: app
//	    prod/DB_PASSWORD:
//	      provider: postgres
//	      admin: PROD_PG_ADMIN_URL
//	      role: app
//
// rotation.sources is PINNED (store/settings.go): a commit that changes a
// provider, its command or any field is refused until the user runs `hush
// ack`, because it decides what runs and where credentials are sent.
// hush parses provider, grace and timeout itself (Settings); everything else
// is the provider's, read with Settings.Decode into its own struct (unknown
// fields are an error, so a typo fails before anything changes).
//
// # Other secrets a provider needs
//
// A provider never takes a credential from hush.yaml. It names another
// secret of the same environment in its settings (admin: PG_ADMIN_URL) and
// reads it with Request.Secret, which the session audits as a read
// (secret.read, command "rotate"). Vault, where a provider needs it, comes
// as Request.Vault, opened from the environment's pinned vault: settings.
//
// # Adding a provider
//
// A package under rotate/ (rotate/postgres, rotate/acme…) exporting a
// Factory; the session lists the factories by name in
// session/rotateproviders.go — a map literal, no init() registry. A
// provider that links a driver or an SDK is listed in cmd/hush-cloud's
// providers instead, and by name in the session's companionProviders: it
// runs in the companion (sync/cloud/rotate.go), where Request.Secret and
// Logf are calls back to hush and Request.Vault is nil.
package rotate

import (
	"context"
	"errors"
	"time"

	"github.com/hush-secrets/hush/store"
)

// Provider changes one kind of credential at its source. Its methods get
// the same Request the session builds for each phase (see the package doc
// for what each MUST do on a rerun).
type Provider interface {
	// Create makes the new credential at the source and returns what the
	// store is to hold. It must not retire Old.
	Create(ctx context.Context, req *Request) (*Result, error)
	// Verify proves res's credential works at the source, changing
	// nothing. An error keeps the old credential (it is not retired).
	Verify(ctx context.Context, req *Request, res *Result) error
	// Retire makes req.Old unusable at the source, now that res is stored
	// and verified and the grace period is over. Idempotent; nil when
	// there is nothing to retire (Create's mode already replaced it).
	Retire(ctx context.Context, req *Request, res *Result) error
}

// Planner is an optional Provider ability: a one-line description of
// what a rotation would do, for `hush rotate --dry-run`. It must not touch
// the source.
type Planner interface {
	Plan(req *Request) string
}

// Preflight is an optional Provider ability: checks that need the
// project but not the source (a script's pinned hash), run before a new
// rotation writes its journal, so a refusal leaves nothing unfinished.
// It must not touch the source; Request.ID, Old and Proposed are empty.
type Preflight interface {
	Preflight(req *Request) error
}

// Factory makes a Provider from its settings, checking them: a bad
// setting is an error here, before any phase runs.
type Factory func(s Settings) (Provider, error)

// Request is one phase's view of the rotation.
type Request struct {
	// ID names the rotation; it is the same on every rerun of it.
	ID string
	// Env and Key are the secret being rotated.
	Env, Key string
	// Settings are the key's rotation.sources entry.
	Settings Settings
	// Old is the value the store held when the rotation began.
	Old store.Value
	// Proposed is a fresh random value hush made for this rotation (32
	// alphanumeric characters, or Settings' length/charset), the same on
	// every rerun. A provider that sets a password it chooses sets this.
	Proposed store.Value
	// Secret reads another secret of the same environment (an admin
	// credential named in the settings), audited as a read.
	Secret func(name string) (store.Value, error)
	// Vault is a client of the environment's Vault, nil when hush.yaml
	// has no vault: section and VAULT_ADDR is unset.
	Vault Vault
	// Dir is the project's root: a relative path in the settings (a
	// script) is relative to it.
	Dir string
	// Getenv is hush's own environment (PATH, HOME, proxies); a provider
	// passes a program only what it needs from it.
	Getenv func(string) string
	// Now is the clock.
	Now func() time.Time
	// Logf tells the user what the provider is doing (never a value).
	Logf func(format string, args ...any)
}

// Result is what Create made.
type Result struct {
	// Value is the key's new value in the store.
	Value store.Value `json:"value"`
	// Also are other keys of the same environment written in the same
	// change (a certificate's chain next to its key, the role name of a
	// two-role scheme); each is created when missing.
	Also map[string]store.Value `json:"also,omitempty"`
	// OldValid reports whether Old still works until Retire: true for the
	// zero-downtime modes; false when Create replaced it (a client
	// holding the old password fails its next login from then on).
	OldValid bool `json:"old_valid"`
	// State is the provider's own notes, handed back to Verify and Retire
	// (which role is now active, a certificate's serial). Never a
	// secret: it is shown by hush status --json.
	State map[string]string `json:"state,omitempty"`
	// RotateEvery, when set, becomes the key's rotate_every (a
	// certificate renewed at 2/3 of its life).
	RotateEvery string `json:"rotate_every,omitempty"`
	// Types, when set, give the store type of the key (Key) or of an
	// Also key ("tls" for a certificate's chain and its private key),
	// whatever their names would have inferred.
	Types map[string]string `json:"types,omitempty"`
}

// Vault is the part of a Vault client a provider may use: the logical
// read and write of any path (database/rotate-role/NAME,
// database/static-creds/NAME). Data is the response's data object.
type Vault interface {
	Read(ctx context.Context, path string) (map[string]any, error)
	Write(ctx context.Context, path string, data map[string]any) (map[string]any, error)
	// Issue reads a dynamic credential (database/creds/ROLE) and returns
	// its lease id; an answer without a lease is an error. Revoke ends
	// the lease. A provider that proves a credential works by having
	// Vault use it revokes what it was issued.
	Issue(ctx context.Context, path string) (leaseID string, err error)
	Revoke(ctx context.Context, leaseID string) error
	// Address is the server's address, for audit lines and messages.
	Address() string
}

// ErrUnavailable marks a provider error of a source that could not be
// reached or refused the login (exit 8, as a Vault that is down). A
// provider wraps its connection errors with it: fmt.Errorf("%w: …",
// rotate.ErrUnavailable).
var ErrUnavailable = errors.New("rotation source unavailable")
