package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/clnrest/clnrest/plugin"
)

// requestCounter counts the HTTP requests being served, Socket.IO
// transports left out (a long poll or an upgraded websocket is a client
// being connected, not a request in flight), for clnrest-stats.
type requestCounter struct {
	next     http.Handler
	inFlight atomic.Int64
}

func (c *requestCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/socket.io/") {
		c.next.ServeHTTP(w, r)
		return
	}
	c.inFlight.Add(1)
	defer c.inFlight.Add(-1)
	c.next.ServeHTTP(w, r)
}

// stats is the answer of clnrest-stats. Fields that cannot be read on
// this system (no /proc) are zero.
type stats struct {
	Goroutines           int   `json:"goroutines"`
	RESTRequestsInFlight int64 `json:"rest_requests_in_flight"`
	SocketIOClients      int   `json:"socketio_clients"`
	RSSBytes             int64 `json:"rss_bytes"`
	RSSPeakBytes         int64 `json:"rss_peak_bytes"`
	OpenFDs              int   `json:"open_fds"`
	// RESTFastPathRequests counts requests served by the server's HTTP/1.1
	// fast path; RESTConnectionsHandedOff the connections it gave to
	// net/http (at a request of any other kind).
	RESTFastPathRequests     uint64 `json:"rest_fast_path_requests"`
	RESTConnectionsHandedOff uint64 `json:"rest_connections_handed_off"`
}

// statsMethod declares clnrest-stats: a snapshot of the process for
// operators and for leak checks from outside (soak runs, tests).
func (n *node) statsMethod() plugin.Method {
	return plugin.Method{
		Name:        "clnrest-stats",
		Usage:       "",
		Description: "Show clnrest's goroutines, requests in flight and served by the fast path, Socket.IO clients, memory and open files",
		Handle: func(context.Context, json.RawMessage) (json.RawMessage, error) {
			s := stats{Goroutines: runtime.NumGoroutine()}
			n.mu.Lock()
			counter, hub, srv := n.counter, n.hub, n.srv
			n.mu.Unlock()
			if srv != nil {
				s.RESTFastPathRequests, s.RESTConnectionsHandedOff = srv.Counts()
			}
			if counter != nil {
				s.RESTRequestsInFlight = counter.inFlight.Load()
			}
			if hub != nil {
				s.SocketIOClients = hub.Clients()
			}
			s.RSSBytes, s.RSSPeakBytes = readMemory("/proc/self/status")
			if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
				s.OpenFDs = len(fds) - 1 // less the one ReadDir opened
			}
			out, err := json.Marshal(s)
			if err != nil {
				return nil, fmt.Errorf("encoding clnrest-stats: %w", err)
			}
			return out, nil
		},
	}
}

// readMemory returns VmRSS and VmHWM (resident and peak resident set) in
// bytes from a /proc/<pid>/status file, or zeros when it cannot be read.
func readMemory(path string) (rss, peak int64) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(value)
		if len(fields) != 2 || fields[1] != "kB" {
			continue
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			continue
		}
		switch name {
		case "VmRSS":
			rss = kb << 10
		case "VmHWM":
			peak = kb << 10
		}
	}
	return rss, peak
}
