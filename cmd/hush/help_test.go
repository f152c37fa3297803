package main

import (
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// TestEveryCommandHasAnExample: every command a user can run shows an
// example in its --help (a group's own help lists its subcommands, so a
// group with subcommands needs none of its own).
func TestEveryCommandHasAnExample(t *testing.T) {
	app := newApp(&Env{})
	var walk func(prefix string, cmds []*cli.Command)
	walk = func(prefix string, cmds []*cli.Command) {
		for _, c := range cmds {
			name := strings.TrimSpace(prefix + " " + c.Name)
			if c.Hidden {
				continue
			}
			if len(c.Subcommands) > 0 {
				walk(name, c.Subcommands)
				continue
			}
			if !strings.Contains(c.Description, "EXAMPLE") {
				t.Errorf("hush %s --help has no example", name)
			}
		}
	}
	walk("", app.Commands)
}
