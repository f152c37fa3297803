package main

import (
	"bytes"
	"encoding/json"
	"io"

	"github.com/hush-secrets/hush/internal/safe"
)

// writeJSON writes v as indented JSON. encoding/json escapes the C0
// controls but not DEL, the C1 controls or the bidi and zero-width
// characters a repository can put in a label; safe.JSON writes those as
// \u escapes, which decode to the same strings.
func writeJSON(w io.Writer, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(safe.JSON(buf.Bytes()))
	return err
}

// jsonWriter applies safe.JSON to each write of a json.Encoder, which
// writes one whole document per call.
type jsonWriter struct{ w io.Writer }

func (j jsonWriter) Write(p []byte) (int, error) {
	if _, err := j.w.Write(safe.JSON(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}
