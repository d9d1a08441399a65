// Package tlsident provides clnrest's TLS identity: the CA, server and client
// certificates and keys that clnrest shares with cln-grpc in one directory.
//
// Load reuses a complete set of the six files, generates a fresh set when any
// file is missing or empty, and refuses a set that is present but unusable
// (corrupt PEM, a key that does not match its certificate, a server
// certificate not signed by the CA) rather than overwriting what may be a
// user's own certificates.
package tlsident

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// DefaultWaitFor is how long Load waits, when Config.WaitFor is zero, for an
// incomplete set to be completed by another writer. It matches upstream
// clnrest, which polls ten times at 500 ms.
const DefaultWaitFor = 5 * time.Second

// pollInterval is how often Load looks at the directory while it waits.
const pollInterval = 100 * time.Millisecond

// The six file names, the same ones cln-grpc uses.
const (
	caFile        = "ca.pem"
	caKeyFile     = "ca-key.pem"
	serverFile    = "server.pem"
	serverKeyFile = "server-key.pem"
	clientFile    = "client.pem"
	clientKeyFile = "client-key.pem"
)

// Errors that Load wraps when an existing set is present but unusable; the
// wrapping error names the file.
var (
	// ErrMalformed means a file holds no usable PEM certificate or private key.
	ErrMalformed = errors.New("malformed PEM file")
	// ErrKeyMismatch means a private key does not belong to its certificate.
	ErrKeyMismatch = errors.New("private key does not match certificate")
	// ErrNotSignedByCA means server.pem does not chain to a certificate in ca.pem.
	ErrNotSignedByCA = errors.New("certificate not signed by the CA")
)

// Config says where the identity lives and how to build a new one.
type Config struct {
	// Dir is the certificates directory (clnrest-certs). It is created with
	// mode 0700 if it does not exist.
	Dir string
	// Host is clnrest-host. When it is an IP literal (v4 or v6, brackets and
	// zone allowed), a generated server certificate carries it as an IP SAN.
	// A reused server certificate that does not cover Host draws a warning.
	Host string
	// WaitFor bounds the wait for another writer (cln-grpc, which writes the
	// same six files into the same directory when both plugins start) to
	// complete the set. The rule: if Dir did not exist, Load generates at
	// once. Otherwise, while any of the six files is missing or empty, Load
	// polls every 100 ms until WaitFor has passed since it started, then
	// generates all six anew. If the set became complete during the wait but
	// fails validation (a file caught half-written), Load keeps polling until
	// the same deadline and then returns the validation error. A set that is
	// complete at the first look is validated once, without waiting.
	// Zero means DefaultWaitFor; negative means do not wait.
	WaitFor time.Duration
	// Logger receives debug, info and warning records. If nil, nothing is
	// logged.
	Logger *slog.Logger
	// Now is the clock used for certificate validity. If nil, time.Now is
	// used. Waiting always uses the real clock.
	Now func() time.Time
}

// Paths are the absolute or Dir-relative paths of the six files.
type Paths struct {
	CA, CAKey, Server, ServerKey, Client, ClientKey string
}

func newPaths(dir string) Paths {
	return Paths{
		CA:        filepath.Join(dir, caFile),
		CAKey:     filepath.Join(dir, caKeyFile),
		Server:    filepath.Join(dir, serverFile),
		ServerKey: filepath.Join(dir, serverKeyFile),
		Client:    filepath.Join(dir, clientFile),
		ClientKey: filepath.Join(dir, clientKeyFile),
	}
}

// all lists the six paths in the order they are written: each key before
// its certificate, the CA first, as cln-grpc writes them.
func (p Paths) all() []string {
	return []string{p.CAKey, p.CA, p.ServerKey, p.Server, p.ClientKey, p.Client}
}

// Identity is a loaded or generated TLS identity.
type Identity struct {
	// ServerCertificate is server.pem's chain (leaf first, Leaf set) with
	// server-key.pem's key.
	ServerCertificate tls.Certificate
	// CA is the first certificate in ca.pem.
	CA *x509.Certificate
	// CAPool holds every certificate in ca.pem; clients of clnrest trust it.
	CAPool *x509.CertPool
	// Generated reports whether Load wrote a new set rather than reusing one.
	Generated bool
	// Paths are the six files.
	Paths Paths
}

// loader carries one Load call's settings.
type loader struct {
	dir     string
	host    string
	waitFor time.Duration
	log     *slog.Logger
	now     func() time.Time
	paths   Paths
}

// Load returns the identity in cfg.Dir, reusing the six files when all exist
// and are non-empty, and generating all six anew otherwise (see
// Config.WaitFor for the waiting rule). A set that is present but unusable is
// an error naming the file and the problem; nothing is overwritten then.
func Load(ctx context.Context, cfg Config) (*Identity, error) {
	if cfg.Dir == "" {
		return nil, errors.New("loading TLS identity: no certificates directory given")
	}
	l := &loader{dir: cfg.Dir, host: cfg.Host, waitFor: cfg.WaitFor, log: cfg.Logger, now: cfg.Now, paths: newPaths(cfg.Dir)}
	if l.waitFor == 0 {
		l.waitFor = DefaultWaitFor
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	if l.now == nil {
		l.now = time.Now
	}
	created, err := ensureDir(cfg.Dir)
	if err != nil {
		return nil, err
	}
	if created {
		l.log.Info("created certificates directory, generating TLS identity", "dir", cfg.Dir)
		return l.generate()
	}
	return l.loadOrGenerate(ctx)
}

// ensureDir creates dir with mode 0700 when it does not exist, reporting
// whether it did. A dir that did not exist cannot be half-written by cln-grpc
// (which writes into lightningd's working directory and never creates it).
func ensureDir(dir string) (bool, error) {
	info, err := os.Stat(dir)
	switch {
	case err == nil && info.IsDir():
		return false, nil
	case err == nil:
		return false, fmt.Errorf("checking certificates directory %s: not a directory", dir)
	case !errors.Is(err, os.ErrNotExist):
		return false, fmt.Errorf("checking certificates directory %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("creating certificates directory %s: %w", dir, err)
	}
	return true, nil
}

// loadOrGenerate implements the waiting rule documented on Config.WaitFor.
func (l *loader) loadOrGenerate(ctx context.Context) (*Identity, error) {
	deadline := time.Now().Add(l.waitFor)
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	var lastErr error
	for attempt := 0; ; attempt++ {
		incomplete, err := l.incomplete()
		if err != nil {
			return nil, err
		}
		lastErr = nil
		if len(incomplete) == 0 {
			id, err := l.reuse()
			if err == nil || attempt == 0 {
				return id, err
			}
			lastErr = err
		}
		if !time.Now().Before(deadline) {
			break
		}
		if attempt == 0 {
			l.log.Debug("certificate set incomplete, waiting for it to be completed",
				"dir", l.dir, "incomplete", incomplete, "wait", l.waitFor)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for certificates in %s: %w", l.dir, ctx.Err())
		case <-ticker.C:
		}
	}
	if lastErr != nil {
		return nil, lastErr
	}
	incomplete, err := l.incomplete()
	if err != nil {
		return nil, err
	}
	l.log.Info("certificate set incomplete, generating a new TLS identity", "dir", l.dir, "incomplete", incomplete)
	return l.generate()
}

// incomplete returns the names of the six files that are missing or empty.
// Any other stat failure (permissions, a directory in a file's place) is an
// error: regenerating would hide it.
func (l *loader) incomplete() ([]string, error) {
	var names []string
	for _, path := range l.paths.all() {
		info, err := os.Stat(path)
		switch {
		case errors.Is(err, os.ErrNotExist):
			names = append(names, filepath.Base(path))
		case err != nil:
			return nil, fmt.Errorf("checking %s: %w", path, err)
		case !info.Mode().IsRegular():
			return nil, fmt.Errorf("checking %s: not a regular file", path)
		case info.Size() == 0:
			names = append(names, filepath.Base(path))
		}
	}
	return names, nil
}
