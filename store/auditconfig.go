package store

// AuditConfig is the audit section of the user's configuration
// ($XDG_CONFIG_HOME/hush/config.yaml):
//
//	audit:
//	  forward:
//	    - syslog: udp://127.0.0.1:514
//	    - http: https://collector.example/ingest
//	      token_file: ~/.config/hush/collector.token
//	    - journald: default   # or the socket's absolute path
//	  forward_timeout: 300ms
//	  forward_retry: 30s
//
// It lives in the user's file only: a sink named by a repository would
// send who read what to an address a pushed commit chose.
type AuditConfig struct {
	// Forward are the sinks every audit line is sent to, at least once,
	// through a spool in the state directory (store/audit/forward).
	Forward []AuditSink `yaml:"forward"`
	// ForwardTimeout bounds what forwarding adds to one command (a Go
	// duration; "" is 300ms).
	ForwardTimeout string `yaml:"forward_timeout"`
	// ForwardRetry is how long a sink that failed rests before an
	// ordinary command tries it again ("" is 30s; hush audit forward
	// --flush always tries).
	ForwardRetry string `yaml:"forward_retry"`
}

// AuditSink is one place audit lines are forwarded to: exactly one of
// Syslog (udp://HOST:PORT, tcp://HOST:PORT, unix:///dev/log), HTTP (an
// https:// URL, or http:// to a loopback address) and Journald (default,
// /run/systemd/journal/socket, or that socket's absolute path).
type AuditSink struct {
	Syslog string `yaml:"syslog,omitempty"`
	// Facility is the syslog facility ("" is authpriv), of a syslog or
	// journald sink.
	Facility string `yaml:"facility,omitempty"`
	Journald string `yaml:"journald,omitempty"`
	HTTP     string `yaml:"http,omitempty"`
	// TokenFile holds the bearer token the HTTP endpoint expects: a file,
	// never a command-line argument or a value in this file.
	TokenFile string `yaml:"token_file,omitempty"`
}
