package tlsident

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadGenerates(t *testing.T) {
	tests := []struct {
		name   string
		host   string
		wantIP net.IP // nil: no IP SAN
	}{
		{"ipv4", "127.0.0.1", net.ParseIP("127.0.0.1")},
		{"other ipv4", "192.0.2.7", net.ParseIP("192.0.2.7")},
		{"ipv6", "::1", net.ParseIP("::1")},
		{"bracketed ipv6", "[2001:db8::5]", net.ParseIP("2001:db8::5")},
		{"ipv6 with zone", "fe80::1%eth0", net.ParseIP("fe80::1")},
		{"name", "localhost", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "clnrest-certs")
			id := mustLoad(t, Config{Dir: dir, Host: tt.host})
			if !id.Generated {
				t.Errorf("Generated: got false; want true")
			}
			checkFiles(t, dir)
			ca, server, client := parseSet(t, readSet(t, dir))
			checkCA(t, ca)
			checkLeaf(t, server, "cln rest server", x509.ExtKeyUsageServerAuth)
			checkLeaf(t, client, "cln rest client", x509.ExtKeyUsageClientAuth)
			if got, want := server.DNSNames, []string{"cln", "localhost"}; !equalStrings(got, want) {
				t.Errorf("server DNS SANs: got %q; want %q", got, want)
			}
			checkIPs(t, server.IPAddresses, tt.wantIP)
			names := []string{"localhost", "cln"}
			if tt.wantIP != nil {
				names = append(names, tt.wantIP.String())
			}
			for _, name := range names {
				_, err := server.Verify(x509.VerifyOptions{Roots: id.CAPool, DNSName: name})
				if err != nil {
					t.Errorf("verifying server for %q: got %v; want nil", name, err)
				}
			}
			_, err := client.Verify(x509.VerifyOptions{Roots: id.CAPool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
			if err != nil {
				t.Errorf("verifying client: got %v; want nil", err)
			}
			if !bytes.Equal(id.ServerCertificate.Leaf.Raw, server.Raw) || !id.CA.Equal(ca) {
				t.Errorf("Identity: got certificates that differ from the files written")
			}
		})
	}
}

// checkFiles checks that the six files exist, are non-empty and have the
// modes Load gives them, and that the directory it created is 0700.
func checkFiles(t *testing.T, dir string) {
	t.Helper()
	if info, err := os.Stat(dir); err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("directory %s: got %v, %v; want mode 0700", dir, info.Mode(), err)
	}
	for _, name := range fileNames {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("stat %s: %v", name, err)
			continue
		}
		want := os.FileMode(0o644)
		if strings.HasSuffix(name, "-key.pem") {
			want = 0o600
		}
		if info.Mode().Perm() != want || info.Size() == 0 {
			t.Errorf("%s: got mode %v size %d; want mode %v, non-empty", name, info.Mode().Perm(), info.Size(), want)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != len(fileNames) {
		t.Errorf("directory entries: got %d (%v); want %d, no temporary files left", len(entries), err, len(fileNames))
	}
}

// parseSet parses the three certificates and checks that each key file is
// a PKCS#8 "PRIVATE KEY" P-256 key matching its certificate.
func parseSet(t *testing.T, set map[string][]byte) (ca, server, client *x509.Certificate) {
	t.Helper()
	parse := func(certName, keyName string) *x509.Certificate {
		block, _ := pem.Decode(set[certName])
		if block == nil || block.Type != "CERTIFICATE" {
			t.Fatalf("%s: got no CERTIFICATE block", certName)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatalf("%s: %v", certName, err)
		}
		kb, _ := pem.Decode(set[keyName])
		if kb == nil || kb.Type != "PRIVATE KEY" {
			t.Fatalf("%s: got block %v; want PRIVATE KEY", keyName, kb)
		}
		key, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
		if err != nil {
			t.Fatalf("%s: %v", keyName, err)
		}
		ec, ok := key.(*ecdsa.PrivateKey)
		if !ok || ec.Curve != elliptic.P256() || !ec.PublicKey.Equal(cert.PublicKey) {
			t.Errorf("%s: got %T not matching %s; want a matching P-256 key", keyName, key, certName)
		}
		return cert
	}
	return parse(caFile, caKeyFile), parse(serverFile, serverKeyFile), parse(clientFile, clientKeyFile)
}

func checkCA(t *testing.T, ca *x509.Certificate) {
	t.Helper()
	if !ca.IsCA || !ca.BasicConstraintsValid || ca.KeyUsage&x509.KeyUsageCertSign == 0 || ca.KeyUsage&x509.KeyUsageCRLSign == 0 {
		t.Errorf("CA: got IsCA %v, constraints %v, key usage %b; want a CA with cert and CRL signing",
			ca.IsCA, ca.BasicConstraintsValid, ca.KeyUsage)
	}
	if err := ca.CheckSignatureFrom(ca); err != nil {
		t.Errorf("CA self-signature: got %v; want nil", err)
	}
	checkValidity(t, ca)
}

func checkLeaf(t *testing.T, c *x509.Certificate, cn string, usage x509.ExtKeyUsage) {
	t.Helper()
	if c.Subject.CommonName != cn {
		t.Errorf("CN: got %q; want %q", c.Subject.CommonName, cn)
	}
	if c.IsCA || len(c.ExtKeyUsage) != 1 || c.ExtKeyUsage[0] != usage {
		t.Errorf("%s: got IsCA %v, ext key usage %v; want non-CA with %v", cn, c.IsCA, c.ExtKeyUsage, usage)
	}
	checkValidity(t, c)
}

func checkValidity(t *testing.T, c *x509.Certificate) {
	t.Helper()
	now := time.Now()
	if !c.NotBefore.Before(now.Add(-30*time.Minute)) || c.NotBefore.Before(now.Add(-2*time.Hour)) {
		t.Errorf("%s NotBefore: got %v; want about an hour before %v", c.Subject.CommonName, c.NotBefore, now)
	}
	if c.NotAfter.Year() != 4096 {
		t.Errorf("%s NotAfter: got %v; want in 4096", c.Subject.CommonName, c.NotAfter)
	}
	if c.SerialNumber.Sign() <= 0 || c.SerialNumber.BitLen() > 128 || c.SerialNumber.BitLen() < 64 {
		t.Errorf("%s serial: got %v; want a random positive 128-bit number", c.Subject.CommonName, c.SerialNumber)
	}
}

func checkIPs(t *testing.T, got []net.IP, want net.IP) {
	t.Helper()
	if want == nil {
		if len(got) != 0 {
			t.Errorf("IP SANs: got %v; want none", got)
		}
		return
	}
	if len(got) != 1 || !got[0].Equal(want) {
		t.Errorf("IP SANs: got %v; want [%v]", got, want)
	}
}

func equalStrings(a, b []string) bool {
	return strings.Join(a, "\x00") == strings.Join(b, "\x00")
}

func TestLoadReusesCompleteSet(t *testing.T) {
	dir := t.TempDir()
	first := mustLoad(t, Config{Dir: dir, Host: "127.0.0.1", WaitFor: -1})
	before := readSet(t, dir)
	second := mustLoad(t, Config{Dir: dir, Host: "127.0.0.1", WaitFor: -1})
	if !first.Generated || second.Generated {
		t.Errorf("Generated: got %v then %v; want true then false", first.Generated, second.Generated)
	}
	after := readSet(t, dir)
	for _, name := range fileNames {
		if !bytes.Equal(before[name], after[name]) {
			t.Errorf("%s: got changed by the second Load; want byte-for-byte the same", name)
		}
	}
	if !bytes.Equal(first.ServerCertificate.Certificate[0], second.ServerCertificate.Certificate[0]) {
		t.Errorf("server certificate: got a different one on reuse; want the same")
	}
	if second.ServerCertificate.Leaf == nil || second.ServerCertificate.PrivateKey == nil {
		t.Errorf("reused ServerCertificate: got Leaf %v, key %v; want both set", second.ServerCertificate.Leaf, second.ServerCertificate.PrivateKey)
	}
}

func TestLoadRegeneratesIncompleteSet(t *testing.T) {
	for _, name := range fileNames {
		for _, how := range []string{"deleted", "emptied"} {
			t.Run(name+" "+how, func(t *testing.T) {
				dir := t.TempDir()
				mustLoad(t, Config{Dir: dir, WaitFor: -1})
				before := readSet(t, dir)
				path := filepath.Join(dir, name)
				var err error
				if how == "deleted" {
					err = os.Remove(path)
				} else {
					err = os.WriteFile(path, nil, 0o600)
				}
				if err != nil {
					t.Fatal(err)
				}
				id := mustLoad(t, Config{Dir: dir, WaitFor: -1})
				if !id.Generated {
					t.Errorf("Generated: got false; want true")
				}
				after := readSet(t, dir)
				for _, n := range fileNames {
					if len(after[n]) == 0 || bytes.Equal(before[n], after[n]) {
						t.Errorf("%s: got unchanged or empty; want regenerated", n)
					}
				}
				parseSet(t, after)
			})
		}
	}
}

func TestLoadRefusesUnusableSet(t *testing.T) {
	other := generatedSet(t, "127.0.0.1")
	truncate := func(b []byte) []byte { return b[:len(b)/2] }
	tests := []struct {
		name     string
		file     string // the file the error must name
		mutate   func(set map[string][]byte)
		wantErr  error
		wantText string
	}{
		{"garbage ca", caFile, func(s map[string][]byte) { s[caFile] = []byte("not a certificate\n") }, ErrMalformed, "no PEM CERTIFICATE"},
		{"garbage ca key", caKeyFile, func(s map[string][]byte) { s[caKeyFile] = []byte("junk") }, ErrMalformed, "no PEM PRIVATE KEY"},
		{"truncated server", serverFile, func(s map[string][]byte) { s[serverFile] = truncate(s[serverFile]) }, ErrMalformed, "truncated"},
		{"truncated server key", serverKeyFile, func(s map[string][]byte) { s[serverKeyFile] = truncate(s[serverKeyFile]) }, ErrMalformed, "truncated"},
		{"garbage client", clientFile, func(s map[string][]byte) { s[clientFile] = []byte("x") }, ErrMalformed, ""},
		{"damaged client key DER", clientKeyFile, func(s map[string][]byte) {
			s[clientKeyFile] = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{0x30, 0x03, 1, 2, 3}})
		}, ErrMalformed, ""},
		{"encrypted server key", serverKeyFile, func(s map[string][]byte) {
			s[serverKeyFile] = pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}})
		}, ErrMalformed, "encrypted"},
		{"server key of client", serverKeyFile, func(s map[string][]byte) { s[serverKeyFile] = s[clientKeyFile] }, ErrKeyMismatch, ""},
		{"ca key of another set", caKeyFile, func(s map[string][]byte) { s[caKeyFile] = other[caKeyFile] }, ErrKeyMismatch, ""},
		{"client key of another set", clientKeyFile, func(s map[string][]byte) { s[clientKeyFile] = other[clientKeyFile] }, ErrKeyMismatch, ""},
		{"server from another CA", serverFile, func(s map[string][]byte) {
			s[serverFile], s[serverKeyFile] = other[serverFile], other[serverKeyFile]
		}, ErrNotSignedByCA, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			set := generatedSet(t, "127.0.0.1")
			tt.mutate(set)
			writeSet(t, dir, set, fileNames...)
			_, err := Load(context.Background(), Config{Dir: dir, WaitFor: time.Second})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Load: got %v; want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), filepath.Join(dir, tt.file)) || !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("Load error: got %q; want it to name %s and say %q", err, tt.file, tt.wantText)
			}
			after := readSet(t, dir)
			for _, name := range fileNames {
				if !bytes.Equal(set[name], after[name]) {
					t.Errorf("%s: got changed; want untouched", name)
				}
			}
		})
	}
}

func TestLoadRejectsBadDirectory(t *testing.T) {
	base := t.TempDir()
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	withDirAsFile := filepath.Join(base, "dir-in-place")
	if err := os.MkdirAll(filepath.Join(withDirAsFile, serverFile), 0o700); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, dir, want string
	}{
		{"empty", "", "no certificates directory"},
		{"a file", file, "not a directory"},
		{"directory instead of server.pem", withDirAsFile, "not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(context.Background(), Config{Dir: tt.dir, WaitFor: -1})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load: got %v; want an error saying %q", err, tt.want)
			}
		})
	}
}
