package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// gatewayCost is what one request costs the in-process gateway.
type gatewayCost struct {
	Allocs  float64       // heap allocations per request
	Bytes   float64       // heap bytes per request
	PerCall time.Duration // wall time per request, one at a time
}

// measureGateway sends n sequential POST /v1/getinfo requests through the
// in-process gateway on a loopback connection (raw client, fake
// lightningd: both allocation-free) and returns the cost per request.
func measureGateway(n int, accessLog bool) (gatewayCost, error) {
	env, err := startGatewayEnv(accessLog)
	if err != nil {
		return gatewayCost{}, err
	}
	defer env.Close()
	c, err := dialRaw(env.addr, nil, "/v1/getinfo", "bench-rune")
	if err != nil {
		return gatewayCost{}, err
	}
	defer c.Close()
	for range 1000 { // warm: pool, buffers, keep-alive connection
		if err := expect201(c); err != nil {
			return gatewayCost{}, err
		}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	for range n {
		if err := expect201(c); err != nil {
			return gatewayCost{}, err
		}
	}
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	return gatewayCost{
		Allocs:  float64(after.Mallocs-before.Mallocs) / float64(n),
		Bytes:   float64(after.TotalAlloc-before.TotalAlloc) / float64(n),
		PerCall: elapsed / time.Duration(n),
	}, nil
}

func expect201(c *rawClient) error {
	status, err := c.Do()
	if err == nil && status != http.StatusCreated {
		err = fmt.Errorf("POST /v1/getinfo: status %d", status)
	}
	return err
}

// gatewayEnv is a fake lightningd with the gateway serving in front of it.
type gatewayEnv struct {
	dir  string
	node *fakeNode
	gw   *gateway
	addr string
	stop func()
}

func startGatewayEnv(accessLog bool) (*gatewayEnv, error) {
	dir, err := os.MkdirTemp("", "gwb")
	if err != nil {
		return nil, err
	}
	e := &gatewayEnv{dir: dir}
	socket := filepath.Join(dir, "lightning-rpc")
	if e.node, err = startFakeNode(socket); err != nil {
		e.Close()
		return nil, err
	}
	if e.gw, err = newGateway(socket, accessLog); err != nil {
		e.Close()
		return nil, err
	}
	if e.addr, e.stop, err = e.gw.serve(); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// Close stops everything startGatewayEnv started.
func (e *gatewayEnv) Close() {
	if e.stop != nil {
		e.stop()
	}
	if e.gw != nil {
		e.gw.Close()
	}
	if e.node != nil {
		e.node.Close()
	}
	os.RemoveAll(e.dir)
}

// allocs adds the gateway's cost per request to the table, with and
// without the access log.
func (b *bench) allocs() error {
	for _, withLog := range []bool{true, false} {
		cost, err := measureGateway(20000, withLog)
		if err != nil {
			return err
		}
		name := "gateway in-process"
		note := "access log on"
		if !withLog {
			note = "access log off"
		}
		b.table.add(row{Test: name, Proto: "http", Conc: 1, P50: cost.PerCall,
			Notes: fmt.Sprintf("%.0f allocs/req, %.0f B/req; fake lightningd, raw client; %s; p50 column = mean", cost.Allocs, cost.Bytes, note)})
		b.logf("%s (%s): %.0f allocs/req, %.0f B/req, %s per request", name, note, cost.Allocs, cost.Bytes, durCell(cost.PerCall))
	}
	return nil
}
