package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pageServer serves the test page and socket.io-client's browser bundle
// from its own origin, different from clnrest's.
func pageServer(t *testing.T) *httptest.Server {
	t.Helper()
	nodeModules, _ := filepath.Abs(filepath.Join("node", "node_modules"))
	mux := http.NewServeMux()
	mux.HandleFunc("/sio.html", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join("testdata", "sio.html"))
	})
	mux.HandleFunc("/socket.io.min.js", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(nodeModules, "socket.io-client", "dist", "socket.io.min.js"))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestSocketIOBrowser: Chromium loads a page from another origin that
// connects with the auth payload, and like upstream's HTML example with
// extraHeaders (polling with a rune header, so a CORS preflight, then the
// upgrade); an origin outside clnrest-cors-origins is refused.
func TestSocketIOBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	nodeDir, _ := filepath.Abs("node")
	node := requireBrowser(t, nodeDir)
	page := pageServer(t)
	tests := []struct {
		name, mode, transports, origins string
		wantConnected                   bool
	}{
		{"auth payload", "auth", "", page.URL, true},
		{"auth payload, websocket only", "auth", "websocket", page.URL, true},
		{"extraHeaders like upstream's example", "headers", "", page.URL, true},
		{"origin not allowed", "headers", "", "https://elsewhere.example", false},
		{"origin not allowed, websocket only", "auth", "websocket", "https://elsewhere.example", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t, map[string]any{"clnrest-protocol": "http", "clnrest-cors-origins": []string{tc.origins}})
			label := "browser-" + tc.mode
			q := url.Values{"url": {e.base}, "rune": {e.rune}, "mode": {tc.mode}, "transports": {tc.transports}}
			shot := filepath.Join(artifactsDir(t), "socketio-"+fileName(tc.name)+".png")
			cmd := exec.Command(node, "sio_page.mjs", page.URL+"/sio.html?"+q.Encode(), label, shot, "20000")
			cmd.Dir = nodeDir
			p := startSIOProc(t, "chromium "+tc.mode, cmd)
			ev := p.waitEvent(t, 40*time.Second, "status", "done", "error")
			for ev["event"] == "status" && ev["text"] == "Not connected" {
				ev = p.waitEvent(t, 40*time.Second, "status", "done", "error")
			}
			if tc.wantConnected {
				if ev["text"] != "Client Connected" {
					t.Fatalf("page status %v; want Client Connected", ev)
				}
				createInvoice(t, e, label, "1000")
			}
			done := p.waitEvent(t, 40*time.Second, "done", "error")
			got := fmt.Sprint(done["messages"])
			if tc.wantConnected {
				if !strings.Contains(got, `"label":"`+label+`"`) || strings.Count(got, "invoice_creation") != 1 {
					t.Errorf("page messages %s; want exactly the one invoice_creation", got)
				}
				if strings.Contains(got, "browser") && strings.Contains(got, `"from"`) {
					t.Errorf("the page's own event came back: %s", got)
				}
				return
			}
			if status, _ := done["status"].(string); !strings.HasPrefix(status, "Connect error") || got != "[]" {
				t.Errorf("refused origin: status %q messages %s; want a connect error and nothing", done["status"], got)
			}
		})
	}
}
