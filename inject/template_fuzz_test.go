package inject

import (
	"strings"
	"testing"
)

// FuzzParseTemplate: whatever the repository writes, ParseTemplate
// refuses it or yields a template whose render reads only the references
// it reported: a value it did not name never reaches the output.
func FuzzParseTemplate(f *testing.F) {
	for _, s := range []string{
		`{{ hush "A" }}`, `{{ .A | json }}`, `x {{ "{{" }} y`, `{{ hush "hush://prod/A" | yaml }}`,
		`{{ index . "B" }}`, `{{ range . }}{{ . }}{{ end }}`, `{{ template "x" }}`, `{{/* c */}}`,
		`{{ .A }}{{ .B | shell }}`, `{{- hush "A" -}}`, `{{ $ }}`, `{{ hush "vault://s/p#f" | dotenv }}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if strings.Contains(text, "xyzzy") {
			return // the text itself may say it
		}
		tpl, err := ParseTemplate("f", text)
		if err != nil {
			return
		}
		values := map[string]Value{"UNNAMED_SECRET": NewValue("never-in-output-xyzzy")}
		for _, r := range tpl.Refs() {
			values[r.String()] = NewValue("v-" + r.String())
		}
		out, err := tpl.Render(values)
		if err != nil {
			return
		}
		if strings.Contains(string(out), "never-in-output-xyzzy") {
			t.Fatalf("%q rendered a value it did not name", text)
		}
	})
}
