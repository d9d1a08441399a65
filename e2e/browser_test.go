package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// artifactsDir is where browser tests leave screenshots:
// $CLNREST_ARTIFACTS, or testdata/artifacts at the repository root.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("CLNREST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "testdata", "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("making %s: %v", dir, err)
	}
	abs, _ := filepath.Abs(dir)
	return abs
}

// requireBrowser skips (or, in CI, fails) when Chromium, node or the
// playwright-core module of dir are missing.
func requireBrowser(t *testing.T, nodeDir string) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		requireClient(t, "node")
	}
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		requireClient(t, "chromium (Debian package)")
	}
	if _, err := os.Stat(filepath.Join(nodeDir, "node_modules", "playwright-core")); err != nil {
		requireClient(t, "playwright-core (npm ci in "+nodeDir+")")
	}
	return node
}

// TestSwaggerTryItOut opens the Swagger UI from clnrest over https in
// Chromium, authorizes with a rune, and runs POST /v1/getinfo with "Try it
// out" and "Execute"; then the same without a rune.
func TestSwaggerTryItOut(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	nodeDir, _ := filepath.Abs(filepath.Join("..", "swagger", "testdata", "node"))
	node := requireBrowser(t, nodeDir)
	e := start(t, nil)
	tests := []struct {
		name, rune, wantStatus, wantBody string
	}{
		{"with rune", e.rune, "201", e.node.RPC.NodeID()},
		{"without rune", "-", "403", "Not authorized: Missing rune"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			shot := filepath.Join(artifactsDir(t), "swagger-tryitout-"+fileName(tc.name)+".png")
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, node, "tryitout.mjs", e.base+"/swagger-ui", tc.rune, shot, "getinfo", "rpc")
			cmd.Dir = nodeDir
			out, err := cmd.Output()
			var got struct {
				Status, Body, Error string
				CSPViolations       []string `json:"cspViolations"`
				ForeignRequests     []string `json:"foreignRequests"`
				PageErrors          []string `json:"pageErrors"`
			}
			if jerr := json.Unmarshal(out, &got); jerr != nil || err != nil {
				t.Fatalf("tryitout.mjs: %v %v: %s", err, jerr, out)
			}
			if got.Status != tc.wantStatus || !strings.Contains(got.Body, tc.wantBody) {
				t.Errorf("UI shows status %q body %.200q; want %s with %q", got.Status, got.Body, tc.wantStatus, tc.wantBody)
			}
			if len(got.CSPViolations)+len(got.ForeignRequests)+len(got.PageErrors) > 0 {
				t.Errorf("csp %v foreign %v errors %v; want none", got.CSPViolations, got.ForeignRequests, got.PageErrors)
			}
			if st, err := os.Stat(shot); err != nil || st.Size() == 0 {
				t.Errorf("screenshot %s missing: %v", shot, err)
			}
		})
	}
}

// fileName turns a test case name into a plain file name.
func fileName(name string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, name)
}
