package acme

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// dnsNameRE is the expression validDNSName writes out.
var dnsNameRE = regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

func TestValidDNSName(t *testing.T) {
	l63, l64 := strings.Repeat("a", 63), strings.Repeat("a", 64)
	for _, c := range []struct {
		d    string
		want bool
	}{
		{"example.com", true}, {"a", true}, {"A-1.b2", true}, {"xn--bcher-kva.example", true},
		{l63 + ".com", true}, {l63, true}, {"a-" + strings.Repeat("b", 60) + "c", true},
		{"", false}, {".", false}, {"example.com.", false}, {".example.com", false}, {"a..b", false},
		{"-a.com", false}, {"a-.com", false}, {"a.-b", false}, {l64 + ".com", false}, {l64, false},
		{"a_b.com", false}, {"a b", false}, {"*.example.com", false}, {"ex\u00e4mple.com", false},
		{"example.com\n", false}, {"\nexample.com", false}, {"a\x00b", false},
	} {
		if got := validDNSName(c.d); got != c.want {
			t.Errorf("validDNSName(%q) = %v, want %v", c.d, got, c.want)
		}
		if re := dnsNameRE.MatchString(c.d); re != c.want {
			t.Errorf("the expression says %v for %q, the table %v", re, c.d, c.want)
		}
	}
	// Random names: labels of 0 to 66 characters, mostly of the alphabet
	// of host names, sometimes another byte, joined by dots. Both must
	// agree on every one.
	r := rand.New(rand.NewPCG(1, 2))
	matched := 0
	for i := 0; i < 20000; i++ {
		labels := make([]string, 1+r.IntN(4))
		for j := range labels {
			b := make([]byte, r.IntN(67))
			for k := range b {
				b[k] = "aZ9-"[r.IntN(4)]
				if r.IntN(200) == 0 {
					b[k] = "_\n. \xc3"[r.IntN(5)]
				}
			}
			labels[j] = string(b)
		}
		d := strings.Join(labels, ".")
		want := dnsNameRE.MatchString(d)
		if want {
			matched++
		}
		if got := validDNSName(d); got != want {
			t.Fatalf("validDNSName(%q) = %v, the expression says %v", d, got, want)
		}
	}
	if matched < 1000 {
		t.Fatalf("only %d of the random names are host names: the test says little", matched)
	}
}
