package gcpsm

import (
	"context"
	"encoding/json"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"

	hushsync "github.com/hush-secrets/hush/sync"
	"github.com/hush-secrets/hush/sync/synctest"
)

// TestConformance runs the shared suite of sync.Backend's rules on this
// backend, over the fake Secret Manager through Google's client.
func TestConformance(t *testing.T) {
	synctest.Run(t, func(t *testing.T) (hushsync.Backend, synctest.Remote) {
		s := fake(t)
		b := open(t, cfg)
		b.backoff = 5 * time.Millisecond
		names := func(env string) []string {
			var out []string
			for _, n := range s.Names() {
				if strings.HasPrefix(n, "projects/proj-1/secrets/hush-"+env+"-") {
					out = append(out, n)
				}
			}
			return out
		}
		return b, synctest.Remote{
			LoseAnswer:   s.LoseNextWrite,
			ServerErrors: s.ServerErrors,
			Unreachable: func(t *testing.T) hushsync.Backend {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				addr := l.Addr().String()
				l.Close()
				be, err := Driver{Getenv: func(string) string { return "http://" + addr }}.Open(context.Background(), json.RawMessage(cfg))
				if err != nil {
					t.Fatal(err)
				}
				be.(*Backend).backoff = time.Millisecond
				return be
			},
			// gcloud secrets versions disable: the newest version.
			Delete: func(t *testing.T, env, key string) {
				st, _ := s.Versions("projects/proj-1/secrets/hush-" + env + "-" + key)
				name := "projects/proj-1/secrets/hush-" + env + "-" + key + "/versions/" + itoa(len(st))
				if err := s.SetState(name, secretmanagerpb.SecretVersion_DISABLED); err != nil {
					t.Fatal(err)
				}
			},
			// gcloud secrets delete, for every secret of env.
			Vanish: func(t *testing.T, env string) {
				for _, n := range names(env) {
					s.Remove(n)
				}
			},
			// NoEngine is left nil: a GCP project that does not exist is
			// not documented to answer NOT_FOUND (Google's APIs commonly
			// answer PERMISSION_DENIED then), so the fake does not invent it.
		}
	})
}

func itoa(n int) string { return strconv.Itoa(n) }
