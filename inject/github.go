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
// Write them to hush's standard error, before the values can appear in the
// log. The runner parses workflow commands from both streams of a step:
// actions/runner's ScriptHandler (src/Runner.Worker/Handlers/ScriptHandler.cs)
// hooks an OutputManager, which calls ActionCommandManager.TryProcessCommand
// on every line, to StepHost.OutputDataReceived and ErrorDataReceived alike,
// and ProcessInvoker.ProcessOutput (src/Runner.Sdk/ProcessInvoker.cs) hands
// on each batch's stderr lines before its stdout lines. stdout is the
// child's and may be redirected (hush run -- kubectl get -o yaml >
// manifest.yaml, hush export --format github >> "$GITHUB_ENV"), where a
// command would corrupt the file and never reach the runner; stderr is
// hush's own, where its messages already go.
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
