package vaulttest

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hush-secrets/hush/internal/daemon"
)

// Moto is a throwaway moto_server (the AWS service mock) on 127.0.0.1,
// started with INITIAL_NO_AUTH_ACTION_COUNT so that, after the first
// Setup requests (which create IAM users and keys without credentials),
// it checks every request's SigV4 signature against the access keys it
// issued, as AWS does.
type Moto struct {
	URL string // http://127.0.0.1:PORT

	cmd  *exec.Cmd
	log  *bytes.Buffer
	done chan struct{}
}

// StartMoto runs moto_server (from PATH, else .cache/moto, where .ci/deps
// installs it) for the rest of t, unauthenticated for the first setup
// requests. Without it t skips, or fails under HUSH_TEST_REQUIRE_ALL=1.
func StartMoto(t testing.TB, setup int) *Moto {
	t.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		if p, ok := daemon.Cached("moto/bin/moto_server"); ok {
			bin, err = p, nil
		}
	}
	if err != nil {
		if os.Getenv("HUSH_TEST_REQUIRE_ALL") == "1" {
			t.Fatal("HUSH_TEST_REQUIRE_ALL=1 but there is no moto_server on PATH or in .cache/moto: run .ci/deps")
		}
		t.Skip("no moto_server on PATH or in .cache/moto (run .ci/deps)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	m := &Moto{URL: fmt.Sprintf("http://127.0.0.1:%d", port), log: &bytes.Buffer{}, done: make(chan struct{})}
	m.cmd = exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	m.cmd.Env = append(os.Environ(), "INITIAL_NO_AUTH_ACTION_COUNT="+strconv.Itoa(setup),
		"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_SESSION_TOKEN=")
	m.cmd.Stdout, m.cmd.Stderr = m.log, m.log
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { m.cmd.Wait(); close(m.done) }()
	t.Cleanup(m.Stop)
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-m.done:
			t.Fatalf("moto_server exited: %s", m.log.String())
		default:
		}
		// The moto API's own endpoint does not count as an AWS action.
		if resp, err := http.Get(m.URL + "/moto-api/data.json"); err == nil {
			resp.Body.Close()
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("moto_server not answering after 60s: %s", m.log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop ends moto_server and waits for it.
func (m *Moto) Stop() {
	daemon.Stop(m.cmd, m.done, syscall.SIGTERM, 10*time.Second)
}

// User makes an IAM user with an access key in moto, during its
// unauthenticated setup requests (count them in StartMoto's setup: two,
// three with allowAll), and returns the key. allowAll attaches a policy
// allowing every action; without it the user may do nothing.
func (m *Moto) User(t testing.TB, user string, allowAll bool) (id, secret string) {
	t.Helper()
	call := func(form string) string {
		req, _ := http.NewRequest(http.MethodPost, m.URL+"/", strings.NewReader(form+"&Version=2010-05-08"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIASETUP/20250101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("moto %s: %d %s", form, resp.StatusCode, b)
		}
		return string(b)
	}
	call("Action=CreateUser&UserName=" + user)
	out := call("Action=CreateAccessKey&UserName=" + user)
	if allowAll {
		pol := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
		call("Action=PutUserPolicy&UserName=" + user + "&PolicyName=all&PolicyDocument=" + url.QueryEscape(pol))
	}
	var r struct {
		Key struct {
			ID     string `xml:"AccessKeyId"`
			Secret string `xml:"SecretAccessKey"`
		} `xml:"CreateAccessKeyResult>AccessKey"`
	}
	if err := xml.Unmarshal([]byte(out), &r); err != nil || r.Key.ID == "" || r.Key.Secret == "" {
		t.Fatalf("moto CreateAccessKey: %v %s", err, out)
	}
	return r.Key.ID, r.Key.Secret
}
