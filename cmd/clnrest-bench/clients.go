package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/clnrest/clnrest/lnrpc"
)

// restGetinfo is a REST client: POST /v1/getinfo with the rune, on a
// keep-alive connection of client.
func restGetinfo(client *http.Client, base, rune string) request {
	url := base + "/v1/getinfo"
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
		if err != nil {
			return err
		}
		req.Header["Rune"] = []string{rune}
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusCreated {
			return fmt.Errorf("POST /v1/getinfo: status %d", res.StatusCode)
		}
		return err
	}
}

// checkruneParams are the checkrune params clnrest sends for a getinfo
// request with an empty body.
func checkruneParams(rune string) json.RawMessage {
	return json.RawMessage(`{"rune":` + strconv.Quote(rune) + `,"method":"getinfo","params":{}}`)
}

// directPair is the ceiling of our design: the same two calls clnrest
// makes for a request (checkrune, then getinfo streamed), from an lnrpc
// client with clnrest's pool settings, without HTTP in between.
func directPair(rpc *lnrpc.Client, rune string) request {
	check := checkruneParams(rune)
	return func(ctx context.Context) error {
		if _, err := rpc.Call(ctx, "checkrune", check); err != nil {
			return err
		}
		res, err := rpc.Stream(ctx, "getinfo", json.RawMessage(`{}`))
		if err != nil {
			return err
		}
		defer res.Close()
		_, err = io.Copy(io.Discard, res)
		return err
	}
}

// upstreamPattern is the ceiling of upstream's design: checkrune,
// showrunes and the method in sequence, each on a connection of its own,
// dialled for the call and closed after it (a new cln_rpc::ClnRpc per
// call). Dials are not bounded or retried, as upstream's are not, so a
// full listen backlog shows as EAGAIN.
func upstreamPattern(socket, rune string) request {
	check := checkruneParams(rune)
	show := json.RawMessage(`{"rune":` + strconv.Quote(rune) + `}`)
	var buf []byte
	return func(ctx context.Context) error {
		for _, c := range []struct {
			method string
			params json.RawMessage
		}{{"checkrune", check}, {"showrunes", show}, {"getinfo", json.RawMessage(`{}`)}} {
			var err error
			if buf, err = callOnce(ctx, socket, c.method, c.params, buf[:0]); err != nil {
				return err
			}
		}
		return nil
	}
}

// callOnce dials lightning-rpc, sends one request, reads its answer (which
// lightningd ends with a blank line) into buf, and hangs up. An error
// answer is returned as an error.
func callOnce(ctx context.Context, socket, method string, params json.RawMessage, buf []byte) ([]byte, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return buf, fmt.Errorf("%s: %w", method, err)
	}
	defer nc.Close()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(30 * time.Second)
	}
	if err := nc.SetDeadline(deadline); err != nil {
		return buf, err
	}
	req := `{"jsonrpc":"2.0","id":"bench:` + method + `#1","method":"` + method + `","params":` + string(params) + `}`
	if _, err := io.WriteString(nc, req); err != nil {
		return buf, fmt.Errorf("%s: %w", method, err)
	}
	chunk := make([]byte, 4096)
	for !bytes.HasSuffix(buf, []byte("\n\n")) {
		n, err := nc.Read(chunk)
		buf = append(buf, chunk[:n]...)
		if err != nil && !bytes.HasSuffix(buf, []byte("\n\n")) {
			return buf, fmt.Errorf("%s: reading the answer: %w", method, err)
		}
	}
	var answer struct {
		Error json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(buf, &answer); err != nil {
		return buf, fmt.Errorf("%s: %w", method, err)
	}
	if answer.Error != nil {
		return buf, fmt.Errorf("%s: %s", method, answer.Error)
	}
	return buf, nil
}

// rawRequester is a REST client on its own keep-alive connection,
// speaking just enough HTTP/1.1 for this request (see rawClient): it
// costs the load generator a fraction of net/http's client, so that more
// of the machine's two cores measure clnrest. Its connection lives across
// segments of a row until close.
type rawRequester struct {
	srv  *restServer
	rune string
	c    *rawClient
}

func (r *rawRequester) do(context.Context) error {
	if r.c == nil {
		c, err := dialRaw(r.srv.Addr(), r.srv.TLS, "/v1/getinfo", r.rune)
		if err != nil {
			return err
		}
		r.c = c
	}
	// The deadline bounds a request whose answer never comes: the load
	// generator must end by itself.
	if err := r.c.nc.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		r.close()
		return err
	}
	err := expect201(r.c)
	if err != nil {
		r.close()
	}
	return err
}

func (r *rawRequester) close() {
	if r.c != nil {
		r.c.Close()
		r.c = nil
	}
}
