package inject

import (
	"fmt"
	"strings"
)

// Imported is the result of parsing an env file, JSON or YAML.
type Imported struct {
	// Secrets in the order of their first appearance, each with its last
	// value.
	Secrets []Secret
	// Duplicates names the keys that appeared more than once (the last
	// value won), in order of first appearance.
	Duplicates []string
	// Disputed lists, for dotenv input, the keys whose stored value
	// depends on something mainstream dotenv readers do differently
	// (variable expansion, an escape, a '#' inside a bare value…): hush's
	// reading is documented, but the file's author may have meant
	// another. hush migrate keeps such a file; import warns.
	Disputed []Dispute
}

// Dispute is a key whose value hush read one way and some mainstream dotenv
// reader reads another. Reason is a fixed text: never a value, nor a part of
// one (a variable name inside a value can be part of a password).
type Dispute struct {
	Key    string
	Line   int // 1-based line of the key's last definition, 0 when unknown
	Reason string
}

// ParseError is a refusal to import, with the 1-based line it concerns
// (0 when unknown). Its message never contains a value.
type ParseError struct {
	Format string // "dotenv", "json" or "yaml"
	Line   int
	Key    string // the key concerned, if any and if valid
	Reason string
}

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString(e.Format)
	if e.Line > 0 {
		fmt.Fprintf(&b, ": line %d", e.Line)
	}
	if e.Key != "" {
		b.WriteString(": " + e.Key)
	}
	b.WriteString(": " + e.Reason)
	return b.String()
}

// collector gathers keys, last value wins, and reports duplicates.
type collector struct {
	idx map[string]int
	dup map[string]bool
	out Imported
}

func (c *collector) set(k, v string) {
	if c.idx == nil {
		c.idx, c.dup = map[string]int{}, map[string]bool{}
	}
	if i, ok := c.idx[k]; ok {
		c.out.Secrets[i].Value = NewValue(v)
		if !c.dup[k] {
			c.dup[k] = true
			c.out.Duplicates = append(c.out.Duplicates, k)
		}
		return
	}
	c.idx[k] = len(c.out.Secrets)
	c.out.Secrets = append(c.out.Secrets, Secret{Name: k, Value: NewValue(v)})
}
