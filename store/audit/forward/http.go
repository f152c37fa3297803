package forward

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/hush-secrets/hush/store"
)

// ContentType is what an HTTP sink receives: JSON lines, one audit line
// each, exactly as the local log has them.
const ContentType = "application/x-ndjson"

var httpClient = &http.Client{
	// A redirect would carry the token and the lines somewhere the
	// configuration did not name.
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// postHTTP posts the chunk's lines in one request; any 2xx means the
// collector took them all.
func (f *Forwarder) postHTTP(ctx context.Context, s Sink, chunk []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url.String(), bytes.NewReader(chunk))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", ContentType)
	req.Header.Set("User-Agent", "hush/"+f.Version)
	if s.tokenFile != "" {
		tok, err := readToken(s.tokenFile)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		// The url.Error repeats the URL, query and all.
		var ue *url.Error
		if errors.As(err, &ue) {
			return ue.Err
		}
		return err
	}
	defer resp.Body.Close()
	drain(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("HTTP %s", resp.Status)
	}
	return nil
}

// readToken reads a bearer token: a regular file only its owner can read.
func readToken(path string) (string, error) {
	b, err := store.ReadFileNoFollow(path, 64<<10)
	if err != nil {
		return "", fmt.Errorf("token_file: %v", err)
	}
	if st, err := lstatMode(path); err == nil && st&0o077 != 0 {
		return "", fmt.Errorf("token_file %s is readable by others (mode %04o): chmod 600 it", path, st)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" || strings.ContainsAny(tok, "\r\n") {
		return "", fmt.Errorf("token_file %s: want one line holding the token", path)
	}
	return tok, nil
}
