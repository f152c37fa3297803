package crypt

import "time"

// nowFunc stamps generated key files; a variable so tests can fix it.
var nowFunc = time.Now
