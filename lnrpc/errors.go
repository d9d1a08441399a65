package lnrpc

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// ErrUnavailable marks every failure to reach lightningd: the socket is
// missing, nobody accepts on it, or a connection broke before the whole
// response arrived. Callers test for it with errors.Is; the REST layer maps it
// to 503 rather than to an authorization or method error. The wrapping error
// names the operation, the method and the socket path, and also wraps the
// underlying cause (for example syscall.ECONNREFUSED).
var ErrUnavailable = errors.New("lightningd unavailable")

// UnavailableMessage is what clients are told when a call fails with
// ErrUnavailable: the REST answer's and the Socket.IO refusal's message,
// the same whichever way they came. The detail (socket path, cause) is
// logged, not sent.
const UnavailableMessage = "lightningd is unavailable: its RPC socket cannot be reached; try again later"

// ErrProtocol marks a response that breaks the JSON-RPC framing: malformed
// JSON, an id that does not match the request, a response with neither
// "result" nor "error". The connection it arrived on is discarded.
var ErrProtocol = errors.New("lightning-rpc protocol violation")

// ErrClosed is returned by calls made after Client.Close, and by calls that
// were in flight when Close ran. Those errors wrap ErrUnavailable too: to
// the caller, a client closed for shutdown is a lightningd it cannot reach
// (the REST layer answers 503 rather than 500).
var ErrClosed = errors.New("lnrpc client closed")

// errResultClosed is returned by Result.Read after Result.Close.
var errResultClosed = errors.New("lnrpc: read from closed result")

// Error is lightningd's JSON-RPC error object, kept whole: Code and Message as
// sent, Data as the exact raw JSON (nil when lightningd sent none). Call and
// Stream return it as *Error, unwrapped, because it is lightningd's answer
// rather than a failure of the client: the REST layer serialises it unchanged
// (json.Marshal of an *Error yields {"code","message"} plus "data" when
// present).
type Error struct {
	Code    int64           `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// Error formats the code and message; Data is left out of the text because it
// can be large.
func (e *Error) Error() string {
	return "lightningd error " + strconv.FormatInt(e.Code, 10) + ": " + e.Message
}

// parseError decodes a raw "error" value. Code is decoded straight into an
// int64, never through float64.
func parseError(raw []byte) (*Error, error) {
	if len(raw) == 0 || raw[0] != '{' {
		return nil, protocolError("error value %.200q is not an object", raw)
	}
	var e Error
	if err := json.Unmarshal(raw, &e); err != nil {
		return nil, fmt.Errorf("%w: decoding error object %.200q: %w", ErrProtocol, raw, err)
	}
	return &e, nil
}

// protocolError builds an ErrProtocol error with a description.
func protocolError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrProtocol}, args...)...)
}
