package inject

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// ParseJSON parses a flat JSON object. String values are taken as they are;
// numbers keep their text ("1.50" stays "1.50") and booleans become "true" or
// "false". null, arrays and objects are refused naming the key, as are
// invalid names and NUL bytes. A duplicate key's last value wins and is
// reported. Errors carry the line and never a value.
func ParseJSON(r io.Reader) (*Imported, error) {
	src, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("json: %w", err)
	}
	src = bytes.TrimPrefix(src, utf8BOM)
	// encoding/json would replace invalid UTF-8 silently.
	if !utf8.Valid(src) {
		return nil, &ParseError{Format: "json", Line: lineAt(src, invalidUTF8At(src)), Reason: "invalid UTF-8"}
	}
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	fail := func(reason string) error {
		return &ParseError{Format: "json", Line: lineAt(src, int(min(dec.InputOffset(), int64(len(src))))), Reason: reason}
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonSyntax(src, err, fail)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fail("want an object of NAME: value")
	}
	var c collector
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonSyntax(src, err, fail)
		}
		key := tok.(string) // object keys are always strings
		line := lineAt(src, int(dec.InputOffset()))
		if !ValidName(key) {
			return nil, &ParseError{Format: "json", Line: line, Reason: "invalid name " + quoteName(key)}
		}
		tok, err = dec.Token()
		if err != nil {
			return nil, jsonSyntax(src, err, fail)
		}
		var v string
		switch t := tok.(type) {
		case string:
			v = t
		case json.Number:
			v = t.String()
		case bool:
			v = strconv.FormatBool(t)
		case nil:
			return nil, &ParseError{Format: "json", Line: line, Key: key, Reason: "null value"}
		default: // a '[' or '{'
			return nil, &ParseError{Format: "json", Line: line, Key: key, Reason: "nested value (want a string, number or boolean)"}
		}
		if strings.IndexByte(v, 0) >= 0 {
			return nil, &ParseError{Format: "json", Line: line, Key: key, Reason: "NUL byte in value"}
		}
		c.set(key, v)
	}
	if _, err := dec.Token(); err != nil {
		return nil, jsonSyntax(src, err, fail)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fail("data after the object")
	}
	return &c.out, nil
}

// jsonSyntax replaces encoding/json's message, which may quote a character of
// the input, by the line alone.
func jsonSyntax(src []byte, err error, fail func(string) error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &ParseError{Format: "json", Line: lineAt(src, int(min(se.Offset, int64(len(src))))), Reason: "invalid JSON"}
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fail("unexpected end of input")
	}
	return fail("invalid JSON")
}

var yamlLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`line (\d+)`) })

// ParseYAML parses a flat YAML mapping with the rules of ParseJSON: scalars
// keep their text (0x1F stays "0x1F", yes stays "yes"), null, sequences,
// mappings and aliases are refused naming the key. A duplicate key's last
// value wins and is reported. Only one document is read.
func ParseYAML(r io.Reader) (*Imported, error) {
	src, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("yaml: %w", err)
	}
	if i := bytes.IndexByte(src, 0); i >= 0 {
		return nil, &ParseError{Format: "yaml", Line: lineAt(src, i), Reason: "NUL byte"}
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return &Imported{}, nil
		}
		// yaml.v3's messages can quote the input: keep the line only.
		line := 0
		if m := yamlLine().FindStringSubmatch(err.Error()); m != nil {
			line, _ = strconv.Atoi(m[1])
		}
		return nil, &ParseError{Format: "yaml", Line: line, Reason: "invalid YAML"}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, &ParseError{Format: "yaml", Line: extra.Line, Reason: "more than one document"}
	}
	if len(doc.Content) == 0 {
		return &Imported{}, nil
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return nil, &ParseError{Format: "yaml", Line: m.Line, Reason: "want a mapping of NAME: value"}
	}
	var c collector
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind != yaml.ScalarNode || !ValidName(k.Value) {
			return nil, &ParseError{Format: "yaml", Line: k.Line, Reason: "invalid name " + quoteName(k.Value)}
		}
		if v.Kind != yaml.ScalarNode {
			return nil, &ParseError{Format: "yaml", Line: k.Line, Key: k.Value, Reason: "nested value or alias (want a scalar)"}
		}
		if v.Tag == "!!null" {
			return nil, &ParseError{Format: "yaml", Line: k.Line, Key: k.Value, Reason: "null value"}
		}
		if v.Tag == "!!binary" {
			return nil, &ParseError{Format: "yaml", Line: k.Line, Key: k.Value, Reason: "binary value"}
		}
		if strings.IndexByte(v.Value, 0) >= 0 {
			return nil, &ParseError{Format: "yaml", Line: v.Line, Key: k.Value, Reason: "NUL byte in value"}
		}
		c.set(k.Value, v.Value)
	}
	return &c.out, nil
}

// Import parses r in format: FormatDotenv, FormatJSON or FormatYAML.
func Import(r io.Reader, format Format) (*Imported, error) {
	switch format {
	case FormatDotenv:
		return ParseDotenv(r)
	case FormatJSON:
		return ParseJSON(r)
	case FormatYAML:
		return ParseYAML(r)
	}
	return nil, fmt.Errorf("inject: cannot import format %q (want dotenv, json or yaml)", format)
}

// invalidUTF8At is the offset of the first byte of src that is not valid UTF-8.
func invalidUTF8At(src []byte) int {
	for i := 0; i < len(src); {
		r, n := utf8.DecodeRune(src[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(src)
}
