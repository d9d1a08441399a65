//go:build unix

package tlsident

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestFileModesIgnoreUmask checks that keys are written 0600 and
// certificates 0644 whatever the umask. It changes the process umask, so no
// test in this package runs in parallel.
func TestFileModesIgnoreUmask(t *testing.T) {
	for _, mask := range []int{0, 0o022, 0o077} {
		t.Run(os.FileMode(mask).String(), func(t *testing.T) {
			old := syscall.Umask(mask)
			defer syscall.Umask(old)
			dir := filepath.Join(t.TempDir(), "certs")
			mustLoad(t, Config{Dir: dir, Host: "127.0.0.1"})
			for _, name := range fileNames {
				info, err := os.Stat(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				want := os.FileMode(0o644)
				if strings.HasSuffix(name, "-key.pem") {
					want = 0o600
				}
				if got := info.Mode().Perm(); got != want {
					t.Errorf("%s under umask %o: got mode %v; want %v", name, mask, got, want)
				}
			}
		})
	}
}
