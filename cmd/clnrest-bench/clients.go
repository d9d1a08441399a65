package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
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

// newUpstreamClient returns an lnrpc client that dials a new connection
// for every call and closes it after the answer, as upstream clnrest does
// (a new cln_rpc::ClnRpc per call).
func newUpstreamClient(socket string) *lnrpc.Client {
	return lnrpc.New(socket, lnrpc.Config{MaxConns: 1 << 20, MaxIdle: -1, IdleTimeout: -1})
}

// upstreamPattern is the ceiling of upstream's design: checkrune,
// showrunes and the method in sequence, each on a fresh connection.
func upstreamPattern(rpc *lnrpc.Client, rune string) request {
	check := checkruneParams(rune)
	show := json.RawMessage(`{"rune":` + strconv.Quote(rune) + `}`)
	return func(ctx context.Context) error {
		if _, err := rpc.Call(ctx, "checkrune", check); err != nil {
			return err
		}
		if _, err := rpc.Call(ctx, "showrunes", show); err != nil {
			return err
		}
		_, err := rpc.Call(ctx, "getinfo", json.RawMessage(`{}`))
		return err
	}
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
		c, err := dialRaw(r.srv.Base[strings.Index(r.srv.Base, "://")+3:], r.srv.TLS, "/v1/getinfo", r.rune)
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
