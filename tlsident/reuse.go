package tlsident

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
)

// reuse reads and checks the complete set. Errors (which name the file) are
// for what makes the set unusable: unreadable or malformed PEM, a key that
// does not match its certificate, a server certificate not signed by the CA.
// What only some clients would reject (expiry, a missing SAN for Host, a
// client certificate from another CA) is logged as a warning.
func (l *loader) reuse() (*Identity, error) {
	p := l.paths
	caCerts, err := readCertificates(p.CA)
	if err != nil {
		return nil, err
	}
	if _, err := readMatchingKey(p.CAKey, p.CA, caCerts[0]); err != nil {
		return nil, err
	}
	serverChain, err := readCertificates(p.Server)
	if err != nil {
		return nil, err
	}
	serverKey, err := readMatchingKey(p.ServerKey, p.Server, serverChain[0])
	if err != nil {
		return nil, err
	}
	clientChain, err := readCertificates(p.Client)
	if err != nil {
		return nil, err
	}
	if _, err := readMatchingKey(p.ClientKey, p.Client, clientChain[0]); err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	for _, c := range caCerts {
		pool.AddCert(c)
	}
	if err := l.checkIssued(p.Server, serverChain, caCerts, pool, x509.ExtKeyUsageServerAuth); err != nil {
		return nil, err
	}
	if err := l.checkIssued(p.Client, clientChain, caCerts, pool, x509.ExtKeyUsageClientAuth); err != nil {
		l.log.Warn("client certificate is not usable with this CA", "error", err)
	}
	l.checkHost(serverChain[0])
	l.log.Debug("reusing TLS identity", "dir", l.dir)
	return &Identity{
		ServerCertificate: newTLSCertificate(serverChain, serverKey),
		CA:                caCerts[0],
		CAPool:            pool,
		Paths:             p,
	}, nil
}

// newTLSCertificate assembles a server certificate from a parsed chain.
func newTLSCertificate(chain []*x509.Certificate, key crypto.Signer) tls.Certificate {
	cert := tls.Certificate{PrivateKey: key, Leaf: chain[0]}
	for _, c := range chain {
		cert.Certificate = append(cert.Certificate, c.Raw)
	}
	return cert
}

// readCertificates returns every CERTIFICATE block in path, in order. Other
// block types are skipped (a combined cert-and-key file is accepted); no
// certificate, an unparsable one, or a truncated trailing block is an error.
func readCertificates(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading certificate %s: %w", path, err)
	}
	var certs []*x509.Certificate
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("reading certificate %s: %w: %w", path, ErrMalformed, err)
		}
		certs = append(certs, c)
	}
	if bytes.Contains(rest, []byte("-----BEGIN")) {
		return nil, fmt.Errorf("reading certificate %s: %w: truncated or damaged PEM block", path, ErrMalformed)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("reading certificate %s: %w: no PEM CERTIFICATE block", path, ErrMalformed)
	}
	return certs, nil
}

// readMatchingKey reads the private key in keyPath and checks that it belongs
// to cert (read from certPath).
func readMatchingKey(keyPath, certPath string, cert *x509.Certificate) (crypto.Signer, error) {
	key, err := readPrivateKey(keyPath)
	if err != nil {
		return nil, err
	}
	pub, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(key.Public()) {
		return nil, fmt.Errorf("checking key %s against %s: %w", keyPath, certPath, ErrKeyMismatch)
	}
	return key, nil
}

// readPrivateKey reads the one private key in path. It accepts PKCS#8
// ("PRIVATE KEY", what cln-grpc and clnrest write), SEC1 ("EC PRIVATE KEY")
// and PKCS#1 ("RSA PRIVATE KEY", what `openssl genrsa` wrote before OpenSSL
// 3, as cln-grpc's docs suggest for custom certificates). "EC PARAMETERS"
// blocks are skipped; encrypted keys are refused.
func readPrivateKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading private key %s: %w", path, err)
	}
	var key crypto.Signer
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type == "EC PARAMETERS" || !strings.HasSuffix(block.Type, "PRIVATE KEY") {
			continue
		}
		if key != nil {
			return nil, fmt.Errorf("reading private key %s: %w: more than one private key", path, ErrMalformed)
		}
		key, err = parsePrivateKey(block)
		if err != nil {
			return nil, fmt.Errorf("reading private key %s: %w: %w", path, ErrMalformed, err)
		}
	}
	if bytes.Contains(rest, []byte("-----BEGIN")) {
		return nil, fmt.Errorf("reading private key %s: %w: truncated or damaged PEM block", path, ErrMalformed)
	}
	if key == nil {
		return nil, fmt.Errorf("reading private key %s: %w: no PEM PRIVATE KEY block", path, ErrMalformed)
	}
	return key, nil
}

// parsePrivateKey decodes one PEM private key block into a signer.
func parsePrivateKey(block *pem.Block) (crypto.Signer, error) {
	if _, encrypted := block.Headers["Proc-Type"]; encrypted || block.Type == "ENCRYPTED PRIVATE KEY" {
		return nil, errors.New("encrypted private keys are not supported")
	}
	switch block.Type {
	case "EC PRIVATE KEY":
		return x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		switch k := k.(type) {
		case *ecdsa.PrivateKey:
			return k, nil
		case *rsa.PrivateKey:
			return k, nil
		case ed25519.PrivateKey:
			return k, nil
		}
		return nil, fmt.Errorf("unsupported private key type %T", k)
	}
	return nil, fmt.Errorf("unsupported PEM block type %q", block.Type)
}

// checkIssued checks that chain[0] descends from a certificate in caCerts,
// through the chain's other certificates if needed. The signature check alone
// decides; if it passes but a full verification (validity period, key usage)
// fails, that is logged as a warning, because the server still works for
// clients that do not verify or that trust the certificate itself.
func (l *loader) checkIssued(path string, chain, caCerts []*x509.Certificate, pool *x509.CertPool, usage x509.ExtKeyUsage) error {
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, verr := chain[0].Verify(x509.VerifyOptions{
		Roots:         pool,
		Intermediates: inter,
		CurrentTime:   l.now(),
		KeyUsages:     []x509.ExtKeyUsage{usage},
	})
	if verr == nil {
		return nil
	}
	if !signedBy(chain[0], chain[1:], caCerts) {
		return fmt.Errorf("checking %s against %s: %w: %w", path, l.paths.CA, ErrNotSignedByCA, verr)
	}
	l.log.Warn("certificate is signed by the CA but peers that verify it will refuse it",
		"file", path, "error", verr.Error())
	return nil
}

// signedBy walks from leaf up through intermediates until it reaches a
// certificate in roots, checking signatures only (not validity periods), so
// that an expired certificate is still recognised as the CA's.
func signedBy(leaf *x509.Certificate, intermediates, roots []*x509.Certificate) bool {
	cur := leaf
	for range len(intermediates) + 1 {
		for _, r := range roots {
			if cur.CheckSignatureFrom(r) == nil {
				return true
			}
		}
		next := (*x509.Certificate)(nil)
		for _, c := range intermediates {
			if c != cur && cur.CheckSignatureFrom(c) == nil {
				next = c
				break
			}
		}
		if next == nil {
			return false
		}
		cur = next
	}
	return false
}

// checkHost warns when a reused server certificate does not cover Host, since
// clients connecting to that address and verifying the name will then fail.
func (l *loader) checkHost(leaf *x509.Certificate) {
	name := hostName(l.host)
	if name == "" {
		return
	}
	if err := leaf.VerifyHostname(name); err != nil {
		l.log.Warn("server certificate does not cover clnrest-host; clients that verify the name will fail",
			"file", l.paths.Server, "host", l.host, "error", err.Error())
	}
}

// hostName returns host without brackets or IPv6 zone, the form that
// certificate names are compared against.
func hostName(host string) string {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.WithZone("").String()
	}
	return host
}
