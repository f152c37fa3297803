package inject

import (
	"io"
	"strings"
)

// WriteGitHubMasks writes a GitHub Actions "::add-mask::" workflow command for
// each secret value, so the runner blanks the value out of the job's log.
// The runner masks line by line, so a multi-line value gets one command per
// line; surrounding spaces are trimmed from each line (masking the inner
// text still hides the line) and blank lines are skipped. '%', CR and LF are
// escaped as workflow commands require, so the runner masks the value
// itself and not its unescaped form.
//
// The commands go to the job's standard output and must be written before
// the values can appear in it.
func WriteGitHubMasks(w io.Writer, secrets []Secret) error {
	var b strings.Builder
	for _, s := range secrets {
		for _, line := range strings.FieldsFunc(s.Value.s, func(r rune) bool { return r == '\n' || r == '\r' }) {
			line = strings.Trim(line, " \t")
			if line == "" {
				continue
			}
			b.WriteString("::add-mask::" + githubEscape(line) + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// githubEscape escapes workflow command data as the runner unescapes it.
func githubEscape(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}
