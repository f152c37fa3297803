package acme

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// answerer puts HTTP-01 key authorizations where the CA fetches them:
// hush's own listener (responder) or a web server's document root
// (webroot).
type answerer interface {
	// set publishes body at path (/.well-known/acme-challenge/TOKEN).
	set(path, body string) error
	// where is what the user is told ("on :80", "in /var/www").
	where() string
	close()
}

// webroot writes each key authorization as a file under
// DIR/.well-known/acme-challenge/ for the web server already serving the
// names, and removes the files it wrote when the order is done. The
// directories below DIR must be real directories (made by hush when
// missing), never links, and a file is created only where none is, so no
// write follows a link hush did not make. A key authorization is no
// secret: the CA fetches it over plain HTTP.
type webroot struct {
	dir     string
	written []string
}

func openWebroot(dir string) (*webroot, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("acme: webroot: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("acme: webroot %s is not a directory", dir)
	}
	return &webroot{dir: dir}, nil
}

func (w *webroot) where() string { return "in " + w.dir }

func (w *webroot) set(path, body string) error {
	token, ok := strings.CutPrefix(path, "/.well-known/acme-challenge/")
	if !ok || !validToken(token) {
		return fmt.Errorf("acme: webroot: refusing challenge path %q", path)
	}
	d := w.dir
	for _, part := range []string{".well-known", "acme-challenge"} {
		d = filepath.Join(d, part)
		st, err := os.Lstat(d)
		if errors.Is(err, fs.ErrNotExist) {
			if err := os.Mkdir(d, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("acme: webroot: %w", err)
			}
			if st, err = os.Lstat(d); err != nil {
				return fmt.Errorf("acme: webroot: %w", err)
			}
		} else if err != nil {
			return fmt.Errorf("acme: webroot: %w", err)
		}
		if !st.IsDir() {
			return fmt.Errorf("acme: webroot: %s is not a directory (a link?): refusing to write through it", d)
		}
	}
	name := filepath.Join(d, token)
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL|noFollow, 0o644)
	if err != nil {
		return fmt.Errorf("acme: webroot: %w", err)
	}
	w.written = append(w.written, name)
	_, err = f.WriteString(body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("acme: webroot: %w", err)
	}
	return nil
}

func (w *webroot) close() {
	for _, name := range w.written {
		_ = os.Remove(name)
	}
	w.written = nil
}
