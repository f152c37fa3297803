package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/hush-secrets/hush/internal/hint"
	hsync "github.com/hush-secrets/hush/sync"
)

// flushTimeout bounds hush audit forward --flush.
const flushTimeout = 30 * time.Second

func auditForwardCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "forward",
		Usage:     "show the audit forwarding spool, or send it now (--flush); exit 8 when a sink is unreachable",
		ArgsUsage: " ",
		Description: `Audit lines go to the sinks under audit: forward: in
$XDG_CONFIG_HOME/hush/config.yaml, through a spool in the state directory:
every command spools its lines, then sends for at most forward_timeout
(300ms). What a sink did not take waits for the next command or --flush.

   audit:
     forward:
       - syslog: udp://127.0.0.1:514        # RFC 5424; tcp://HOST:PORT, unix:///dev/log
         facility: authpriv
       - http: https://collector.example/ingest   # POST, JSON lines
         token_file: ~/.config/hush/collector.token
       - journald: default                  # native protocol, /run/systemd/journal/socket

EXAMPLES:
   hush audit forward
   hush audit forward --flush`,
		Flags: []cli.Flag{&cli.BoolFlag{Name: "flush", Usage: "send the spool now, waiting up to 30s"}},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usagef("audit forward takes no arguments")
			}
			s, err := newSession(env, c)
			if err != nil {
				return err
			}
			return runAuditForward(s, c.Bool("flush"))
		},
	}
}

func runAuditForward(s *ui, flush bool) error {
	f, err := s.Forwarder()
	if err != nil {
		return err
	}
	if f == nil {
		s.infof("no audit sink configured (audit: forward: in %s/config.yaml)", s.ConfigDir())
		return nil
	}
	if flush {
		results, err := s.FlushAudit(flushTimeout)
		for _, r := range results {
			if r.Err == nil {
				s.infof("%s: sent %s", r.Sink, nLines(r.Sent))
			} else {
				s.warnf("%s: sent %s, %d kept in the spool: %v", r.Sink, nLines(r.Sent), r.Pending, r.Err)
			}
		}
		switch {
		case errors.Is(err, hsync.ErrUnavailable):
			return &exitCodeError{code: exitUnavailable, err: hint.With(errors.New("audit forward: a sink did not take its lines; they stay in the spool"),
				"check the sink's address and that it is up, then rerun hush audit forward --flush")}
		case err != nil:
			return err
		}
		return nil
	}
	st, err := f.Status()
	if err != nil {
		return err
	}
	for _, x := range st {
		printf(s.env.Stdout, "%s\n", forwardStatusLine(x.Sink.String(), x.Pending, x.State.LastSent, x.State.LastError))
	}
	return nil
}

// forwardStatusLine is one sink's state for people.
func forwardStatusLine(sink string, pending int, lastSent time.Time, lastErr string) string {
	line := fmt.Sprintf("%s: %s pending", sink, nLines(pending))
	if !lastSent.IsZero() {
		line += ", last sent " + lastSent.Local().Format(time.RFC3339)
	}
	if lastErr != "" {
		line += "; last error: " + lastErr
	}
	return line
}

func nLines(n int) string {
	if n == 1 {
		return "1 line"
	}
	return fmt.Sprintf("%d lines", n)
}
