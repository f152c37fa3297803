package store

import (
	"regexp"
	"strings"
	"sync"
)

// TypeConfig is the type of a value that is configuration, not a secret
// (a host name, a port, a flag): it has no rotation period and is never
// marked exposed, since there is nothing to rotate.
const TypeConfig = "config"

// secretWords in a name make hush treat its value as a secret, whatever it
// looks like: a PIN of four digits is still a PIN.
var secretWords = []string{"PASS", "SECRET", "TOKEN", "KEY", "PIN", "AUTH", "CRED", "PRIVATE", "SALT", "SEED", "SIGN", "CERT", "SESSION", "COOKIE", "OTP"}

// The patterns are compiled on first use, not at start: only an import
// asks, and compiling them cost every command 0.1 ms.
var (
	plainInt   = lazyRE(`^[0-9]{1,5}$`)
	bareHost   = lazyRE(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$`)
	loopback   = lazyRE(`^(localhost|127\.[0-9]+\.[0-9]+\.[0-9]+|0\.0\.0\.0|\[?::1\]?|host\.docker\.internal)(:[0-9]{1,5})?$`)
	hostSuffix = []string{"HOST", "HOSTNAME", "ADDR", "PORT", "DOMAIN"}
	plainWords = map[string]bool{
		"true": true, "false": true, "yes": true, "no": true, "on": true, "off": true,
		"debug": true, "info": true, "warn": true, "warning": true, "error": true, "trace": true,
		"development": true, "production": true, "staging": true, "test": true, "dev": true, "prod": true, "local": true,
	}
)

// IsConfigValue reports whether name=value is evidently configuration, so
// that a value that sat in a committed .env leaks nothing worth rotating:
// an empty value; for a name that does not suggest a secret, a flag, a
// log level or environment name, a number of up to five digits (a port, a
// timeout), a loopback address; and a bare host name under a name that
// says it is one (DB_HOST, SMTP_PORT). It errs on the side of a secret:
// anything else, any URL (it may carry credentials or a token in its
// query) and anything under a name with a secret's word in it is not.
func IsConfigValue(name, value string) bool {
	v := strings.TrimSpace(value)
	if v == "" {
		return true
	}
	n := strings.ToUpper(name)
	if inferType(n) != "" {
		return false
	}
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return false
		}
	}
	if v != value {
		return false
	}
	if plainWords[strings.ToLower(v)] || plainInt().MatchString(v) || loopback().MatchString(v) {
		return true
	}
	for _, s := range hostSuffix {
		if strings.HasSuffix(n, s) {
			return bareHost().MatchString(v)
		}
	}
	return false
}

func lazyRE(src string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(src) })
}
