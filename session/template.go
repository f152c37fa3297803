package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hush-secrets/hush/inject"
	"github.com/hush-secrets/hush/internal/git"
	"github.com/hush-secrets/hush/internal/hint"
	"github.com/hush-secrets/hush/internal/safe"
	"github.com/hush-secrets/hush/store"
	"github.com/hush-secrets/hush/store/audit"
)

// This file is hush inject: a config template with references to secrets
// (inject/template.go has the language), rendered to stdout or to a new
// 0600 file that git would not commit. The template names what it reads;
// every key is checked to exist, and the render is one audit line naming
// its keys, before a byte is written.

// InjectOptions is a template and where its rendering goes.
type InjectOptions struct {
	// Path is the template's file, "-" or "" for Stdin. A link in the
	// project leading out of it is refused, as for --env-file.
	Path  string
	Stdin io.Reader
	// Output is a new file to write, mode 0600; "" leaves the rendering
	// in the report for the caller's stdout. Force replaces an existing
	// regular file (atomically, never through a link).
	Output string
	Force  bool
	// AllowEnvs are the environments other than the session's that the
	// template's hush://ENV/KEY references may read (--allow-env).
	AllowEnvs []string
}

// Rendered is a template rendered.
type Rendered struct {
	// Env is the environment whose keys the template read, "" when it
	// named none.
	Env string
	// Data is the rendering, when no Output was given.
	Data []byte
	// Secrets are the values rendered, for masking in a CI log.
	Secrets []inject.Secret
	// Mask says the values must be masked in the CI log first.
	Mask bool
}

// ErrOtherEnv is a template reference to an environment the user did not
// name: a template from the repository must not make a prod member's
// render for dev read prod (exit 7, policy).
var ErrOtherEnv = errors.New("reads another environment")

// ErrCommittable is an output file git would commit: tracked, or in a
// work tree and not ignored. A rendered secret committed is what hush is
// for preventing (exit 7, policy).
var ErrCommittable = errors.New("git would commit it")

// Inject renders a template. Nothing is decrypted before the output is
// known to be writable where git will not pick it up; nothing is written
// unless every reference resolved and every escape held.
func (s *Session) Inject(ctx context.Context, o InjectOptions) (*Rendered, error) {
	name, text, err := s.readTemplate(o)
	if err != nil {
		return nil, err
	}
	tpl, err := inject.ParseTemplate(name, string(text))
	if err != nil {
		return nil, Usagef("%v", err)
	}
	if o.Output != "" {
		if err := checkOutput(o.Output, o.Force, s.projectRoots()); err != nil {
			return nil, err
		}
	}
	var keys, refs []inject.TemplateRef
	for _, r := range tpl.Refs() {
		if r.Key != "" {
			keys = append(keys, r)
		} else {
			refs = append(refs, r)
		}
	}
	out := &Rendered{}
	if err := s.checkRefEnvs(name, refs, o.AllowEnvs); err != nil {
		return nil, err
	}
	values := map[string]inject.Value{}
	var p *store.Project
	refsR := &refResolver{s: s, docs: map[string]map[string]*store.Secret{}}
	if len(keys) > 0 {
		var env string
		p, env, refsR.id, err = s.OpenEnv()
		if err != nil {
			return nil, err
		}
		out.Env = env
	} else if len(refs) > 0 && hasHushRef(refs) {
		if p, err = s.Project(); err != nil {
			return nil, err
		}
	}
	refsR.project = p
	if len(refs) > 0 {
		if err := s.AuditReady(); err != nil {
			return nil, err
		}
	}
	if len(keys) > 0 {
		names := make([]string, len(keys))
		for i, k := range keys {
			names[i] = k.Key
		}
		secs, err := s.ReadKeys(out.Env, names)
		if errors.Is(err, store.ErrNotFound) {
			return nil, hint.With(fmt.Errorf("%s: %w; nothing written", name, err),
				"hush ls --env %s lists the keys; hush set KEY --env %s adds one", out.Env, out.Env)
		}
		if err != nil {
			return nil, err
		}
		for k, sec := range secs {
			values[k] = inject.NewValue(sec.Value.Reveal())
		}
	}
	rv := &runVault{s: s}
	defer s.dropVault(rv)
	defer s.CloseCloud()
	for _, r := range refs {
		if ref, ok, _ := inject.ParseRef(r.Ref); ok {
			v, err := refsR.resolve(ref.Env, ref.Key)
			if err != nil {
				return nil, fmt.Errorf("%s: %w; nothing written", name, err)
			}
			values[r.Ref] = v
			continue
		}
		var v string
		var err error
		if k, ok := cloudRefKind(r.Ref); ok {
			v, err = s.resolveCloudRef(ctx, k, r.Ref)
		} else if strings.HasPrefix(r.Ref, vaultRefScheme) {
			v, err = s.resolveVaultRef(ctx, rv, r.Ref)
		} else {
			err = fmt.Errorf("%w reference %q: hush reads %s references", store.ErrInvalid, r.Ref, referenceSchemes())
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w; nothing written", name, err)
		}
		values[r.Ref] = inject.NewValue(v)
	}
	if rv.v != nil && len(rv.v.Leases()) > 0 {
		// dropVault revokes them: the rendered file would outlive them.
		return nil, hint.With(fmt.Errorf("%s: a vault:// reference is a dynamic secret, whose lease would end with hush while the file stays; nothing written", name),
			"hush run --vault-lease NAME=PATH keeps a lease alive while a program runs")
	}
	// The environment's keys were one line (ReadKeys), each Vault read
	// has its own; so has each hush:// reference, as in hush run.
	if len(refsR.paths) > 0 {
		if err := s.Audit(audit.SecretRead, refsR.paths, nil); err != nil {
			return nil, err
		}
	}
	data, err := tpl.Render(values)
	if err != nil {
		return nil, fmt.Errorf("%w; nothing written", err)
	}
	for name, v := range values {
		out.Secrets = append(out.Secrets, inject.Secret{Name: templateSecretName(name), Value: v})
	}
	out.Mask = s.Getenv("GITHUB_ACTIONS") == "true"
	if o.Output == "" {
		out.Data = data
		return out, nil
	}
	err = writeRendered(o.Output, data, o.Force)
	clear(data)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// checkRefEnvs refuses, before anything is read, a hush:// reference to
// an environment that is neither the session's (--env, HUSH_ENV, the
// default) nor named by allow: the template is the repository's, the
// environments it reads are the user's choice, as a store value's
// reference is never resolved (hush run).
func (s *Session) checkRefEnvs(name string, refs []inject.TemplateRef, allow []string) error {
	own := ""
	for _, r := range refs {
		ref, ok, _ := inject.ParseRef(r.Ref)
		if !ok || slices.Contains(allow, ref.Env) {
			continue
		}
		if own == "" {
			env, err := s.EnvName()
			if err != nil {
				return err
			}
			own = env
		}
		if ref.Env != own {
			return hint.With(fmt.Errorf("%s: %s %w than %s; nothing read", name, r.Ref, ErrOtherEnv, own),
				"if the template should read %s, say so: hush inject --allow-env %s", ref.Env, ref.Env)
		}
	}
	return nil
}

// maxTemplate is the largest template hush reads: a config file, not a
// data set.
const maxTemplate = 16 << 20

// readTemplate reads the template of o and names it for errors.
func (s *Session) readTemplate(o InjectOptions) (string, []byte, error) {
	var r io.Reader = o.Stdin
	name := "stdin"
	if o.Path != "" && o.Path != "-" {
		var p *store.Project
		if pp, err := s.Project(); err == nil {
			p = pp
		}
		f, err := openRepoFile(p, "template", o.Path)
		if err != nil {
			return "", nil, err
		}
		defer f.Close()
		r, name = f, o.Path
	}
	if r == nil {
		return "", nil, Usagef("no template given")
	}
	b, err := io.ReadAll(io.LimitReader(r, maxTemplate+1))
	if err != nil {
		return "", nil, fmt.Errorf("template %s: %w", name, err)
	}
	if len(b) > maxTemplate {
		return "", nil, fmt.Errorf("%w: template %s is larger than %d bytes", store.ErrInvalid, name, maxTemplate)
	}
	return name, b, nil
}

// templateSecretName names a rendered value for the CI masks: a key as
// it is, a reference by its key or field.
func templateSecretName(ref string) string {
	if i := strings.LastIndexAny(ref, "/#"); i >= 0 {
		return ref[i+1:]
	}
	return ref
}

func hasHushRef(refs []inject.TemplateRef) bool {
	for _, r := range refs {
		if strings.HasPrefix(r.Ref, "hush://") {
			return true
		}
	}
	return false
}

// projectRoots are the directories the repository controls, when hush is
// in a project; nil outside one.
func (s *Session) projectRoots() []string {
	p, err := s.Project()
	if err != nil {
		return nil
	}
	return SourceRoots(p)
}

// checkOutput refuses an output hush must not write, before anything is
// read: one git would commit (tracked, or in a work tree and not
// ignored: the fix is a .gitignore line, never a flag), one under a
// directory link the repository planted leading out of it (a template
// could land in ~/.bashrc.d), and an existing file without force.
func checkOutput(path string, force bool, roots []string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	if src, _ := store.WalkSource(filepath.Dir(abs), roots); src != nil && src.Escapes {
		return hint.With(fmt.Errorf("-o %s: %w: %s is a link in the project leading out of it", path, store.ErrOutside, src.Planted),
			"check what the repository put there (ls -l %s)", safe.ShellWord(src.Planted))
	}
	if top, rel := git.Path(abs); top != "" {
		ctx := context.Background()
		if git.OK(ctx, top, "ls-files", "--error-unmatch", "--", rel) {
			return hint.With(fmt.Errorf("-o %s: %w: it is tracked, so the rendered secrets would be in the next commit", path, ErrCommittable),
				"render to a file git ignores: git rm --cached %s, then add it to .gitignore", safe.ShellWord(rel))
		}
		ignored, err := git.Ignored(ctx, top, rel)
		if err != nil {
			return fmt.Errorf("-o %s: %w", path, err)
		}
		if !ignored {
			return hint.With(fmt.Errorf("-o %s: %w: it is in the work tree %s and not ignored, so git add . would take the rendered secrets", path, ErrCommittable, top),
				"ignore it first: echo %s >> %s", safe.ShellWord("/"+rel), safe.ShellWord(filepath.Join(top, ".gitignore")))
		}
	}
	st, err := os.Lstat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case !st.Mode().IsRegular():
		return hint.With(fmt.Errorf("-o %s: %w: it is not a regular file (a link, a FIFO, a device); hush writes only new regular files", path, store.ErrUnsafe),
			"write to a new regular file, or to stdout")
	case !force:
		return hint.With(fmt.Errorf("-o %s already exists; nothing written", path), "pass --force to replace it")
	}
	return nil
}

// writeRendered writes a rendering to a new file, 0600, whole or not at
// all; with force an existing regular file is replaced atomically by a
// new 0600 file (never written in place, never through a link).
func writeRendered(path string, data []byte, force bool) error {
	var err error
	if force {
		err = store.WriteFileAtomic(path, data)
	} else {
		err = store.CreateFileAtomic(path, data)
	}
	switch {
	case errors.Is(err, fs.ErrExist):
		return hint.With(fmt.Errorf("-o %s already exists; nothing written", path), "pass --force to replace it")
	case errors.Is(err, store.ErrUnsafe):
		return hint.With(err, "write to a new regular file, or to stdout")
	}
	return err
}
