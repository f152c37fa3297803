package gcpsmtest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
)

// tokenServer is a fake OAuth 2.0 token endpoint for the service-account
// (JWT bearer, RFC 7523) grant: it checks the assertion's RS256 signature
// against the key it made for the credentials file, and issues opaque
// access tokens that the gRPC fake accepts. The key is made at start, in
// memory: no key is kept in the repository.
type tokenServer struct {
	key  *rsa.PrivateKey
	url  string
	srv  *http.Server
	mu   gosync.Mutex
	toks map[string]bool
}

func newTokenServer() (*tokenServer, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ts := &tokenServer{key: key, url: "http://" + lis.Addr().String() + "/token", toks: map[string]bool{}}
	ts.srv = &http.Server{Handler: http.HandlerFunc(ts.serve)}
	go func() { _ = ts.srv.Serve(lis) }()
	return ts, nil
}

func (ts *tokenServer) close() { _ = ts.srv.Close() }

func (ts *tokenServer) valid(tok string) bool {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.toks[tok]
}

func (ts *tokenServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.ParseForm() != nil ||
		r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" || !ts.checkJWT(r.PostForm.Get("assertion")) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"invalid_grant","error_description":"Invalid JWT Signature."}`))
		return
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	tok := "ya29.fake-" + hex.EncodeToString(b)
	ts.mu.Lock()
	ts.toks[tok] = true
	ts.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 3600})
}

// checkJWT verifies an RS256 JWT signed by the fake's key whose audience
// is the token endpoint.
func (ts *tokenServer) checkJWT(jwt string) bool {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return false
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return false
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(&ts.key.PublicKey, crypto.SHA256, sum[:], sig) != nil {
		return false
	}
	body, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return false
	}
	var claims struct {
		Aud   string `json:"aud"`
		Scope string `json:"scope"`
	}
	return json.Unmarshal(body, &claims) == nil && claims.Aud == ts.url && strings.Contains(claims.Scope, "https://www.googleapis.com/auth/cloud-platform")
}

// CredentialsFile writes a service-account key file for this fake under
// dir and returns its path: point GOOGLE_APPLICATION_CREDENTIALS at it and
// the client's application-default credentials get tokens from the fake.
func (s *Server) CredentialsFile(dir string) (string, error) {
	der, err := x509.MarshalPKCS8PrivateKey(s.auth.key)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(map[string]string{
		"type":           "service_account",
		"project_id":     "hush-test",
		"private_key_id": "gcpsmtest",
		"private_key":    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":   "hush-test@hush-test.iam.gserviceaccount.com",
		"client_id":      "1",
		"token_uri":      s.auth.url,
	})
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, "gcpsmtest-credentials.json")
	return p, os.WriteFile(p, b, 0o600)
}
