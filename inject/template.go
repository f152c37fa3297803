package inject

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/template"
	"text/template/parse"
	"unicode/utf8"
)

// This file is hush inject's template language: a config file with
// references to secrets, rendered with their values (op inject, infisical
// export --template, doppler secrets substitute).
//
// A template comes from the repository, so it is untrusted: it may name
// secrets, and nothing else. It is Go's text/template syntax cut down to
// what names a secret and quotes it:
//
//	{{ hush "KEY" }}                  KEY of the environment (--env)
//	{{ .KEY }}                        the same, shorter
//	{{ hush "hush://ENV/KEY" }}       KEY of another environment
//	{{ hush "vault://MOUNT/PATH#F" }} field F of a Vault secret
//	{{ hush "KEY" | json }}           quoted: json, yaml, shell, dotenv; raw is the default
//	{{/* a comment */}}
//	{{ "{{" }}                        a literal {{
//
// Every action is checked before anything is read: its first command is a
// reference with a quoted literal (so the set of secrets a template reads
// is known from its text alone, audited and checked to exist before a byte
// is written), followed by at most one escape. if, range, with, define,
// template, block, variables, and every other function (call, printf,
// index…) are refused, so a template cannot reach other data, files,
// programs or the network; the references reach only what the user's own
// identity and pinned Vault settings reach.

// Escapes are the escape functions of a template: raw writes the value as
// it is.
var Escapes = []string{"raw", "json", "yaml", "shell", "dotenv"}

// TemplateRef is one reference of a template, as written: a key of the
// environment the template is rendered for (Key), or a full reference
// (hush://ENV/KEY or vault://…) in Ref.
type TemplateRef struct {
	Key string
	Ref string
}

// String is the reference as written. It is not secret.
func (r TemplateRef) String() string {
	if r.Key != "" {
		return r.Key
	}
	return r.Ref
}

// Template is a parsed, checked template.
type Template struct {
	t    *template.Template
	refs []TemplateRef
}

// TemplateError is a template hush will not render: where and why. It
// never holds a value.
type TemplateError struct {
	Where  string // name:line:col
	Reason string
}

func (e *TemplateError) Error() string { return "template " + e.Where + ": " + e.Reason }

// ErrTemplate matches every *TemplateError.
var ErrTemplate = errors.New("bad template")

func (e *TemplateError) Is(target error) bool { return target == ErrTemplate }

// placeholders make the parser accept the template's functions; Render
// binds the real ones.
func placeholders() template.FuncMap {
	fm := template.FuncMap{"hush": func(string) string { return "" }}
	for _, e := range Escapes {
		fm[e] = func(string) string { return "" }
	}
	return fm
}

// ParseTemplate parses text (name is the file's name, for errors) and
// checks that it holds nothing but references and escapes.
func ParseTemplate(name, text string) (*Template, error) {
	if !utf8.ValidString(text) {
		return nil, &TemplateError{Where: name, Reason: "not UTF-8 text"}
	}
	t, err := template.New(name).Option("missingkey=error").Funcs(placeholders()).Parse(text)
	if err != nil {
		return nil, &TemplateError{Where: name, Reason: strings.TrimPrefix(err.Error(), "template: ")}
	}
	if len(t.Templates()) > 1 {
		return nil, &TemplateError{Where: name, Reason: "define and block are not allowed: a template holds references to secrets, and text"}
	}
	tpl := &Template{t: t}
	seen := map[TemplateRef]bool{}
	if t.Tree != nil && t.Tree.Root != nil {
		for _, n := range t.Tree.Root.Nodes {
			ref, err := checkNode(t.Tree, n)
			if err != nil {
				return nil, err
			}
			if ref != nil && !seen[*ref] {
				seen[*ref] = true
				tpl.refs = append(tpl.refs, *ref)
			}
		}
	}
	return tpl, nil
}

// Refs are the template's references, each once, in order of appearance.
func (t *Template) Refs() []TemplateRef { return append([]TemplateRef(nil), t.refs...) }

const allowedForms = `{{ hush "KEY" }}, {{ .KEY }}, {{ hush "hush://ENV/KEY" }} or {{ hush "vault://PATH#FIELD" }}, optionally | raw, json, yaml, shell or dotenv`

// checkNode checks one top-level node and returns the reference an
// action makes.
func checkNode(tree *parse.Tree, n parse.Node) (*TemplateRef, error) {
	bad := func(format string, args ...any) (*TemplateRef, error) {
		where, _ := tree.ErrorContext(n)
		return nil, &TemplateError{Where: where, Reason: fmt.Sprintf(format, args...)}
	}
	switch n := n.(type) {
	case *parse.TextNode, *parse.CommentNode:
		return nil, nil
	case *parse.ActionNode:
		p := n.Pipe
		if p == nil || len(p.Decl) > 0 || p.IsAssign {
			return bad("variables are not allowed; want %s", allowedForms)
		}
		if len(p.Cmds) == 0 || len(p.Cmds) > 2 {
			return bad("want %s", allowedForms)
		}
		// {{ "{{" }} writes text the template language would take for an
		// action, as in every text/template.
		if _, ok := p.Cmds[0].Args[0].(*parse.StringNode); ok && len(p.Cmds) == 1 && len(p.Cmds[0].Args) == 1 {
			return nil, nil
		}
		ref, err := refCommand(p.Cmds[0])
		if err != nil {
			return bad("%v; want %s", err, allowedForms)
		}
		if len(p.Cmds) == 2 {
			c := p.Cmds[1]
			id, ok := c.Args[0].(*parse.IdentifierNode)
			if len(c.Args) != 1 || !ok || !isEscape(id.Ident) {
				return bad("after | comes one of raw, json, yaml, shell, dotenv")
			}
		}
		return ref, nil
	}
	return bad("only references to secrets are allowed (no if, range, with, template, block); want %s", allowedForms)
}

// refCommand reads the reference of an action's first command.
func refCommand(c *parse.CommandNode) (*TemplateRef, error) {
	switch a := c.Args[0].(type) {
	case *parse.FieldNode:
		if len(c.Args) != 1 || len(a.Ident) != 1 {
			return nil, errors.New("a field is one name, .KEY")
		}
		if !ValidName(a.Ident[0]) {
			return nil, fmt.Errorf("%q is not a key name", a.Ident[0])
		}
		return &TemplateRef{Key: a.Ident[0]}, nil
	case *parse.IdentifierNode:
		if a.Ident != "hush" {
			if isEscape(a.Ident) {
				return nil, fmt.Errorf("%s escapes a reference: {{ hush \"KEY\" | %s }}", a.Ident, a.Ident)
			}
			return nil, fmt.Errorf("function %q is not allowed", a.Ident)
		}
		if len(c.Args) != 2 {
			return nil, errors.New(`hush takes one quoted name`)
		}
		s, ok := c.Args[1].(*parse.StringNode)
		if !ok {
			return nil, errors.New(`hush takes a quoted name, not an expression`)
		}
		return parseTemplateRef(s.Text)
	}
	return nil, errors.New("an action names a secret")
}

func parseTemplateRef(s string) (*TemplateRef, error) {
	switch {
	case strings.HasPrefix(s, refScheme):
		if _, _, err := ParseRef(s); err != nil {
			return nil, fmt.Errorf("%q: %w", s, err)
		}
		return &TemplateRef{Ref: s}, nil
	case strings.HasPrefix(s, "vault://") || remoteRef(s):
		// The session checks the rest of a remote reference (vault://,
		// ssm://…) when it reads, and refuses a scheme it has no remote for.
		return &TemplateRef{Ref: s}, nil
	case ValidName(s):
		return &TemplateRef{Key: s}, nil
	}
	return nil, fmt.Errorf("%q is not a key name nor a hush:// or vault:// reference", s)
}

func isEscape(name string) bool {
	for _, e := range Escapes {
		if e == name {
			return true
		}
	}
	return false
}

// tval is a value inside a render: the escapes know which reference it
// came from, to name it when they refuse it. String gives the value
// itself, as text/template prints it; tval never leaves this file.
type tval struct {
	ref TemplateRef
	v   string
}

func (v tval) String() string { return v.v }

// Render writes t with values (one per reference of Refs, by its String)
// to a buffer and returns it. A value an escape cannot carry fails the
// whole render, naming its reference; nothing is returned then.
func (t *Template) Render(values map[string]Value) ([]byte, error) {
	get := func(ref TemplateRef) (tval, error) {
		v, ok := values[ref.String()]
		if !ok {
			return tval{}, fmt.Errorf("%s has no value", ref)
		}
		return tval{ref: ref, v: v.s}, nil
	}
	fm := template.FuncMap{
		"hush": func(s string) (tval, error) {
			ref, err := parseTemplateRef(s)
			if err != nil {
				return tval{}, err
			}
			return get(*ref)
		},
		"raw":    func(v tval) tval { return v },
		"json":   escapeJSON,
		"yaml":   escapeYAML,
		"shell":  escapeShell,
		"dotenv": escapeDotenv,
	}
	data := map[string]tval{}
	for _, r := range t.refs {
		if r.Key != "" {
			v, err := get(r)
			if err != nil {
				return nil, err
			}
			data[r.Key] = v
		}
	}
	c, err := t.t.Clone()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := c.Funcs(fm).Execute(&buf, data); err != nil {
		clear(buf.Bytes())
		var ee template.ExecError
		if errors.As(err, &ee) {
			// The cause is one of the errors above, which name a
			// reference and never hold a value.
			return nil, fmt.Errorf("render %s", strings.TrimPrefix(ee.Error(), "template: "))
		}
		return nil, fmt.Errorf("render %s: %w", t.t.Name(), err)
	}
	return buf.Bytes(), nil
}

func escapeJSON(v tval) (string, error) {
	if !utf8.ValidString(v.v) {
		return "", fmt.Errorf("%s: value is not valid UTF-8, which JSON strings must be", v.ref)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v.v); err != nil {
		return "", fmt.Errorf("%s: %w", v.ref, err)
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

func escapeYAML(v tval) (string, error) {
	if !utf8.ValidString(v.v) {
		return "", fmt.Errorf("%s: value is not valid UTF-8, which YAML strings must be", v.ref)
	}
	return yamlQuote(v.v), nil
}

func escapeShell(v tval) (string, error) {
	if strings.IndexByte(v.v, 0) >= 0 {
		return "", fmt.Errorf("%s: value holds a NUL byte, which no shell word carries", v.ref)
	}
	return shellQuote(v.v), nil
}

func escapeDotenv(v tval) (string, error) {
	q, err := dotenvQuote(v.v)
	var ee *ExportError
	if errors.As(err, &ee) {
		return "", fmt.Errorf("%s: %s", v.ref, strings.ReplaceAll(ee.Reason, "use --format", "use the escape"))
	}
	return q, err
}

// remoteRef reports whether s starts with a lower-case scheme and ://
// (a reference to a remote store: which ones exist is the session's).
func remoteRef(s string) bool {
	scheme, _, ok := strings.Cut(s, "://")
	if !ok || scheme == "" || scheme == "hush" {
		return false
	}
	for _, r := range scheme {
		if r < 'a' || r > 'z' {
			return false
		}
	}
	return true
}
