package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/internal/safe"
	"github.com/hush-secrets/hush/session"
	"github.com/hush-secrets/hush/sync"
)

type vaultOptions struct {
	session.VaultOptions
	// cloud, when set, is the hush-cloud remote of a hush ssm… group
	// (cloud.go) instead of Vault.
	cloud              *session.CloudOptions
	prefer             string
	json, status, fail bool
	write              string
	service            string
	serviceSet         bool // --service given, even as ""
	deny               []string
}

func vaultFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "address", Usage: "Vault `URL` (default: VAULT_ADDR, then hush.yaml's vault.address)"},
		&cli.StringFlag{Name: "mount", Usage: "KV engine `MOUNT` (default: hush.yaml's vault.mount, then secret)"},
		&cli.StringFlag{Name: "path", Usage: "path `TEMPLATE` inside the mount, {project} and {env} replaced (default: {project}/{env})"},
		&cli.StringFlag{Name: "layout", Usage: "`fields` (one secret per environment, the default) or tree (one per key)"},
	}
}

func vaultOpts(c *cli.Context) vaultOptions {
	return vaultOptions{VaultOptions: session.VaultOptions{Address: c.String("address"), Mount: c.String("mount"), Path: c.String("path"), Layout: c.String("layout")},
		prefer: c.String("prefer"), json: c.Bool("json"), fail: c.Bool("fail"), write: c.String("write"),
		service: c.String("service"), serviceSet: c.IsSet("service"), deny: c.StringSlice("deny")}
}

// group is the command group: vault, or the cloud kind.
func (o vaultOptions) group() string {
	if o.cloud != nil {
		return o.cloud.Kind
	}
	return "vault"
}

var preferFlag = &cli.StringFlag{Name: "prefer", Usage: "resolve keys both sides changed: `local` or remote wins"}

func vaultCommands(env *Env) []*cli.Command {
	action := func(run func(context.Context, *ui, vaultOptions) error) cli.ActionFunc {
		return func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usagef("%s takes no arguments", c.Command.Name)
			}
			s, err := newSession(env, c)
			if err != nil {
				return err
			}
			return session.VaultHint(run(c.Context, s, vaultOpts(c)))
		}
	}
	return []*cli.Command{{
		Name:  "vault",
		Usage: "sync environments with HashiCorp Vault, both ways",
		Description: `An environment lives in a KV secret (v1 or v2) at MOUNT/PATH, by default
secret/PROJECT/ENV, one field per key (layout: fields) or one secret per key
(layout: tree). Settings come from the vault: section of .hush/hush.yaml.
hush remembers what it last synced, so it tells a local change from a remote
one; a key both sides changed differently stops a push or pull (exit 6)
until --prefer says which side wins.

LOGIN (vault.auth.method in hush.yaml; secrets never there nor in argv):
   token       VAULT_TOKEN, else ~/.vault-token (the default)
   userpass    username (or VAULT_USERNAME); password from VAULT_PASSWORD
   ldap        (or the variable password_env names), password_file (0600),
               else a prompt on the terminal
   cert        client_cert_file and client_key_file (or VAULT_CLIENT_CERT,
               VAULT_CLIENT_KEY); VAULT_CACERT for the server; role optional
   approle     role_id (role_id_file, VAULT_ROLE_ID); secret_id_file or
               VAULT_SECRET_ID, or a response-wrapped one:
               wrapped_secret_id_file or VAULT_WRAPPED_SECRET_ID
   jwt         role; token_file or token_env (CI's OIDC token)
   kubernetes  role; token_file (default: the pod's service account token)
               or token_env
   aws         role; AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and
               AWS_SESSION_TOKEN) sign STS GetCallerIdentity; region,
               iam_server_id optional
   auth.mount is where the method is enabled (default: its name).

EXAMPLES:
   hush vault diff --env prod
   hush vault push --env prod
   hush vault pull --env dev --prefer remote
   hush vault policy --env prod --write myapp-prod-read`,
		Subcommands: []*cli.Command{
			{Name: "diff", Description: `EXAMPLE:
   hush vault diff --env prod      # exit 1 when the sides differ`, Usage: "list keys changed on each side since the last sync (names only)",
				Flags: append(vaultFlags(), &cli.BoolFlag{Name: "json", Usage: "machine-readable output"}), Action: action(runVaultDiff)},
			{Name: "status", Description: `EXAMPLE:
   hush vault status --env prod --fail`, Usage: "say whether an environment is in step, ahead, behind or diverged (--fail: exit 1 unless in step)",
				Flags: append(vaultFlags(), &cli.BoolFlag{Name: "json", Usage: "machine-readable output"},
					&cli.BoolFlag{Name: "fail", Usage: "exit 1 when the sides are not in step, as vault diff does"}), Action: action(runVaultStatus)},
			{Name: "push", Description: `EXAMPLE:
   hush vault push --env prod
   hush vault push --env prod --prefer local   # settle a conflict with the local values`, Usage: "write local changes to Vault (check-and-set)", Flags: append(vaultFlags(), preferFlag), Action: action(runVaultPush)},
			{Name: "pull", Description: `EXAMPLE:
   hush vault pull --env prod
   hush vault pull --env prod --prefer remote`, Usage: "write Vault's changes to the team store", Flags: append(vaultFlags(), preferFlag), Action: action(runVaultPull)},
			{Name: "policy", Description: `Without --service, the policy reads one environment (read on its data,
list on its keys). With --service NAME it reads every environment of that
service (NAME takes the place of {project} in the path template, so the
default template gives MOUNT/data/NAME/* and MOUNT/metadata/NAME/* on KV v2,
MOUNT/NAME/* on KV v1, in either layout), and each --deny OTHER adds an
explicit deny on OTHER's paths, which wins over whatever another policy of
the token grants. Names are plain folder names: a wildcard (* +), '..' or
an empty segment would widen the policy and is refused (exit 2).

EXAMPLES:
   hush vault policy --env prod --write myapp-prod-read
   hush vault policy --service user-service --deny payment-service --write user-service-read`,
				Usage: "print (or --write) a least-privilege policy to read an environment or a service",
				Flags: append(vaultFlags(), &cli.StringFlag{Name: "write", Usage: "also store it in Vault as policy `NAME`"},
					&cli.StringFlag{Name: "service", Usage: "read every environment of service `NAME` instead of one environment"},
					&cli.StringSliceFlag{Name: "deny", Usage: "deny service `NAME` explicitly (repeatable; with --service)"}),
				Action: action(runVaultPolicy)},
		},
	}}
}

func runVaultDiff(ctx context.Context, s *ui, o vaultOptions) error {
	var r *sync.Report
	var err error
	if o.cloud != nil {
		r, err = s.CloudCompare(ctx, *o.cloud)
	} else {
		r, err = s.VaultCompare(ctx, o.VaultOptions)
	}
	if err != nil {
		return err
	}
	// vault diff, like hush diff and diff(1), exits 1 when the sides
	// differ; vault status is a report (exit 0) unless --fail asks the same.
	differs := error(nil)
	if r.Status() != sync.InStep && (!o.status || o.fail) {
		differs = &exitCodeError{code: exitDiffers}
	}
	if o.json {
		if err := writeVaultJSON(s, r, o.group()); err != nil {
			return err
		}
		return differs
	}
	printf(s.env.Stdout, "%s: %s with %s (remote version %d, last synced %d)\n", r.Env, r.Status(), r.Location, r.RemoteVersion, r.SyncedVersion)
	if n := syncNote(r, o.group()); n != "" {
		printf(s.env.Stdout, "%s\n", n)
	}
	if o.status {
		d := r.Diff
		if n := len(d.Local) + len(d.Remote) + len(d.Conflicts); n > 0 {
			printf(s.env.Stdout, "%d local, %d remote, %d conflicting changes; see hush %s diff\n", len(d.Local), len(d.Remote), len(d.Conflicts), o.group())
		}
		return differs
	}
	tw := tabwriter.NewWriter(s.env.Stdout, 0, 4, 2, ' ', 0)
	for _, c := range r.Diff.Local {
		printf(tw, "  local\t%s\t%s\t(push)\n", c.Kind, c.Key)
	}
	for _, c := range r.Diff.Remote {
		printf(tw, "  remote\t%s\t%s\t(pull)\n", c.Kind, c.Key)
	}
	for _, k := range r.Diff.Conflicts {
		printf(tw, "  both\tconflict\t%s\t(--prefer)\n", k)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return differs
}

func writeVaultJSON(s *ui, r *sync.Report, group string) error {
	type change struct {
		Key    string `json:"key"`
		Side   string `json:"side"`
		Change string `json:"change"`
	}
	out := struct {
		Env           string   `json:"environment"`
		Location      string   `json:"location"`
		Status        string   `json:"status"`
		RemoteVersion int      `json:"remote_version"`
		SyncedVersion int      `json:"synced_version"`
		Note          string   `json:"note,omitempty"`
		Changes       []change `json:"changes"`
	}{Env: r.Env, Location: r.Location, Status: string(r.Status()), RemoteVersion: r.RemoteVersion, SyncedVersion: r.SyncedVersion, Note: syncNote(r, group), Changes: []change{}}
	for _, c := range r.Diff.Local {
		out.Changes = append(out.Changes, change{c.Key, "local", c.Kind.String()})
	}
	for _, c := range r.Diff.Remote {
		out.Changes = append(out.Changes, change{c.Key, "remote", c.Kind.String()})
	}
	for _, k := range r.Diff.Conflicts {
		out.Changes = append(out.Changes, change{k, "both", "conflict"})
	}
	return writeJSON(s.env.Stdout, out)
}

// syncNote explains a report whose diff alone would mislead.
func syncNote(r *sync.Report, group string) string {
	switch {
	case r.Vanished != nil:
		v := r.Vanished
		return fmt.Sprintf("the remote secret vanished: %s; this machine synced %d key(s) with it at version %d; pull refuses, hush %s push --prefer local restores it", v.What, v.Keys, v.Version, group)
	case r.RemoteDeleted:
		return "the latest remote version is deleted: undelete it in Vault, or hush " + group + " push --prefer local"
	case r.Recreated:
		return fmt.Sprintf("the remote secret was removed and written anew since the last sync (version %d, synced at %d): compared as on a first sync, so nothing is deleted on either side", r.RemoteVersion, r.SyncedVersion)
	}
	return ""
}

func runVaultStatus(ctx context.Context, s *ui, o vaultOptions) error {
	o.status = true
	return runVaultDiff(ctx, s, o)
}

func runVaultPush(ctx context.Context, s *ui, o vaultOptions) error {
	return runVaultSync(ctx, s, o, true)
}

func runVaultPull(ctx context.Context, s *ui, o vaultOptions) error {
	return runVaultSync(ctx, s, o, false)
}

func runVaultSync(ctx context.Context, s *ui, o vaultOptions, push bool) error {
	var res *session.VaultSyncReport
	var err error
	if o.cloud != nil {
		res, err = s.CloudSync(ctx, *o.cloud, push, o.prefer)
	} else {
		res, err = s.VaultSync(ctx, session.VaultSyncOptions{VaultOptions: o.VaultOptions, Push: push, Prefer: o.prefer})
	}
	if err != nil {
		return err
	}
	verb, dir := "pulled", "from"
	if push {
		verb, dir = "pushed", "to"
	}
	if c := res.KeptConflicts; len(c) > 0 {
		if push {
			s.infof("kept Vault's %s (--prefer remote); hush vault pull --prefer remote brings it here", strings.Join(c, ", "))
		} else {
			s.infof("kept the local %s (--prefer local); hush vault push --prefer local sends it to Vault", strings.Join(c, ", "))
		}
	}
	if len(res.Set)+len(res.Deleted) == 0 {
		s.infof("%s: nothing to %s (%s)", res.Env, strings.TrimSuffix(verb, "ed"), res.Status())
		return nil
	}
	s.infof("%s %d change(s) %s %s (version %d): %s", verb, len(res.Set)+len(res.Deleted), dir, res.Location, res.Version, changeList(res.Result))
	if res.OtherWay {
		s.infof("%s also has changes the other way; see hush %s diff", res.Env, o.group())
	}
	return nil
}

func changeList(res *sync.Result) string {
	parts := make([]string, 0, len(res.Set)+len(res.Deleted))
	parts = append(parts, res.Set...)
	for _, k := range res.Deleted {
		parts = append(parts, "-"+k)
	}
	return strings.Join(parts, ", ")
}

func runVaultPolicy(ctx context.Context, s *ui, o vaultOptions) error {
	if o.serviceSet && o.service == "" {
		return usagef("--service needs a service name")
	}
	// The policy names the mount and path hush.yaml gives: escaped, in case.
	what, address, err := s.VaultPolicy(ctx, session.VaultPolicyOptions{VaultOptions: o.VaultOptions, Service: o.service, Deny: o.deny, Write: o.write},
		func(hcl string) { io.WriteString(s.env.Stdout, safe.Lines(hcl)) })
	if err != nil || o.write == "" {
		return err
	}
	s.infof("wrote policy %s to %s; a token with it reads %s and nothing else", o.write, address, what)
	return nil
}
