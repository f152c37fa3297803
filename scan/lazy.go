package scan

import (
	"regexp"
	"sync"
)

// lazyRegexp compiles a pattern on first use. Package-level regexps are
// compiled at start-up by every hush command, scanning or not.
func lazyRegexp(src string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(src) })
}
