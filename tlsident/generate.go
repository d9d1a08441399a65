package tlsident

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"time"
)

// Subjects of the generated certificates. The server and client names are
// upstream clnrest's; the CA's is the one upstream clnrest meant to give
// (it put "cln Root REST CA" in a SAN and left rcgen's default CN).
const (
	caCommonName     = "cln Root REST CA"
	serverCommonName = "cln rest server"
	clientCommonName = "cln rest client"
)

// backdate is how far before now NotBefore is set, to tolerate clients whose
// clocks run a little behind.
const backdate = time.Hour

// notAfter is the end of validity of every generated certificate: the date
// that rcgen (and so cln-grpc and upstream clnrest) uses. Nothing renews
// these certificates, so a short lifetime would break nodes silently.
var notAfter = time.Date(4096, time.January, 1, 0, 0, 0, 0, time.UTC)

// issued is one generated certificate with its key.
type issued struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// generate makes a new CA, server and client, writes all six files, and
// returns the identity.
func (l *loader) generate() (*Identity, error) {
	now := l.now()
	ca, err := issue(caTemplate(now), nil)
	if err != nil {
		return nil, fmt.Errorf("generating CA certificate: %w", err)
	}
	server, err := issue(serverTemplate(now, l.host), ca)
	if err != nil {
		return nil, fmt.Errorf("generating server certificate: %w", err)
	}
	client, err := issue(clientTemplate(now), ca)
	if err != nil {
		return nil, fmt.Errorf("generating client certificate: %w", err)
	}
	var files []pendingFile
	for _, pair := range []struct {
		certPath, keyPath string
		id                *issued
	}{
		{l.paths.CA, l.paths.CAKey, ca},
		{l.paths.Server, l.paths.ServerKey, server},
		{l.paths.Client, l.paths.ClientKey, client},
	} {
		keyDER, err := x509.MarshalPKCS8PrivateKey(pair.id.key)
		if err != nil {
			return nil, fmt.Errorf("encoding private key for %s: %w", pair.keyPath, err)
		}
		files = append(files,
			pendingFile{pair.keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600},
			pendingFile{pair.certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: pair.id.cert.Raw}), 0o644})
	}
	if err := writeFiles(l.dir, files); err != nil {
		return nil, err
	}
	l.log.Info("generated a new TLS identity", "dir", l.dir)
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	return &Identity{
		ServerCertificate: newTLSCertificate([]*x509.Certificate{server.cert}, server.key),
		CA:                ca.cert,
		CAPool:            pool,
		Generated:         true,
		Paths:             l.paths,
	}, nil
}

// issue creates a P-256 key and a certificate from tmpl, signed by parent
// (self-signed when parent is nil).
func issue(tmpl *x509.Certificate, parent *issued) (*issued, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating P-256 key: %w", err)
	}
	// 128 random bits, never zero (RFC 5280 wants a positive serial).
	limit := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1))
	serial, err := rand.Int(rand.Reader, limit)
	if err != nil {
		return nil, fmt.Errorf("generating serial number: %w", err)
	}
	tmpl.SerialNumber = serial.Add(serial, big.NewInt(1))
	parentCert, signer := tmpl, key
	if parent != nil {
		parentCert, signer = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, &key.PublicKey, signer)
	if err != nil {
		return nil, fmt.Errorf("signing certificate %q: %w", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parsing new certificate %q: %w", tmpl.Subject.CommonName, err)
	}
	return &issued{cert: cert, key: key}, nil
}

func caTemplate(now time.Time) *x509.Certificate {
	return &x509.Certificate{
		Subject:               pkix.Name{CommonName: caCommonName},
		NotBefore:             now.Add(-backdate),
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
}

// serverTemplate names "cln" (the name cln-grpc's docs tell clients to
// expect) and "localhost", plus host when it is an IP literal.
func serverTemplate(now time.Time, host string) *x509.Certificate {
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: serverCommonName},
		DNSNames:              []string{"cln", "localhost"},
		NotBefore:             now.Add(-backdate),
		NotAfter:              notAfter,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if ip, err := netip.ParseAddr(hostName(host)); err == nil {
		tmpl.IPAddresses = []net.IP{ip.AsSlice()}
	}
	return tmpl
}

func clientTemplate(now time.Time) *x509.Certificate {
	return &x509.Certificate{
		Subject:               pkix.Name{CommonName: clientCommonName},
		NotBefore:             now.Add(-backdate),
		NotAfter:              notAfter,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
}

// pendingFile is one file to write.
type pendingFile struct {
	path string
	data []byte
	mode os.FileMode
}

// writeFiles writes every file to a temporary file in dir with its exact
// mode (chmod, so the umask cannot widen or narrow it), syncs it, and only
// then renames each into place, in order, so that no reader ever sees a
// half-written file and a failure before the renames leaves the old set.
func writeFiles(dir string, files []pendingFile) error {
	temps := make([]string, 0, len(files))
	defer func() {
		for _, t := range temps {
			os.Remove(t) // already renamed, or cleanup after a failure
		}
	}()
	for _, f := range files {
		tmp, err := writeTemp(dir, f)
		if err != nil {
			return err
		}
		temps = append(temps, tmp)
	}
	for i, f := range files {
		if err := os.Rename(temps[i], f.path); err != nil {
			return fmt.Errorf("renaming %s to %s: %w", temps[i], f.path, err)
		}
	}
	// Make the renames durable; some filesystems cannot sync a directory,
	// and the files themselves are already synced, so failure is ignored.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// writeTemp writes f's data to a new temporary file beside f.path and
// returns its name.
func writeTemp(dir string, f pendingFile) (string, error) {
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(f.path)+".*.tmp")
	if err != nil {
		return "", fmt.Errorf("creating temporary file for %s: %w", f.path, err)
	}
	name := tmp.Name()
	err = tmp.Chmod(f.mode)
	if err == nil {
		_, err = tmp.Write(f.data)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return "", fmt.Errorf("writing %s for %s: %w", name, f.path, err)
	}
	return name, nil
}
