package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/clnrest/clnrest/lnrpc"
)

// The bare relay is the floor of any gateway on this machine: a process
// of its own, like clnrest, that answers a keep-alive HTTP/1.1 POST by
// making the same two lightning-rpc calls through the same lnrpc client
// (checkrune with the Rune header, then getinfo streamed) and writing the
// result back with a 201. It does nothing else: no routing, content
// negotiation, parameter handling, rune id, logging, deadlines or
// request context, and it accepts only what the raw client sends. Its
// row shows what the machine's system calls and wake-ups between three
// processes cost by themselves, so that the distance from it to clnrest
// is clnrest's own.
//
// The child is this program started again with -serve-relay <socket>; it
// prints "ready <address>" and exits when its stdin closes.

// relayRow names the bare relay's throughput row.
const relayRow = "bare relay (floor)"

// serveRelay is the child: it serves until stdin closes.
func serveRelay(socket string) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("relay: %w", err)
	}
	rpc := lnrpc.New(socket, lnrpc.Config{})
	defer rpc.Close()
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		ln.Close()
	}()
	fmt.Println("ready " + ln.Addr().String())
	return relay(ln, rpc)
}

// relay serves the connections ln accepts until ln is closed.
func relay(ln net.Listener, rpc *lnrpc.Client) error {
	for {
		nc, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("relay: %w", err)
		}
		go relayConn(nc, rpc)
	}
}

// relayConn serves one keep-alive connection until the client closes it
// or sends something the relay does not handle.
func relayConn(nc net.Conn, rpc *lnrpc.Client) {
	defer nc.Close()
	br := bufio.NewReaderSize(nc, 4<<10)
	bw := bufio.NewWriterSize(nc, 4<<10)
	var body bytes.Buffer
	for {
		rune, length, err := readRelayHead(br)
		if err != nil {
			return
		}
		if _, err := br.Discard(length); err != nil {
			return
		}
		status := "201 Created"
		body.Reset()
		if err := relayCall(rpc, rune, &body); err != nil {
			status = "500 Internal Server Error"
			body.Reset()
			body.WriteString(strconv.Quote(err.Error()))
		}
		bw.WriteString("HTTP/1.1 " + status + "\r\nContent-Type: application/json\r\nContent-Length: ")
		bw.WriteString(strconv.Itoa(body.Len()))
		bw.WriteString("\r\n\r\n")
		bw.Write(body.Bytes())
		if bw.Flush() != nil {
			return
		}
	}
}

// readRelayHead reads a request head and returns its Rune and
// Content-Length.
func readRelayHead(br *bufio.Reader) (rune string, length int, err error) {
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return "", 0, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			return rune, length, nil
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue // the request line
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Rune")):
			rune = string(value)
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
				return "", 0, fmt.Errorf("bad Content-Length %q", value)
			}
		}
	}
}

// relayCall makes the two calls and copies getinfo's result into body.
func relayCall(rpc *lnrpc.Client, rune string, body *bytes.Buffer) error {
	ctx := context.Background()
	if _, err := rpc.Call(ctx, "checkrune", checkruneParams(rune)); err != nil {
		return err
	}
	res, err := rpc.Stream(ctx, "getinfo", json.RawMessage(`{}`))
	if err != nil {
		return err
	}
	defer res.Close()
	_, err = body.ReadFrom(res)
	return err
}

// startRelay starts the bare relay in front of the lightning-rpc socket.
func startRelay(socket string) (*restServer, error) {
	proc, addr, err := startChild("bare relay", "-serve-relay", socket)
	if err != nil {
		return nil, err
	}
	stop := func(context.Context) error { return proc.stop(10 * time.Second) }
	return &restServer{Base: "http://" + addr, PID: proc.pid(), stop: stop}, nil
}
