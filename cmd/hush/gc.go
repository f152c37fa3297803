package main

import (
	"os"
	"runtime/debug"
)

// tuneGC lets the heap grow to five times what is live before a
// collection instead of twice (GOGC=400 rather than 100), unless GOGC says
// otherwise. A command lives for milliseconds: hush run of 10,000 secrets
// peaks at about 11 MB and collected three times on the way (4, 6 and 10
// MB goals), some 10 ms of CPU that bought nothing; with 400 the first goal
// is 16 MB. A long-lived hush (a supervised child, a scan) keeps a small
// live heap, so five times it is still small.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
}
