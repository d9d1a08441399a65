package tlsident

import (
	"crypto/tls"
	"path/filepath"
	"testing"
)

func TestTLSConfigHandshake(t *testing.T) {
	tests := []struct {
		name    string
		host    string // clnrest-host the identity is generated for
		network string
		client  *tls.Config // RootCAs is filled in
		wantVer uint16      // 0: the handshake must fail
	}{
		{"TLS 1.3 by IPv4", "127.0.0.1", "tcp4", &tls.Config{}, tls.VersionTLS13},
		{"TLS 1.3 by IPv6", "::1", "tcp6", &tls.Config{}, tls.VersionTLS13},
		{"TLS 1.3 by name localhost", "127.0.0.1", "tcp4", &tls.Config{ServerName: "localhost"}, tls.VersionTLS13},
		{"TLS 1.2 by name cln", "127.0.0.1", "tcp4", &tls.Config{ServerName: "cln", MaxVersion: tls.VersionTLS12}, tls.VersionTLS12},
		{"TLS 1.2 by IPv6", "::1", "tcp6", &tls.Config{MaxVersion: tls.VersionTLS12}, tls.VersionTLS12},
		{"TLS 1.2 ChaCha20", "127.0.0.1", "tcp4", &tls.Config{MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}}, tls.VersionTLS12},
		{"TLS 1.1 only", "127.0.0.1", "tcp4", &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}, 0},
		{"TLS 1.2 CBC only", "127.0.0.1", "tcp4", &tls.Config{MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA}}, 0},
		{"TLS 1.2 CBC SHA256 only", "127.0.0.1", "tcp4", &tls.Config{MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256}}, 0},
		{"IP not in certificate", "localhost", "tcp4", &tls.Config{}, 0},
		{"unknown name", "127.0.0.1", "tcp4", &tls.Config{ServerName: "example.com"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := mustLoad(t, Config{Dir: filepath.Join(t.TempDir(), "certs"), Host: tt.host})
			cc := tt.client.Clone()
			cc.RootCAs = id.CAPool
			askedForClientCert := false
			cc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
				askedForClientCert = true
				return &tls.Certificate{}, nil
			}
			state, err := httpsGet(t, id, tt.network, cc)
			if tt.wantVer == 0 {
				if err == nil {
					t.Fatalf("GET: got success with version %x suite %x; want a failed handshake", state.Version, state.CipherSuite)
				}
				return
			}
			if err != nil {
				t.Fatalf("GET: got %v; want success", err)
			}
			if state.Version != tt.wantVer {
				t.Errorf("version: got %x; want %x", state.Version, tt.wantVer)
			}
			if askedForClientCert {
				t.Errorf("client certificate: got requested; want not requested (clnrest uses runes)")
			}
		})
	}
}

func TestTLSConfigIsFresh(t *testing.T) {
	id := mustLoad(t, Config{Dir: filepath.Join(t.TempDir(), "certs"), Host: "127.0.0.1"})
	a, b := id.TLSConfig(), id.TLSConfig()
	a.CipherSuites[0] = tls.TLS_RSA_WITH_AES_128_CBC_SHA
	if b.CipherSuites[0] == tls.TLS_RSA_WITH_AES_128_CBC_SHA || a == b {
		t.Errorf("TLSConfig: got configurations sharing state; want independent ones")
	}
	if b.MinVersion != tls.VersionTLS12 || b.ClientAuth != tls.NoClientCert || len(b.Certificates) != 1 {
		t.Errorf("TLSConfig: got min %x, client auth %v, %d certificates; want TLS 1.2, none, 1",
			b.MinVersion, b.ClientAuth, len(b.Certificates))
	}
}
