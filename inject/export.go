package inject

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// Format names an export or import format.
type Format string

// The formats. Import reads dotenv, json and yaml.
const (
	FormatDotenv Format = "dotenv" // KEY='value', read back exactly by every mainstream dotenv reader
	FormatJSON   Format = "json"   // {"KEY": "value"}
	FormatYAML   Format = "yaml"   // KEY: "value"
	FormatShell  Format = "shell"  // export KEY='value', for eval in a POSIX shell
	FormatDocker Format = "docker" // KEY=value, for docker run --env-file
	FormatK8s    Format = "k8s"    // a v1 Secret manifest
	FormatGitHub Format = "github" // KEY<<DELIM heredocs, for $GITHUB_ENV
)

// Formats lists the export formats.
var Formats = []Format{FormatDotenv, FormatJSON, FormatYAML, FormatShell, FormatDocker, FormatK8s, FormatGitHub}

// ParseFormat checks a format name given by a user.
func ParseFormat(s string) (Format, error) {
	if f := Format(s); slices.Contains(Formats, f) {
		return f, nil
	}
	return "", fmt.Errorf("inject: unknown format %q (want one of dotenv, json, yaml, shell, docker, k8s, github)", s)
}

// ExportOptions are format-specific settings.
type ExportOptions struct {
	// Name and Namespace of a k8s Secret. Name is required for FormatK8s.
	Name      string
	Namespace string
	// Allow names the variables a format that sets an environment may
	// carry although IsDangerous (hush.yaml's allow_inject).
	Allow []string
	// ForHush, with FormatDotenv, writes every valid UTF-8 value for
	// ParseDotenv alone (in double quotes with escapes), instead of
	// refusing the values some other reader would misread: for text only
	// hush reads back, such as the edit buffer.
	ForHush bool
}

// ExportError is a value the format cannot carry. It names the key and the
// reason, never the value.
type ExportError struct {
	Format Format
	Key    string
	Reason string
}

func (e *ExportError) Error() string {
	return fmt.Sprintf("export %s: %s: %s", e.Format, e.Key, e.Reason)
}

// Export writes secrets to w in format, keys sorted, the last value of a
// repeated name winning. Names must be valid and values free of NUL; a value
// the format cannot carry, or a name the loader policy refuses in a format
// that sets an environment, is refused with an *ExportError. Nothing is
// written unless every secret can be.
func Export(w io.Writer, format Format, secrets []Secret, opts ExportOptions) error {
	secrets = lastWins(secrets)
	for _, s := range secrets {
		if err := checkSecret(s); err != nil {
			return fmt.Errorf("export %s: %w", format, err)
		}
		// The loader policy, fail-closed: callers leave such names out
		// with FilterExport and a warning; one that forgot fails here.
		if format.SetsEnv() && !Allowed(s.Name, opts.Allow) {
			return &ExportError{Format: format, Key: s.Name, Reason: "changes what programs run, trust or write (see IsDangerous); leave it out or allow it"}
		}
		// dotenv readers and the GitHub runner read text: bytes that are not
		// UTF-8 come back replaced. (shell and k8s carry any byte exactly;
		// docker, json and yaml refuse such a value below.)
		if (format == FormatDotenv || format == FormatGitHub) && !utf8.ValidString(s.Value.s) {
			return &ExportError{Format: format, Key: s.Name, Reason: "value is not valid UTF-8, which " + string(format) + " readers do not give back exactly; use --format shell or k8s"}
		}
	}
	slices.SortFunc(secrets, func(a, b Secret) int { return strings.Compare(a.Name, b.Name) })
	var buf bytes.Buffer
	var err error
	switch format {
	case FormatDotenv:
		err = each(&buf, secrets, format, func(s Secret) (string, error) {
			if opts.ForHush && utf8.ValidString(s.Value.s) {
				return s.Name + "=" + dotenvQuoteHush(s.Value.s) + "\n", nil
			}
			q, err := dotenvQuote(s.Value.s)
			return s.Name + "=" + q + "\n", err
		})
	case FormatShell:
		err = each(&buf, secrets, format, func(s Secret) (string, error) {
			return "export " + s.Name + "=" + shellQuote(s.Value.s) + "\n", nil
		})
	case FormatDocker:
		err = each(&buf, secrets, format, func(s Secret) (string, error) {
			return s.Name + "=" + s.Value.s + "\n", dockerCheck(s)
		})
	case FormatGitHub:
		err = each(&buf, secrets, format, githubEnvLine)
	case FormatJSON:
		err = exportJSON(&buf, secrets)
	case FormatYAML:
		err = exportYAML(&buf, secrets, "")
	case FormatK8s:
		err = exportK8s(&buf, secrets, opts)
	default:
		_, err = ParseFormat(string(format))
	}
	if err != nil {
		return err
	}
	_, err = w.Write(buf.Bytes())
	return err
}

func each(buf *bytes.Buffer, secrets []Secret, format Format, line func(Secret) (string, error)) error {
	for _, s := range secrets {
		l, err := line(s)
		if err != nil {
			if ee, ok := err.(*ExportError); ok {
				ee.Format, ee.Key = format, s.Name
			}
			return err
		}
		buf.WriteString(l)
	}
	return nil
}

// shellQuote single-quotes s for a POSIX shell. Inside single quotes every
// byte but the quote itself is literal; a quote closes the string, is
// written escaped and reopens it:
//
//	it's  →  'it'\''s'
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// dockerCheck refuses what docker's --env-file reader (docker/cli
// pkg/kvfile) cannot carry: it reads KEY=value lines as they are, with no
// quoting, escapes or trimming of the value, refuses invalid UTF-8, caps a
// line at 64 KiB (bufio.Scanner) and drops a CR before the line end.
func dockerCheck(s Secret) error {
	v := s.Value.s
	switch {
	case strings.ContainsAny(v, "\r\n"):
		return &ExportError{Key: s.Name, Reason: "multi-line value (docker env files have no quoting); use --format json or k8s"}
	case !utf8.ValidString(v):
		return &ExportError{Key: s.Name, Reason: "value is not valid UTF-8 (docker env files refuse it)"}
	case len(s.Name)+1+len(v) >= 64*1024:
		return &ExportError{Key: s.Name, Reason: "value too long for a docker env file line (64 KiB)"}
	}
	return nil
}

// githubEnvLine writes the multi-line form of $GITHUB_ENV, with a random
// delimiter that does not occur in the value.
func githubEnvLine(s Secret) (string, error) {
	for {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", fmt.Errorf("export github: %w", err)
		}
		delim := "ghadelimiter_" + hex.EncodeToString(b[:])
		if !strings.Contains(s.Value.s, delim) {
			return s.Name + "<<" + delim + "\n" + s.Value.s + "\n" + delim + "\n", nil
		}
	}
}

func exportJSON(buf *bytes.Buffer, secrets []Secret) error {
	for _, s := range secrets {
		if !utf8.ValidString(s.Value.s) {
			return &ExportError{Format: FormatJSON, Key: s.Name, Reason: "value is not valid UTF-8 (JSON strings must be)"}
		}
	}
	// A map marshals with sorted keys.
	m := make(map[string]string, len(secrets))
	for _, s := range secrets {
		m[s.Name] = s.Value.s
	}
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(m)
}

// exportYAML writes a mapping of double-quoted strings, indented by indent.
func exportYAML(buf *bytes.Buffer, secrets []Secret, indent string) error {
	if len(secrets) == 0 && indent == "" {
		buf.WriteString("{}\n")
		return nil
	}
	for _, s := range secrets {
		if !utf8.ValidString(s.Value.s) {
			return &ExportError{Format: FormatYAML, Key: s.Name, Reason: "value is not valid UTF-8 (YAML strings must be)"}
		}
		buf.WriteString(indent + yamlKey(s.Name) + ": " + yamlQuote(s.Value.s) + "\n")
	}
	return nil
}

// Compiled on first use: package init runs for every hush command, and
// only k8s exports need these.
var (
	dnsSubdomain = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	})
	dnsLabel = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`) })
)

// exportK8s writes a v1 Secret with base64 data. Every scalar the reader
// could take for something other than a string is double-quoted: an empty
// value's base64 is empty, which YAML reads as null (kubectl apply then
// drops the key), and base64 text can itself be a YAML 1.1 number, boolean
// or null ("1234", "true", "NULL", "0777" are all base64 of three bytes) —
// so every value, key, name and namespace is quoted, not only those known
// to be ambiguous today. data (not stringData) carries any byte exactly.
func exportK8s(buf *bytes.Buffer, secrets []Secret, opts ExportOptions) error {
	if len(opts.Name) > 253 || !dnsSubdomain().MatchString(opts.Name) {
		return fmt.Errorf("export k8s: secret name %q is not a DNS subdomain (lowercase letters, digits, '-', '.')", opts.Name)
	}
	if opts.Namespace != "" && (len(opts.Namespace) > 63 || !dnsLabel().MatchString(opts.Namespace)) {
		return fmt.Errorf("export k8s: namespace %q is not a DNS label", opts.Namespace)
	}
	// Names, namespaces, variable names and base64 are ASCII without quote
	// or backslash: quoting them is wrapping them in double quotes.
	buf.WriteString("apiVersion: v1\nkind: Secret\nmetadata:\n  name: \"" + opts.Name + "\"\n")
	if opts.Namespace != "" {
		buf.WriteString("  namespace: \"" + opts.Namespace + "\"\n")
	}
	buf.WriteString("type: Opaque\n")
	if len(secrets) == 0 {
		buf.WriteString("data: {}\n")
		return nil
	}
	buf.WriteString("data:\n")
	for _, s := range secrets {
		buf.WriteString("  \"" + s.Name + "\": \"" + base64.StdEncoding.EncodeToString([]byte(s.Value.s)) + "\"\n")
	}
	return nil
}
