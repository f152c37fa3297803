// Command hush keeps a team's secrets encrypted with age, per environment,
// next to the code, and runs programs with them. See README.md.
package main

import (
	"context"
	"os"
)

func main() {
	harden()
	tuneGC()
	os.Exit(Main(context.Background(), os.Args, realEnv()))
}
