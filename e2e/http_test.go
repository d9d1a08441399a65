package e2e

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var pemFiles = []string{"ca.pem", "ca-key.pem", "server.pem", "server-key.pem", "client.pem", "client-key.pem"}

func readPEMs(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, f := range pemFiles {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatalf("reading %s: %v", f, err)
		}
		out[f] = b
	}
	return out
}

// TestCertificateLifecycle: create, reuse byte for byte across restarts,
// regenerate all six when one is deleted; SANs; key modes; verification.
func TestCertificateLifecycle(t *testing.T) {
	certs := t.TempDir()
	opts := func() map[string]any {
		return map[string]any{"clnrest-certs": certs, "clnrest-host": "127.0.0.1"}
	}
	e := start(t, opts())
	first := readPEMs(t, certs)
	for _, f := range []string{"ca-key.pem", "server-key.pem", "client-key.pem"} {
		st, err := os.Stat(filepath.Join(certs, f))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode: got %v (%v); want 0600", f, st.Mode().Perm(), err)
		}
	}
	if r := e.post("/v1/getinfo", ""); r.status != 201 {
		t.Fatalf("getinfo over https: %d %s", r.status, r.body)
	}
	checkServerCert(t, e)
	e.stop()

	e = start(t, opts())
	if again := readPEMs(t, certs); !equalPEMs(first, again) {
		t.Error("restart changed the certificates; want them reused byte for byte")
	}
	e.stop()

	if err := os.Remove(filepath.Join(certs, "client.pem")); err != nil {
		t.Fatal(err)
	}
	e = start(t, opts())
	regenerated := readPEMs(t, certs)
	for _, f := range pemFiles {
		if bytes.Equal(first[f], regenerated[f]) {
			t.Errorf("%s unchanged after client.pem was deleted; want all six regenerated", f)
		}
	}
	if r := e.post("/v1/getinfo", ""); r.status != 201 {
		t.Errorf("getinfo after regeneration: %d", r.status)
	}
}

func equalPEMs(a, b map[string][]byte) bool {
	for _, f := range pemFiles {
		if !bytes.Equal(a[f], b[f]) {
			return false
		}
	}
	return true
}

func checkServerCert(t *testing.T, e *env) {
	t.Helper()
	conn, err := tls.Dial("tcp", strings.TrimPrefix(e.base, "https://"), &tls.Config{RootCAs: e.caPool(), MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatalf("TLS dial verifying against ca.pem: %v", err)
	}
	defer conn.Close()
	leaf := conn.ConnectionState().PeerCertificates[0]
	if leaf.Subject.CommonName != "cln rest server" {
		t.Errorf("CN: got %q", leaf.Subject.CommonName)
	}
	if !slices.Contains(leaf.DNSNames, "cln") || !slices.Contains(leaf.DNSNames, "localhost") {
		t.Errorf("DNS SANs: got %v", leaf.DNSNames)
	}
	if !slices.ContainsFunc(leaf.IPAddresses, func(ip net.IP) bool { return ip.Equal(net.ParseIP("127.0.0.1")) }) {
		t.Errorf("IP SANs: got %v; want 127.0.0.1", leaf.IPAddresses)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: e.caPool(), DNSName: "localhost"}); err != nil {
		t.Errorf("verify for localhost: %v", err)
	}
	old, err := tls.Dial("tcp", strings.TrimPrefix(e.base, "https://"), &tls.Config{RootCAs: e.caPool(), MaxVersion: tls.VersionTLS11, MinVersion: tls.VersionTLS10})
	if err == nil {
		old.Close()
		t.Error("TLS 1.1 handshake succeeded; want TLS 1.2 minimum")
	}
}

// TestCurl drives the server with curl exactly as the README shows.
func TestCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		requireClient(t, "curl")
		return
	}
	e := start(t, nil)
	ca := filepath.Join(e.certsDir(), "ca.pem")
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(curl, append([]string{"-sS", "--cacert", ca}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	// README: curl -X POST --cacert ca.pem -H "Rune: $RUNE" https://127.0.0.1:3010/v1/getinfo
	got := run("-X", "POST", "-H", "Rune: "+e.rune, "-w", "\n%{http_code}", e.base+"/v1/getinfo")
	if !strings.HasSuffix(got, "\n201") || !strings.Contains(got, `"id":"`+e.node.RPC.NodeID()+`"`) {
		t.Errorf("getinfo: got %s", got)
	}
	got = run("-X", "POST", "-w", "\n%{http_code}", e.base+"/v1/getinfo")
	if got != `{"code":1501,"message":"Not authorized: Missing rune"}`+"\n403" {
		t.Errorf("no rune: got %s", got)
	}
	// README: YAML in, XML out
	got = run("-X", "POST", "-H", "Rune: "+e.rune, "-H", "Content-Type: application/yaml", "-H", "Accept: application/xml",
		"--data-binary", "key: nothing\n", e.base+"/v1/listdatastore")
	if got != "<listdatastore></listdatastore>" && got != "<listdatastore/>" && !strings.HasPrefix(got, "<listdatastore") {
		t.Errorf("yaml to xml: got %s", got)
	}
	// README: form in, YAML out
	got = run("-X", "POST", "-H", "Rune: "+e.rune, "-H", "Accept: application/yaml", "-d", "amount_msat=1000", "-d", "label=curl", "-d", "description=coffee", e.base+"/v1/invoice")
	if !strings.Contains(got, "bolt11: lnbcrt") {
		t.Errorf("form to yaml: got %s", got)
	}
}

// requireClient skips a test whose external client is missing, unless
// CLNREST_REQUIRE_CLIENTS is set (CI), where it fails.
func requireClient(t *testing.T, name string) {
	t.Helper()
	if os.Getenv("CLNREST_REQUIRE_CLIENTS") != "" {
		t.Fatalf("%s is required (CLNREST_REQUIRE_CLIENTS is set) but not installed", name)
	}
	t.Skipf("%s is not installed; .ci/run installs it", name)
}

func TestCORSAndCSP(t *testing.T) {
	tests := []struct {
		name        string
		origins     []string
		csp         string
		origin      string
		wantAllowed string // Access-Control-Allow-Origin; "" = none
	}{
		{"star", nil, "", "https://any.example", "*"},
		{"list hit", []string{"https://a.example", "https://b.example"}, "", "https://b.example", "https://b.example"},
		{"list miss", []string{"https://a.example"}, "", "https://aXexample", ""},
		{"regex", []string{`https?://127\.0\.0\.1:[0-9]{1,5}`}, "", "http://127.0.0.1:5173", "http://127.0.0.1:5173"},
		{"regex anchored", []string{`https?://127\.0\.0\.1:[0-9]{1,5}`}, "", "http://127.0.0.1:5173.evil.com", ""},
		{"custom csp", nil, "default-src 'none'", "https://any.example", "*"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := map[string]any{"clnrest-protocol": "http"}
			if tc.origins != nil {
				opts["clnrest-cors-origins"] = tc.origins
			}
			wantCSP := "default-src 'self'; font-src 'self'; img-src 'self' data:; frame-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline';"
			if tc.csp != "" {
				opts["clnrest-csp"] = tc.csp
				wantCSP = tc.csp
			}
			e := start(t, opts)
			before := e.node.RPC.Calls("checkrune")
			pre := e.do(http.MethodOptions, "/v1/getinfo", "", "Origin", tc.origin,
				"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "rune,content-type")
			if e.node.RPC.Calls("checkrune") != before {
				t.Error("preflight called checkrune")
			}
			if got := pre.header.Get("Access-Control-Allow-Origin"); got != tc.wantAllowed {
				t.Errorf("preflight Allow-Origin: got %q; want %q", got, tc.wantAllowed)
			}
			if tc.wantAllowed != "" {
				if h := strings.ToLower(pre.header.Get("Access-Control-Allow-Headers")); !strings.Contains(h, "rune") || !strings.Contains(h, "content-type") {
					t.Errorf("preflight Allow-Headers: got %q", h)
				}
			}
			r := e.post("/v1/getinfo", "", "Origin", tc.origin)
			if got := r.header.Get("Access-Control-Allow-Origin"); got != tc.wantAllowed {
				t.Errorf("Allow-Origin: got %q; want %q", got, tc.wantAllowed)
			}
			if tc.origins != nil && !slices.Contains(r.header.Values("Vary"), "Origin") {
				t.Errorf("Vary: got %v; want Origin", r.header.Values("Vary"))
			}
			for _, resp := range []response{r, pre, e.do("GET", "/nowhere", "")} {
				if got := resp.header.Get("Content-Security-Policy"); got != wantCSP {
					t.Errorf("CSP: got %q; want %q", got, wantCSP)
				}
			}
		})
	}
}

func TestServerTimeouts(t *testing.T) {
	e := start(t, map[string]any{"clnrest-protocol": "http"})
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte("POST /v1/getinfo HTTP/1.1\r\nHost: x\r\n")) // never finishes its headers
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	buf := make([]byte, 1)
	start := time.Now()
	if _, err := conn.Read(buf); err == nil {
		// Go answers 408 or closes; either way the connection must end.
		conn.Read(make([]byte, 4096))
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("slow-header client held for %v; want cut off by the header timeout", d)
	}
}

// TestFastPath: the real binary serves REST calls on its HTTP/1.1 fast
// path, over http and https, and a connection whose request is of
// another kind (a GET) is handed to net/http and still answered.
func TestFastPath(t *testing.T) {
	for _, proto := range []string{"http", "https"} {
		t.Run(proto, func(t *testing.T) {
			e := start(t, map[string]any{"clnrest-protocol": proto})
			before := e.stats()
			for range 5 {
				if res := e.post("/v1/getinfo", ""); res.status != http.StatusCreated {
					t.Fatalf("POST /v1/getinfo: %d %s", res.status, res.body)
				}
			}
			mid := e.stats()
			if n := mid.FastPathRequests - before.FastPathRequests; n != 5 {
				t.Errorf("fast path served %d of 5 REST calls", n)
			}
			// The GET goes on the same keep-alive connection: handed over.
			if res := e.do(http.MethodGet, "/v1/list-methods", ""); res.status != http.StatusOK || !strings.Contains(res.body, "Command: getinfo") {
				t.Fatalf("GET /v1/list-methods: %d %.100s", res.status, res.body)
			}
			if res := e.post("/v1/getinfo", ""); res.status != http.StatusCreated {
				t.Fatalf("POST /v1/getinfo after the hand-over: %d %s", res.status, res.body)
			}
			after := e.stats()
			if n := after.ConnectionsHandedOff - mid.ConnectionsHandedOff; n != 1 {
				t.Errorf("%d connections handed to net/http; want 1", n)
			}
			if n := after.FastPathRequests - mid.FastPathRequests; n != 0 {
				t.Errorf("fast path served %d requests on a handed-over connection; want 0", n)
			}
		})
	}
}
