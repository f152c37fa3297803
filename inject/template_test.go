package inject

import (
	"errors"
	"strings"
	"testing"
)

func TestTemplateRender(t *testing.T) {
	t.Parallel()
	text := `db: {{ hush "DB" | yaml }}
url={{ .URL }}
json={{ hush "DB" | json }}
sh={{ .DB | shell }}
env=DB={{ hush "URL" | dotenv }}
prod={{ hush "hush://prod/DB" }}
v={{ hush "vault://secret/app#pw" | raw }}
{{/* a comment */}}lit={{ "{{" }}x}}
{{- " trimmed" }}
`
	tpl, err := ParseTemplate("app.tmpl", text)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range tpl.Refs() {
		got = append(got, r.String())
	}
	if strings.Join(got, " ") != "DB URL hush://prod/DB vault://secret/app#pw" {
		t.Fatalf("refs %q", got)
	}
	out, err := tpl.Render(map[string]Value{
		"DB": NewValue("it's \"q\"\n$x"), "URL": NewValue("https://h/p"),
		"hush://prod/DB": NewValue("prod-pw"), "vault://secret/app#pw": NewValue("v-pw"),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `db: "it's \"q\"\n$x"
url=https://h/p
json="it's \"q\"\n$x"
sh='it'\''s "q"
$x'
env=DB='https://h/p'
prod=prod-pw
v=v-pw
lit={{x}} trimmed
`
	if string(out) != want {
		t.Fatalf("got\n%s\nwant\n%s", out, want)
	}
}

// TestTemplateRefuses: a template from the repository names secrets and
// nothing else; every other construct is refused at parse time, before
// anything is read, with where it is.
func TestTemplateRefuses(t *testing.T) {
	t.Parallel()
	for _, text := range []string{
		`{{ printf "%s" "x" }}`,
		`{{ call .F }}`,
		`{{ index . "DB" }}`,
		`{{ . }}`,
		`{{ $ }}`,
		`{{ $x := hush "DB" }}{{ $x }}`,
		`{{ hush (printf "D%s" "B") }}`,
		`{{ hush .DB }}`,
		`{{ json (hush "DB") }}`,
		`{{ hush "DB" | printf "%q" }}`,
		`{{ hush "DB" | json | yaml }}`,
		`{{ hush "DB" "X" }}`,
		`{{ hush "not a name" }}`,
		`{{ hush "hush://prod" }}`,
		`{{ .DB.X }}`,
		`{{ if .DB }}x{{ end }}`,
		`{{ range . }}{{ . }}{{ end }}`,
		`{{ with .DB }}{{ . }}{{ end }}`,
		`{{ define "x" }}{{ .DB }}{{ end }}`,
		`{{ block "x" . }}{{ end }}`,
		`{{ template "x" }}`,
		`{{ env "HOME" }}`,
		`{{ readFile "/etc/passwd" }}`,
		`{{ json }}`,
		`{{ hush "DB" `,
		"\xff{{ .DB }}",
	} {
		_, err := ParseTemplate("t", text)
		if !errors.Is(err, ErrTemplate) {
			t.Errorf("%q: %v, want a template error", text, err)
		}
	}
}

// TestTemplateEscapeRefuses: a value an escape cannot carry fails the
// render naming the reference, never with the value.
func TestTemplateEscapeRefuses(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ text, value, want string }{
		{`{{ hush "K" | json }}`, "bad\xffsecret", "K: value is not valid UTF-8"},
		{`{{ .K | yaml }}`, "bad\xffsecret", "K: value is not valid UTF-8"},
		{`{{ .K | shell }}`, "nul\x00secret", "K: value holds a NUL byte"},
		{`{{ .K | dotenv }}`, "it's \"secret\"", "K: no dotenv quoting"},
	} {
		tpl, err := ParseTemplate("t", c.text)
		if err != nil {
			t.Fatal(err)
		}
		out, err := tpl.Render(map[string]Value{"K": NewValue(c.value)})
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "secret") || out != nil {
			t.Errorf("%s: %q, %v", c.text, out, err)
		}
	}
}
