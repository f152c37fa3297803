package store

import (
	"strings"
	"testing"
)

// FuzzDecodeDrop: whatever a drop holds, decoding never panics, and an
// accepted drop is one hush could have written; an error never quotes
// the value.
func FuzzDecodeDrop(f *testing.F) {
	f.Add([]byte(`{"version":1,"kind":"hush-drop","id":"0123456789abcdef","environment":"dev","key":"K","value_base64":"c2VjcmV0LXZhbHVl","contributor":"c","created":"2026-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"version":1,"kind":"hush-drop","id":"0123456789abcdef","environment":"prod","key":"K","value_base64":"c2VjcmV0LXZhbHVl","contributor":"c"}`))
	f.Add([]byte(`{"version":1,"kind":"hush-drop","id":"0123456789abcdef","environment":"dev","key":"1K","value_base64":"c2VjcmV0LXZhbHVl","contributor":"c"} {}`))
	f.Add([]byte(`{"version":1,"environment":"dev","secrets":{}}`))
	f.Fuzz(func(t *testing.T, plain []byte) {
		d, err := decodeDrop(plain, "dev", "0123456789abcdef")
		if err != nil {
			if strings.Contains(err.Error(), "secret-value") {
				t.Fatalf("an error quotes the value: %v", err)
			}
			return
		}
		if d.Environment != "dev" || ValidKeyName(d.Key) != nil || ValidValue(d.Value.Reveal()) != nil || ValidContributor(d.Contributor) != nil {
			t.Fatalf("accepted a drop hush would not write: %+v", d)
		}
	})
}
