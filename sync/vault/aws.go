package vault

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"time"
)

// The aws login (IAM auth type): hush signs an STS GetCallerIdentity
// request with the AWS credentials of the environment and hands it to
// Vault unsent; Vault sends it to STS, whose answer says who signed. The
// secret key never leaves hush, only a signature over one request that
// can do nothing but name its signer. Signing is AWS Signature Version 4,
// written out here rather than linking an AWS SDK into hush.

const stsBody = "Action=GetCallerIdentity&Version=2011-06-15"

// awsCredentials are the AWS SDKs' environment variables. Shared
// credential files, SSO and instance metadata are not read.
func (v *Vault) awsCredentials() (id, secret, session string, err error) {
	id, secret = v.opts.getenv("AWS_ACCESS_KEY_ID"), v.opts.getenv("AWS_SECRET_ACCESS_KEY")
	session = v.opts.getenv("AWS_SESSION_TOKEN")
	if id == "" || secret == "" {
		return "", "", "", loginError("aws", "no AWS credentials (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and AWS_SESSION_TOKEN for temporary ones)")
	}
	return id, secret, session, nil
}

// loginAWS logs in with Vault's aws auth method, IAM type.
func (v *Vault) loginAWS(ctx context.Context) error {
	a := v.opts.Auth
	id, secret, session, err := v.awsCredentials()
	if err != nil {
		return err
	}
	region := a.Region
	host := "sts.amazonaws.com"
	if region == "" {
		region = "us-east-1" // the global endpoint signs as us-east-1
	} else {
		host = "sts." + region + ".amazonaws.com"
	}
	hdr := http.Header{}
	hdr.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if a.IAMServerID != "" {
		hdr.Set("X-Vault-AWS-IAM-Server-ID", a.IAMServerID)
	}
	signSTS(hdr, host, region, id, secret, session, stsBody, time.Now().UTC())
	hj, err := json.Marshal(hdr)
	if err != nil {
		return err
	}
	b64 := base64.StdEncoding.EncodeToString
	body := map[string]any{
		"iam_http_request_method": http.MethodPost,
		"iam_request_url":         b64([]byte("https://" + host + "/")),
		"iam_request_body":        b64([]byte(stsBody)),
		"iam_request_headers":     b64(hj),
	}
	if a.Role != "" {
		body["role"] = a.Role
	}
	err = v.loginWith(ctx, "aws", "login", body)
	return redactErr(redactErr(err, secret), session)
}

// signSTS adds the Host, X-Amz-Date, X-Amz-Security-Token (for temporary
// credentials) and Authorization headers of a SigV4 signature over a POST
// of body to https://host/ for the sts service in region.
func signSTS(h http.Header, host, region, id, secret, session, body string, now time.Time) {
	amzDate := now.Format("20060102T150405Z")
	day := now.Format("20060102")
	h.Set("Host", host)
	h.Set("X-Amz-Date", amzDate)
	if session != "" {
		h.Set("X-Amz-Security-Token", session)
	}
	var names []string
	canonHdr := map[string]string{}
	for k, vs := range h {
		lk := strings.ToLower(k)
		names = append(names, lk)
		canonHdr[lk] = strings.Join(strings.Fields(strings.Join(vs, ",")), " ")
	}
	sort.Strings(names)
	var ch strings.Builder
	for _, n := range names {
		ch.WriteString(n + ":" + canonHdr[n] + "\n")
	}
	signed := strings.Join(names, ";")
	sum := func(s string) string { x := sha256.Sum256([]byte(s)); return hex.EncodeToString(x[:]) }
	canonical := strings.Join([]string{http.MethodPost, "/", "", ch.String(), signed, sum(body)}, "\n")
	scope := day + "/" + region + "/sts/aws4_request"
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + sum(canonical)
	mac := func(key []byte, s string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(s))
		return m.Sum(nil)
	}
	k := mac(mac(mac(mac([]byte("AWS4"+secret), day), region), "sts"), "aws4_request")
	sig := hex.EncodeToString(mac(k, toSign))
	h.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+id+"/"+scope+", SignedHeaders="+signed+", Signature="+sig)
}
