package session

import (
	"strings"
	"testing"

	"github.com/hush-secrets/hush/rotate"
	"github.com/hush-secrets/hush/store"
)

// A provider's Result.Types may only name the rotated key or a key it
// returned, with a type spelled as hush's are.
func TestCheckResultTypes(t *testing.T) {
	base := func(types map[string]string) *rotate.Result {
		return &rotate.Result{Value: "chain", Also: map[string]store.Value{"TLS_KEY": "key"}, Types: types}
	}
	if err := checkResult("TLS_CERT", base(map[string]string{"TLS_CERT": "tls", "TLS_KEY": "tls"})); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		types map[string]string
		want  string
	}{
		{map[string]string{"OTHER": "tls"}, "did not return"},
		{map[string]string{"TLS_KEY": "TLS"}, "malformed type"},
		{map[string]string{"TLS_CERT": ""}, "malformed type"},
		{map[string]string{"TLS_KEY": "tls\x1b[0"}, "malformed type"},
	} {
		err := checkResult("TLS_CERT", base(c.types))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.types, err, c.want)
		}
	}
}
