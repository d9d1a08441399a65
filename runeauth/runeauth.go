// Package runeauth decides whether a caller's rune may run a request, by
// asking lightningd's checkrune every time, and turns the answer into the
// HTTP status and error body that clnrest clients expect.
//
// checkrune is never cached: it is stateful in lightningd (it records
// last use, enforces rate= restrictions and sees blacklists as they
// change).
package runeauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"unicode/utf8"

	"github.com/clnrest/clnrest/lnrpc"
)

// Caller is the part of the lightning-rpc client that runeauth needs.
type Caller interface {
	Call(ctx context.Context, method string, params json.RawMessage) (json.RawMessage, error)
}

// Checker runs checkrune for requests.
type Checker struct {
	rpc Caller
}

// NewChecker returns a Checker that asks lightningd through rpc.
func NewChecker(rpc Caller) *Checker { return &Checker{rpc: rpc} }

// Request is what a rune must allow.
type Request struct {
	// Rune is the caller's rune; empty means none was given.
	Rune string
	// NodeID is passed to checkrune as nodeid when not empty, for runes
	// restricted with id=.
	NodeID string
	// Method is the lightningd command the caller wants to run.
	Method string
	// Params are the command's parameters (a JSON object), checked by
	// pname/pnum restrictions. Nil means none are sent.
	Params json.RawMessage
}

// Error is an authorization refusal: the HTTP status and the JSON-RPC
// style error object to send.
type Error struct {
	Status  int
	Code    int64
	Message string
	// Data is lightningd's error data, passed on unchanged when present.
	Data json.RawMessage
}

func (e *Error) Error() string { return e.Message }

// MissingRune is the refusal for a request without a rune, as upstream
// clnrest answers it.
func MissingRune() *Error {
	return &Error{Status: http.StatusForbidden, Code: 1501, Message: "Not authorized: Missing rune"}
}

// Check returns nil if lightningd's checkrune accepts r. A refusal is an
// *Error: 403 for a missing rune, 401 with lightningd's error object for
// anything checkrune rejects (the rune itself redacted from it). Other failures, such as lightningd being
// unreachable, are returned wrapped so that the caller can tell them
// apart (they are never a 401).
func (c *Checker) Check(ctx context.Context, r Request) error {
	if r.Rune == "" {
		return MissingRune()
	}
	res, err := c.rpc.Call(ctx, "checkrune", checkruneParams(r))
	var rpcErr *lnrpc.Error
	if errors.As(err, &rpcErr) {
		e := &Error{Status: http.StatusUnauthorized, Code: rpcErr.Code, Message: Redact(rpcErr.Message, r.Rune)}
		if rpcErr.Data != nil {
			e.Data = json.RawMessage(Redact(string(rpcErr.Data), r.Rune))
		}
		return e
	}
	if err != nil {
		return fmt.Errorf("checking rune for %s: %w", r.Method, err)
	}
	valid, err := validAnswer(res)
	if err != nil {
		return fmt.Errorf("reading checkrune's answer %.200s: %w", res, err)
	}
	if !valid {
		return &Error{Status: http.StatusUnauthorized, Code: 1502, Message: "Rune is not valid"}
	}
	return nil
}

func checkruneParams(r Request) json.RawMessage {
	var b bytes.Buffer
	b.Grow(len(r.Rune) + len(r.Method) + len(r.Params) + 64)
	b.WriteString(`{"rune":`)
	writeString(&b, r.Rune)
	if r.NodeID != "" {
		b.WriteString(`,"nodeid":`)
		writeString(&b, r.NodeID)
	}
	b.WriteString(`,"method":`)
	writeString(&b, r.Method)
	if len(r.Params) > 0 {
		b.WriteString(`,"params":`)
		b.Write(r.Params)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// validAnswer reads checkrune's result, {"valid": true} or false. The
// answer lightningd always sends is recognised without decoding;
// anything else is decoded.
func validAnswer(res json.RawMessage) (bool, error) {
	if isValidTrue(res) {
		return true, nil
	}
	var answer struct {
		Valid bool `json:"valid"`
	}
	if err := json.Unmarshal(res, &answer); err != nil {
		return false, err
	}
	return answer.Valid, nil
}

// isValidTrue reports whether res is exactly {"valid":true}, give or take
// whitespace between tokens.
func isValidTrue(res []byte) bool {
	const want = `{"valid":true}`
	i := 0
	for _, c := range res {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		if i == len(want) || c != want[i] {
			return false
		}
		i++
	}
	return i == len(want)
}

// writeString writes s as a JSON string, escaping as encoding/json does
// (HTML characters included), without allocating.
func writeString(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b.WriteString(s[start:i])
			switch c {
			case '"', '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			case '\t':
				b.WriteString(`\t`)
			case '\b':
				b.WriteString(`\b`)
			case '\f':
				b.WriteString(`\f`)
			default:
				b.WriteString(`\u00`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteString(s[start:i])
			b.WriteString(`\ufffd`)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b.WriteString(s[start:i])
			b.WriteString(`\u202`)
			b.WriteByte(hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b.WriteString(s[start:])
	b.WriteByte('"')
}

// FromHeader returns the rune of an HTTP request: the Rune header, in any
// letter case. An empty header counts as no rune. Two Rune headers are
// refused rather than guessed between, since a proxy and a client could
// disagree on which one counts.
func FromHeader(h http.Header) (string, *Error) {
	values := h.Values("Rune")
	switch {
	case len(values) > 1:
		return "", &Error{Status: http.StatusBadRequest, Code: 1501, Message: "Not authorized: more than one Rune header"}
	case len(values) == 0 || values[0] == "":
		return "", MissingRune()
	}
	return values[0], nil
}
