package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clnrest/clnrest/internal/lightningdtest"
	"github.com/clnrest/clnrest/lnrpc"
)

// simRPC starts only the simulated lightningd's RPC socket.
func simRPC(t *testing.T) *lightningdtest.RPCServer {
	t.Helper()
	dir, err := os.MkdirTemp("", "ld")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	s, err := lightningdtest.NewRPCServer(lightningdtest.RPCConfig{SocketPath: filepath.Join(dir, "lightning-rpc")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestLnrpcAgainstSimulator: the lightning-rpc client against the
// simulated lightningd: pooling under concurrency, error objects kept
// whole, reconnection after the socket goes and comes back.
func TestLnrpcAgainstSimulator(t *testing.T) {
	s := simRPC(t)
	c := lnrpc.New(s.SocketPath(), lnrpc.Config{MaxConns: 8})
	defer c.Close()
	ctx := context.Background()

	t.Run("pooling under concurrency", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 400)
		for i := range 400 {
			wg.Go(func() {
				label := fmt.Sprintf("pool-%d", i)
				res, err := c.Call(ctx, "invoice", json.RawMessage(`{"amount_msat":`+fmt.Sprint(1000+i)+`,"label":"`+label+`","description":"d"}`))
				if err != nil {
					errs <- err
					return
				}
				list, err := c.Call(ctx, "listinvoices", json.RawMessage(`{"label":"`+label+`"}`))
				if err != nil || !strings.Contains(string(list), `"amount_msat":`+fmt.Sprint(1000+i)+`,`) || !json.Valid(res) {
					errs <- fmt.Errorf("%s: got %s, %v", label, list, err)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
	t.Run("error object kept whole", func(t *testing.T) {
		_, err := c.Call(ctx, "invoice", json.RawMessage(`{"amount_msat":1,"label":"pool-1","description":"d"}`))
		var rpcErr *lnrpc.Error
		if !errors.As(err, &rpcErr) || rpcErr.Code != 900 || rpcErr.Message != "Duplicate label 'pool-1'" {
			t.Errorf("got %v; want lightningd's 900 Duplicate label 'pool-1'", err)
		}
		s.SetError("getinfo", &lightningdtest.RPCError{Code: 1234, Message: "broken", Data: json.RawMessage(`{"why":18446744073709551615}`)})
		defer s.SetError("getinfo", nil)
		_, err = c.Call(ctx, "getinfo", nil)
		if !errors.As(err, &rpcErr) || rpcErr.Code != 1234 || string(rpcErr.Data) != `{"why":18446744073709551615}` {
			t.Errorf("got %v; want code 1234 with data kept exactly", err)
		}
	})
	t.Run("reconnection", func(t *testing.T) {
		if err := s.CloseListener(); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Call(ctx, "getinfo", nil); !errors.Is(err, lnrpc.ErrUnavailable) {
			t.Fatalf("during the outage: got %v; want ErrUnavailable", err)
		}
		if err := s.Listen(); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Call(ctx, "getinfo", nil); err != nil {
			t.Fatalf("after the socket came back: %v", err)
		}
	})
}

// TestLnrpcStreams200MB streams a 200 MB listinvoices-style result from
// the simulator and checks the client's memory stays far below it.
func TestLnrpcStreams200MB(t *testing.T) {
	if testing.Short() {
		t.Skip("200 MB")
	}
	s := simRPC(t)
	const size = 200 << 20
	s.HandleStream("biglist", "", func(_ context.Context, _ json.RawMessage, w io.Writer) error {
		return writeInvoices(w, size)
	})
	c := lnrpc.New(s.SocketPath(), lnrpc.Config{})
	defer c.Close()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	peak := make(chan uint64)
	stop := make(chan struct{})
	go func() { // samples the live heap while the result streams
		var m runtime.MemStats
		var max uint64
		for {
			select {
			case <-stop:
				peak <- max
				return
			default:
			}
			runtime.ReadMemStats(&m)
			max = maxOf(max, m.HeapInuse)
			time.Sleep(10 * time.Millisecond)
		}
	}()
	res, err := c.Stream(context.Background(), "biglist", nil)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, res)
	res.Close()
	close(stop)
	heapPeak := <-peak
	if err != nil || n < size {
		t.Fatalf("streamed %d bytes, %v; want ≥ %d", n, err, size)
	}
	// Both the simulator and the client run in this process; neither may
	// hold the result.
	if grown := int64(heapPeak) - int64(before.HeapInuse); grown > 32<<20 {
		t.Errorf("live heap grew by %d MB while streaming %d MB; want under 32 MB", grown>>20, size>>20)
	}
}

func maxOf(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}

// writeInvoices writes a listinvoices-like result of at least size bytes
// without holding it.
func writeInvoices(w io.Writer, size int) error {
	if _, err := io.WriteString(w, `{"invoices":[`); err != nil {
		return err
	}
	written, pad := 0, strings.Repeat("q", 200)
	for i := 0; written < size; i++ {
		sep := ","
		if i == 0 {
			sep = ""
		}
		n, err := fmt.Fprintf(w, `%s{"label":"inv-%d","bolt11":"lnbcrt%s","payment_hash":"%064x","amount_msat":18446744073709551615,"status":"unpaid","description":"stream","expires_at":1700000000,"created_index":%d}`,
			sep, i, pad, i, i)
		if err != nil {
			return err
		}
		written += n
	}
	_, err := io.WriteString(w, `]}`)
	return err
}
