package lnrpc

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestDialRetriesFullBacklog: a burst larger than lightningd's listen
// backlog must wait for the backlog, not fail with EAGAIN ("Resource
// temporarily unavailable") as upstream clnrest does.
func TestDialRetriesFullBacklog(t *testing.T) {
	dir, err := os.MkdirTemp("", "lnrpc")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "rpc")
	// A listener with a backlog of 1 that accepts nothing for a while.
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 1); err != nil {
		t.Fatal(err)
	}
	ln := listenerFromFD(t, fd)
	defer ln.Close()
	go func() {
		time.Sleep(300 * time.Millisecond) // the backlog overflows meanwhile
		serveOK(ln)
	}()

	c := New(path, Config{})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for range 40 {
		wg.Go(func() {
			if _, err := c.Call(ctx, "getinfo", nil); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("call during a full backlog: %v", err)
	}
}

// listenerFromFD wraps a listening socket made with syscall (to choose its
// backlog) as a net.Listener.
func listenerFromFD(t *testing.T, fd int) net.Listener {
	t.Helper()
	f := os.NewFile(uintptr(fd), "listener")
	defer f.Close()
	ln, err := net.FileListener(f)
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// serveOK answers every request on every accepted connection with
// {"ok":true}, framed as lightningd frames answers.
func serveOK(ln net.Listener) {
	for {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer nc.Close()
			dec := json.NewDecoder(nc)
			for {
				var req struct{ ID json.RawMessage }
				if dec.Decode(&req) != nil {
					return
				}
				if _, err := nc.Write([]byte(`{"jsonrpc":"2.0","id":` + string(req.ID) + `,"result":{"ok":true}}` + "\n\n")); err != nil {
					return
				}
			}
		}()
	}
}
