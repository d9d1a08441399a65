package tlsident

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// fileNames are the six files, in a fixed order for messages.
var fileNames = []string{caFile, caKeyFile, serverFile, serverKeyFile, clientFile, clientKeyFile}

// readSet returns the contents of the six files in dir; a missing file reads
// as nil.
func readSet(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	set := map[string][]byte{}
	for _, name := range fileNames {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil && !os.IsNotExist(err) {
			t.Fatalf("reading %s: %v", name, err)
		}
		set[name] = data
	}
	return set
}

// writeSet writes the named files of set into dir.
func writeSet(t *testing.T, dir string, set map[string][]byte, names ...string) {
	t.Helper()
	for _, name := range names {
		if err := os.WriteFile(filepath.Join(dir, name), set[name], 0o600); err != nil {
			t.Fatalf("writing %s: %v", name, err)
		}
	}
}

// mustLoad loads an identity and fails the test on error.
func mustLoad(t *testing.T, cfg Config) *Identity {
	t.Helper()
	id, err := Load(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Load(%s): %v", cfg.Dir, err)
	}
	return id
}

// generatedSet generates a fresh set in a new directory and returns its
// files.
func generatedSet(t *testing.T, host string) map[string][]byte {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "certs")
	mustLoad(t, Config{Dir: dir, Host: host})
	return readSet(t, dir)
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex // protects buf
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testLogger returns a logger that records everything into a buffer.
func testLogger() (*slog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// certSpec describes one certificate of a hand-made set, so tests can build
// sets the way other tools (rcgen in cln-grpc and upstream clnrest, openssl
// as cln-grpc's docs show) lay them out.
type certSpec struct {
	cn        string
	dns       []string
	ips       []net.IP
	isCA      bool
	keyUsage  x509.KeyUsage
	extUsage  []x509.ExtKeyUsage
	notBefore time.Time
	notAfter  time.Time
	rsa       bool   // RSA-2048 instead of P-256
	keyPEM    string // "pkcs8" (default), "sec1" or "pkcs1"
}

// setSpec is a CA, server and client.
type setSpec struct{ ca, server, client certSpec }

// rcgenEpoch and rcgenEnd are rcgen's default validity, which cln-grpc and
// upstream clnrest keep.
var (
	rcgenEpoch = time.Date(1975, 1, 1, 0, 0, 0, 0, time.UTC)
	rcgenEnd   = time.Date(4096, 1, 1, 0, 0, 0, 0, time.UTC)
)

// clnGRPCLayout is what cln-grpc's tls.rs writes.
func clnGRPCLayout() setSpec {
	leafUsage := x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageKeyAgreement
	names := []string{"cln", "localhost"}
	return setSpec{
		ca:     certSpec{cn: "cln Root CA", dns: names, isCA: true, keyUsage: x509.KeyUsageCertSign, notBefore: rcgenEpoch, notAfter: rcgenEnd},
		server: certSpec{cn: "cln grpc Server", dns: names, keyUsage: leafUsage, notBefore: rcgenEpoch, notAfter: rcgenEnd},
		client: certSpec{cn: "cln grpc Client", dns: names, keyUsage: leafUsage, notBefore: rcgenEpoch, notAfter: rcgenEnd},
	}
}

// upstreamClnrestLayout is what upstream clnrest's certs.rs writes for
// clnrest-host 127.0.0.1 (the CA keeps rcgen's default CN).
func upstreamClnrestLayout() setSpec {
	leafUsage := x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageKeyAgreement
	return setSpec{
		ca: certSpec{cn: "rcgen self signed cert", dns: []string{"cln Root REST CA", "cln", "localhost"}, isCA: true,
			keyUsage: x509.KeyUsageCertSign, notBefore: rcgenEpoch, notAfter: rcgenEnd},
		server: certSpec{cn: "cln rest server", dns: []string{"cln rest server", "cln", "localhost"},
			ips: []net.IP{net.IPv4(127, 0, 0, 1)}, keyUsage: leafUsage, notBefore: rcgenEpoch, notAfter: rcgenEnd},
		client: certSpec{cn: "cln rest client", dns: []string{"cln rest client", "cln", "localhost"},
			notBefore: rcgenEpoch, notAfter: rcgenEnd},
	}
}

// buildSet makes the six files described by s.
func buildSet(t *testing.T, s setSpec) map[string][]byte {
	t.Helper()
	caCert, caKey, caPEM, caKeyPEM := buildCert(t, s.ca, nil, nil)
	_, _, serverPEM, serverKeyPEM := buildCert(t, s.server, caCert, caKey)
	_, _, clientPEM, clientKeyPEM := buildCert(t, s.client, caCert, caKey)
	return map[string][]byte{
		caFile: caPEM, caKeyFile: caKeyPEM,
		serverFile: serverPEM, serverKeyFile: serverKeyPEM,
		clientFile: clientPEM, clientKeyFile: clientKeyPEM,
	}
}

// buildCert makes one certificate per spec, signed by parent (self-signed
// when nil), with an rcgen-style serial (a hash of the public key).
func buildCert(t *testing.T, spec certSpec, parent *x509.Certificate, parentKey crypto.Signer) (*x509.Certificate, crypto.Signer, []byte, []byte) {
	t.Helper()
	var key crypto.Signer
	var err error
	if spec.rsa {
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	} else {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		t.Fatalf("generating key: %v", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		t.Fatalf("encoding public key: %v", err)
	}
	sum := sha256.Sum256(pubDER)
	sum[0] &= 0x7f
	tmpl := &x509.Certificate{
		SerialNumber: new(big.Int).SetBytes(sum[:20]),
		Subject:      pkix.Name{CommonName: spec.cn},
		DNSNames:     spec.dns, IPAddresses: spec.ips,
		NotBefore: spec.notBefore, NotAfter: spec.notAfter,
		KeyUsage: spec.keyUsage, ExtKeyUsage: spec.extUsage,
		IsCA: spec.isCA, BasicConstraintsValid: spec.isCA,
		SubjectKeyId: sum[:20],
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		t.Fatalf("creating certificate %q: %v", spec.cn, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("parsing certificate %q: %v", spec.cn, err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return cert, key, certPEM, encodeKey(t, key, spec.keyPEM)
}

// encodeKey writes key as PEM in the named encoding.
func encodeKey(t *testing.T, key crypto.Signer, encoding string) []byte {
	t.Helper()
	var block *pem.Block
	switch encoding {
	case "sec1":
		der, err := x509.MarshalECPrivateKey(key.(*ecdsa.PrivateKey))
		if err != nil {
			t.Fatalf("encoding SEC1 key: %v", err)
		}
		block = &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}
	case "pkcs1":
		block = &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key.(*rsa.PrivateKey))}
	default:
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatalf("encoding PKCS#8 key: %v", err)
		}
		block = &pem.Block{Type: "PRIVATE KEY", Bytes: der}
	}
	return pem.EncodeToMemory(block)
}

// httpsGet starts an httptest server presenting id.TLSConfig() on the
// loopback of network ("tcp4" or "tcp6"), makes one GET to the listener's IP
// with the client TLS configuration cc (whose ServerName, when set, is the
// name checked against the certificate), and returns the
// connection state the client saw. The server is closed before returning.
func httpsGet(t *testing.T, id *Identity, network string, cc *tls.Config) (*tls.ConnectionState, error) {
	t.Helper()
	addr := "127.0.0.1:0"
	if network == "tcp6" {
		addr = "[::1]:0"
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Skipf("listening on %s %s: %v", network, addr, err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	srv.TLS = id.TLSConfig()
	srv.StartTLS()
	defer srv.Close()
	client := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: cc, DisableKeepAlives: true},
	}
	defer client.CloseIdleConnections()
	resp, err := client.Get("https://" + ln.Addr().String() + "/")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || string(body) != "ok" {
		t.Fatalf("reading response: got %q, %v; want \"ok\"", body, err)
	}
	return resp.TLS, nil
}
