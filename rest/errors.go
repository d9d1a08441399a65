package rest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/clnrest/clnrest/codec"
	"github.com/clnrest/clnrest/lnrpc"
	"github.com/clnrest/clnrest/runeauth"
)

// JSON-RPC error codes of the errors clnrest itself answers.
const (
	codeParseError     = -32700 // a body that does not parse
	codeInvalidRequest = -32600 // unsupported format, body too large
	codeMethodNotFound = -32601 // routing errors, as upstream clnrest
	codeInvalidParams  = -32602 // conflicting params
	codeInternal       = -32603 // lightningd unreachable, our own faults
)

// Error is an error with the HTTP status and error object to answer.
// Every error response is a JSON object {"code", "message"[, "data"]}.
type Error struct {
	Status  int
	Code    int64
	Message string
	Data    json.RawMessage
}

func (e *Error) Error() string { return e.Message }

func newError(status int, code int64, msg string) *Error {
	return &Error{Status: status, Code: code, Message: msg}
}

// errorBody is the JSON shape of every error response.
type errorBody struct {
	Code    int64           `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// classify maps any error of a request to the status and body to send.
// This is the only place where errors become statuses.
func classify(err error) *Error {
	var (
		apiErr   *Error
		authErr  *runeauth.Error
		rpcErr   *lnrpc.Error
		tooLarge *http.MaxBytesError
		bodyErr  *codec.SyntaxError
		limitErr *codec.LimitError
	)
	switch {
	case errors.As(err, &apiErr):
		return apiErr
	case errors.As(err, &authErr):
		return &Error{Status: authErr.Status, Code: authErr.Code, Message: authErr.Message, Data: authErr.Data}
	case errors.As(err, &rpcErr):
		status := http.StatusInternalServerError
		if rpcErr.Code == codeMethodNotFound {
			status = http.StatusNotFound
		}
		return &Error{Status: status, Code: rpcErr.Code, Message: rpcErr.Message, Data: rpcErr.Data}
	case errors.Is(err, lnrpc.ErrUnavailable):
		return newError(http.StatusServiceUnavailable, codeInternal, lnrpc.UnavailableMessage)
	case errors.As(err, &tooLarge):
		return newError(http.StatusRequestEntityTooLarge, codeInvalidRequest,
			"Request body is larger than the limit of "+strconv.FormatInt(tooLarge.Limit, 10)+" bytes (clnrest-max-body)")
	case errors.As(err, &bodyErr):
		return newError(http.StatusBadRequest, codeParseError, bodyErr.Error())
	case errors.As(err, &limitErr):
		return newError(http.StatusBadRequest, codeInvalidRequest, "request body refused: "+limitErr.Error())
	default:
		return newError(http.StatusInternalServerError, codeInternal, "internal error: "+err.Error())
	}
}

// writeError answers a request with err's status and error object. A
// request whose client has gone away gets nothing.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return
	}
	e := redactRunes(r, classify(err))
	if e.Status >= 500 {
		h.log.Warn("request failed", "path", routePath(r), "status", e.Status, "err", redactRunesIn(r, err.Error()))
	}
	writeJSONError(w, e)
}

// redactRunes returns e with every Rune header value of r replaced by
// "<rune>" in its message and data, so that no error a client receives
// or that is logged ever repeats a rune, whatever lightningd's message
// holds.
func redactRunes(r *http.Request, e *Error) *Error {
	msg, data := redactRunesIn(r, e.Message), json.RawMessage(redactRunesIn(r, string(e.Data)))
	if msg == e.Message && string(data) == string(e.Data) {
		return e
	}
	out := *e
	out.Message = msg
	if e.Data != nil {
		out.Data = data
	}
	return &out
}

func redactRunesIn(r *http.Request, s string) string {
	for _, v := range r.Header.Values("Rune") {
		s = runeauth.Redact(s, v)
	}
	return s
}

func writeJSONError(w http.ResponseWriter, e *Error) {
	body, mErr := json.Marshal(errorBody{Code: e.Code, Message: e.Message, Data: e.Data})
	if mErr != nil { // Data was not valid JSON: drop it rather than the error
		body, _ = json.Marshal(errorBody{Code: e.Code, Message: e.Message})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Del("Content-Length")
	w.WriteHeader(e.Status)
	w.Write(body)
}
