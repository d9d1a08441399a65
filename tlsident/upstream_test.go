package tlsident

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"strings"
	"testing"
	"time"
)

// TestLoadAcceptsOtherWritersSets checks that sets written by cln-grpc,
// upstream clnrest, or by hand as cln-grpc's docs show, are reused as they
// are and serve TLS.
func TestLoadAcceptsOtherWritersSets(t *testing.T) {
	sec1 := clnGRPCLayout()
	sec1.ca.keyPEM, sec1.server.keyPEM, sec1.client.keyPEM = "sec1", "sec1", "sec1"
	custom := clnGRPCLayout()
	now := time.Now()
	custom.server = certSpec{cn: "cln rest server", dns: []string{"localhost", "cln"}, ips: []net.IP{net.IPv4(127, 0, 0, 1)},
		notBefore: now.Add(-time.Minute), notAfter: now.AddDate(0, 0, 365), rsa: true, keyPEM: "pkcs1"}
	tests := []struct {
		name       string
		spec       setSpec
		serverName string // the name the client checks
		wantWarn   string // "" : no warning expected
	}{
		{"cln-grpc", clnGRPCLayout(), "cln", "does not cover clnrest-host"},
		{"cln-grpc with SEC1 keys", sec1, "localhost", "does not cover clnrest-host"},
		{"upstream clnrest", upstreamClnrestLayout(), "127.0.0.1", ""},
		{"custom RSA server per cln-grpc docs", custom, "127.0.0.1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			set := buildSet(t, tt.spec)
			writeSet(t, dir, set, fileNames...)
			logger, logs := testLogger()
			id := mustLoad(t, Config{Dir: dir, Host: "127.0.0.1", WaitFor: -1, Logger: logger})
			if id.Generated {
				t.Fatalf("Generated: got true; want the existing set reused")
			}
			got := readSet(t, dir)
			for _, name := range fileNames {
				if !bytes.Equal(got[name], set[name]) {
					t.Errorf("%s: got changed; want untouched", name)
				}
			}
			hasWarn := strings.Contains(logs.String(), "level=WARN")
			if tt.wantWarn == "" && hasWarn || tt.wantWarn != "" && !strings.Contains(logs.String(), tt.wantWarn) {
				t.Errorf("logs: got %q; want warning %q", logs, tt.wantWarn)
			}
			state, err := httpsGet(t, id, "tcp4", &tls.Config{RootCAs: id.CAPool, ServerName: tt.serverName, MaxVersion: tls.VersionTLS12})
			if err != nil {
				t.Fatalf("TLS 1.2 GET with server name %q: got %v; want success", tt.serverName, err)
			}
			if state.Version != tls.VersionTLS12 {
				t.Errorf("version: got %x; want TLS 1.2", state.Version)
			}
		})
	}
}

// TestLoadWarnsButServes checks that a set signed by its CA but refused by
// verifying clients (expired server or client certificate, client from
// another CA) is reused with a warning rather than refused or replaced.
func TestLoadWarnsButServes(t *testing.T) {
	expired := clnGRPCLayout()
	expired.server.notAfter = time.Now().Add(-time.Hour)
	expired.server.dns = []string{"localhost"}
	expiredClient := clnGRPCLayout()
	expiredClient.client.notAfter = time.Now().Add(-time.Hour)
	tests := []struct {
		name     string
		set      func(t *testing.T) map[string][]byte
		wantWarn string
	}{
		{"expired server", func(t *testing.T) map[string][]byte { return buildSet(t, expired) }, "peers that verify it will refuse it"},
		{"expired client", func(t *testing.T) map[string][]byte { return buildSet(t, expiredClient) }, "client.pem error=\"x509: certificate has expired"},
		{"client from another CA", func(t *testing.T) map[string][]byte {
			set, other := generatedSet(t, "::1"), generatedSet(t, "::1")
			set[clientFile], set[clientKeyFile] = other[clientFile], other[clientKeyFile]
			return set
		}, "client certificate is not usable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeSet(t, dir, tt.set(t), fileNames...)
			logger, logs := testLogger()
			id, err := Load(context.Background(), Config{Dir: dir, Host: "::1", WaitFor: -1, Logger: logger})
			if err != nil || id.Generated {
				t.Fatalf("Load: got %v, %v; want the set reused", id, err)
			}
			if !strings.Contains(logs.String(), tt.wantWarn) {
				t.Errorf("logs: got %q; want %q", logs, tt.wantWarn)
			}
			if _, err := id.ServerCertificate.Leaf.Verify(x509.VerifyOptions{Roots: id.CAPool, CurrentTime: id.ServerCertificate.Leaf.NotBefore}); err != nil {
				t.Errorf("server chain at issue time: got %v; want it to verify", err)
			}
		})
	}
}
