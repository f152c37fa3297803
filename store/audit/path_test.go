package audit

import "testing"

func TestPathRoundTrip(t *testing.T) {
	for _, p := range []Path{{"api", "", ""}, {"api", "dev", ""}, {"api", "dev", "DB_URL"}, {"?", "prod", "K"}} {
		if got := ParsePath(p.String()); got != p {
			t.Errorf("ParsePath(%q) = %+v, want %+v", p.String(), got, p)
		}
	}
	// An environment named like a key is not that key.
	if p := ParsePath("api/TOKEN"); p.Key != "" || p.Env != "TOKEN" {
		t.Errorf("api/TOKEN = %+v", p)
	}
}
