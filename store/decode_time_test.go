package store

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// utcSeconds agrees with time.Time's UnmarshalJSON, the slow path's
// verdict, on every date it takes: the same Time value (DeepEqual, so the
// same location too), and it refuses what UnmarshalJSON refuses; it
// declines no date of hush's form that UnmarshalJSON takes. Around the
// epoch, where it stops leaving the work to time.Date, and on random
// and every-day dates to 2104.
func TestUTCSecondsEveryDay(t *testing.T) {
	t.Parallel()
	check := func(raw string) {
		t.Helper()
		got, ok := utcSeconds(raw)
		var want time.Time
		err := want.UnmarshalJSON([]byte(raw))
		switch {
		case ok && err != nil:
			t.Fatalf("utcSeconds(%s) took what UnmarshalJSON refuses (%v)", raw, err)
		case ok && !reflect.DeepEqual(got, want):
			t.Fatalf("utcSeconds(%s) = %#v, UnmarshalJSON %#v", raw, got, want)
		case !ok && err == nil && len(raw) == 22 && raw[20] == 'Z':
			t.Fatalf("utcSeconds(%s) declined a date in hush's form that UnmarshalJSON takes", raw)
		}
	}
	for _, raw := range []string{
		"1970-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "0000-01-01T00:00:00Z",
		"2000-02-29T12:00:00Z", "1900-02-29T12:00:00Z", "2100-02-29T12:00:00Z", "2024-02-29T23:59:59Z",
		"2023-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-12-31T23:59:59Z", "9999-12-31T23:59:59Z",
		"2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z", "2026-01-00T00:00:00Z", "2026-01-32T00:00:00Z",
		"2026-01-01T24:00:00Z", "2026-01-01T00:60:00Z", "2026-01-01T00:00:60Z", "2026-11-01T10:00:00Z",
	} {
		check(`"` + raw + `"`)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 50000; i++ {
		check(fmt.Sprintf(`"%04d-%02d-%02dT%02d:%02d:%02dZ"`, r.IntN(10000), r.IntN(14), r.IntN(33), r.IntN(25), r.IntN(61), r.IntN(61)))
	}
	// Every day from 1968 to 2104, at a random time.
	for d := time.Date(1968, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 2105; d = d.AddDate(0, 0, 1) {
		check(`"` + d.Add(time.Duration(r.IntN(86400))*time.Second).Format(time.RFC3339) + `"`)
	}
}
