package main

import (
	"fmt"
	"strings"
)

// forwardCheck is hush doctor's view of audit forwarding: each sink's
// spool depth and last error.
func forwardCheck(s *ui) check {
	c := check{Name: "audit forwarding"}
	f, err := s.Forwarder()
	switch {
	case err != nil:
		c.Info, c.Fix = "off: "+firstLine(err.Error()), "fix audit: in "+s.ConfigDir()+"/config.yaml"
		return c
	case f == nil:
		c.OK, c.Info = true, "no sink configured (audit: forward: in config.yaml)"
		return c
	}
	st, err := f.Status()
	if err != nil {
		c.Info, c.Fix = firstLine(err.Error()), "inspect "+f.Dir
		return c
	}
	c.OK = true
	var parts []string
	for _, x := range st {
		parts = append(parts, forwardStatusLine(x.Sink.String(), x.Pending, x.State.LastSent, x.State.LastError))
		if x.State.LastError != "" && x.Pending > 0 {
			c.OK = false
		}
	}
	c.Info = strings.Join(parts, "; ")
	c.Fix = fmt.Sprintf("check the sink is up and reachable, then hush audit forward --flush (the spool is in %s)", f.Dir)
	return c
}
