package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
	"github.com/hush-secrets/hush/sync"
	"github.com/hush-secrets/hush/sync/cloud"
)

// This file is the session's side of the remotes hush-cloud serves (hush
// ssm…): one generic workflow for every kind, the same as hush vault's
// (the Syncer, its three-way plan and state, the same audit lines), with
// the backend reached through the companion.

// CloudKind is one kind of remote served by hush-cloud, as hush sees it.
// Adding a kind is one entry in CloudKinds (and its driver in
// cmd/hush-cloud).
type CloudKind struct {
	// Name is the command group, the hush.yaml section, the driver and the
	// reference scheme ("ssm": hush ssm push, ssm:, ssm://…).
	Name string
	// Title names the remote for help and messages.
	Title string
	// Config turns the hush.yaml section (nil when absent) and the project
	// name into the driver's JSON configuration, and says where env lives
	// (sync.Backend's Location) and what the audit log calls the remote.
	Config func(section any, project string, o CloudOptions) (cfg json.RawMessage, locate func(env string) string, source string, err error)
	// Hint is the hint for an unreachable or denied remote.
	Hint string
	// LocationFlag names the command-line flag that overrides where
	// environments live (CloudOptions.Location), with its usage line;
	// Region says whether --region applies.
	LocationFlag, LocationUsage string
	Region                      bool
	// About is the command group's description: the layout, where the
	// credentials come from, the reference grammar.
	About string
}

// CloudKinds lists every kind. A new kind is a line here.
var CloudKinds = []CloudKind{ssmKind, awssmKind, gcpsmKind, k8sKind}

// FindCloudKind is the kind named name.
func FindCloudKind(name string) (CloudKind, bool) {
	for _, k := range CloudKinds {
		if k.Name == name {
			return k, true
		}
	}
	return CloudKind{}, false
}

// CloudOptions are the command line's settings for a cloud remote; ""
// leaves hush.yaml's (or the default).
type CloudOptions struct {
	Kind string
	// Location overrides where environments live (for ssm: the path
	// prefix).
	Location string
	// Region overrides the region (AWS_REGION otherwise).
	Region string
	// ProjectID is the project's id (hush.yaml's id), set by OpenCloud
	// for kinds that label what they write with it.
	ProjectID string
	// HushVersion is the running hush's version, set by OpenCloud.
	HushVersion string
}

// decodeSection decodes a hush.yaml section into v, refusing unknown
// fields: a misspelt setting would otherwise send secrets to the default.
func decodeSection(section any, v any) error {
	if section == nil {
		return nil
	}
	b, err := yaml.Marshal(section)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	return dec.Decode(v)
}

// cloudClient is the session's one hush-cloud, started on first use.
func (s *Session) cloudClient() (*cloud.Client, error) {
	if s.cloud != nil {
		return s.cloud, nil
	}
	path, err := cloud.FindCompanion()
	if err != nil {
		return nil, err
	}
	s.cloud = &cloud.Client{Path: path}
	if s.Environ != nil {
		s.cloud.Env = companionEnv(s.Environ())
	}
	return s.cloud, nil
}

// companionEnv is environ without what hush-cloud has no use for and
// should not hold: hush's own identity and settings, Vault tokens. The
// companion's own settings (HUSH_GCPSM_ENDPOINT) pass.
func companionEnv(environ []string) []string {
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		if (strings.HasPrefix(kv, "HUSH_") || strings.HasPrefix(kv, "VAULT_")) && !companionSetting(kv) {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// companionSetting is a HUSH_ variable the companion reads itself.
func companionSetting(kv string) bool {
	return strings.HasPrefix(kv, "HUSH_GCPSM_ENDPOINT=")
}

// CloseCloud ends the session's hush-cloud, if it started one.
func (s *Session) CloseCloud() {
	if s.cloud != nil {
		_ = s.cloud.Close()
		s.cloud = nil
	}
}

// OpenCloud builds the backend of kind o.Kind from hush.yaml and o. Its
// section decides where values go: nothing is read or sent while it
// differs from what this user acknowledged.
func (s *Session) OpenCloud(o CloudOptions) (*cloud.Backend, CloudKind, error) {
	k, ok := FindCloudKind(o.Kind)
	if !ok {
		return nil, k, fmt.Errorf("%w: no remote kind %q", store.ErrInvalid, o.Kind)
	}
	var section any
	project := ""
	p, err := s.Project()
	switch {
	case err == nil:
		if err := p.CheckSettings(k.Name, "project", "id"); err != nil {
			return nil, k, err
		}
		project, section = p.Config.Project, p.Config.Extra[k.Name]
		o.ProjectID = p.Config.ID
	case !errors.Is(err, store.ErrNoProject):
		return nil, k, err
	}
	o.HushVersion = s.Version
	cfg, locate, source, err := k.Config(section, project, o)
	if err != nil {
		return nil, k, err
	}
	c, err := s.cloudClient()
	if err != nil {
		return nil, k, err
	}
	return &cloud.Backend{Client: c, Kind: k.Name, Config: cfg, Locate: locate, Source: source}, k, nil
}

// CloudHint adds the hint that fits an error of kind's remote.
func CloudHint(kind string, err error) error {
	var he *hint.Error
	k, _ := FindCloudKind(kind)
	switch {
	case err == nil || errors.As(err, &he):
		return err
	case errors.Is(err, cloud.ErrNoCompanion):
		return hint.With(err, "hush %s runs %s, installed beside hush by make install or install.sh", kind, cloud.Companion)
	case errors.Is(err, sync.ErrUnavailable) && k.Hint != "":
		return hint.With(err, "%s", k.Hint)
	}
	var ce *sync.ConflictError
	if errors.As(err, &ce) {
		return hint.With(err, "see them with hush %s diff, then choose: hush %s push --prefer local, or hush %s pull --prefer remote", kind, kind, kind)
	}
	return err
}

// CloudCompare is VaultCompare for a cloud remote (hush ssm diff, status).
func (s *Session) CloudCompare(ctx context.Context, o CloudOptions) (*sync.Report, error) {
	b, _, err := s.OpenCloud(o)
	if err != nil {
		return nil, err
	}
	defer s.CloseCloud()
	return s.VaultCompare(ctx, VaultOptions{Backend: b})
}

// CloudSync is VaultSync for a cloud remote (hush ssm push, pull): the
// same plan, state and audit lines, the remote named by its Source.
func (s *Session) CloudSync(ctx context.Context, o CloudOptions, push bool, prefer string) (*VaultSyncReport, error) {
	b, _, err := s.OpenCloud(o)
	if err != nil {
		return nil, err
	}
	defer s.CloseCloud()
	return s.VaultSync(ctx, VaultSyncOptions{VaultOptions: VaultOptions{Backend: b}, Push: push, Prefer: prefer})
}

// cloudRefKind is the kind whose reference scheme (KIND://) starts v.
func cloudRefKind(v string) (CloudKind, bool) {
	for _, k := range CloudKinds {
		if strings.HasPrefix(v, k.Name+"://") {
			return k, true
		}
	}
	return CloudKind{}, false
}

// cloudSchemes lists the cloud kinds' reference schemes, for messages.
func cloudSchemes() string {
	var out []string
	for _, k := range CloudKinds {
		out = append(out, k.Name+"://")
	}
	return strings.Join(out, ", ")
}

// referenceSchemes lists every scheme hush reads, for messages: "hush://,
// vault://, ssm://, … and gcpsm://".
func referenceSchemes() string {
	all := "hush://, vault://, " + cloudSchemes()
	if i := strings.LastIndex(all, ", "); i > 0 {
		all = all[:i] + " and " + all[i+2:]
	}
	return all
}

// resolveCloudRef reads a KIND://… reference through the session's
// hush-cloud (one per run, whatever the number of references) and audits
// the read.
func (s *Session) resolveCloudRef(ctx context.Context, k CloudKind, ref string) (string, error) {
	c, err := s.cloudClient()
	var val []byte
	if err == nil {
		val, err = c.Resolve(ctx, k.Name, ref)
	}
	if aerr := s.AuditRemoteID(audit.SecretRead, k.Name, "", "", []string{ref}, err); aerr != nil {
		if err != nil {
			return "", fmt.Errorf("%w (and: %v)", err, aerr)
		}
		return "", aerr
	}
	if err != nil {
		return "", CloudHint(k.Name, err)
	}
	return string(val), nil
}
