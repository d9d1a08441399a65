package lnrpc

import "bytes"

// response is the state of reading one response object, member by member,
// without buffering its "result". lightningd writes "jsonrpc" and "id" before
// "result" or "error" (lightningd/jsonrpc.c, json_start), but a plugin's
// response is forwarded verbatim with only its id replaced
// (lightningd/plugin.c, json_stream_forward_change_id), so any member order
// and any whitespace are accepted. Objects without an id that carry a
// "method" are notifications and are skipped.
type response struct {
	want   []byte // the request's id token, exactly as written
	idBuf  []byte // the response's id token
	keyBuf []byte // the current member name, quotes included
	errBuf []byte // the raw "error" value

	inObject   bool // an object was opened and not yet closed
	afterValue bool // a member value was just consumed
	idSeen     bool
	idNull     bool // id was null: lightningd's answer to a request it could not parse
	sawMethod  bool
	sawResult  bool
	sawError   bool
}

// begin resets the state for a new request and records its id.
func (r *response) begin(prefix, method string, id uint64) {
	r.want = appendID(r.want[:0], prefix, method, id)
	r.inObject = false
}

// openObject starts reading the next top-level object.
func (r *response) openObject() {
	r.inObject, r.afterValue = true, false
	r.idSeen, r.idNull, r.sawMethod, r.sawResult, r.sawError = false, false, false, false, false
}

// advance reads the response until the "result" value begins (atResult: the
// reader is at the value's first byte, and advance may be called again once
// the caller has consumed it) or until the response object ends. It returns
// lightningd's error object as *Error, and framing problems as ErrProtocol.
func (cn *conn) advance() (atResult bool, err error) {
	r := &cn.resp
	for {
		if !r.inObject {
			c, err := cn.peekNonSpace()
			if err != nil {
				return false, err
			}
			if c != '{' {
				return false, protocolError("expected a response object, got %q", c)
			}
			_, _ = cn.br.Discard(1)
			r.openObject()
		}
		atResult, ended, err := cn.nextMember()
		if err != nil || atResult {
			return atResult, err
		}
		if !ended {
			continue
		}
		r.inObject = false
		notification, err := r.finish()
		if err != nil || !notification {
			return false, err
		}
	}
}

// nextMember reads the separator after a previous member (if any), then one
// member name and its value. ended reports the closing brace instead.
func (cn *conn) nextMember() (atResult, ended bool, err error) {
	r := &cn.resp
	c, err := cn.peekNonSpace()
	if err != nil {
		return false, false, err
	}
	if c == '}' {
		_, _ = cn.br.Discard(1)
		return false, true, nil
	}
	if r.afterValue {
		if c != ',' {
			return false, false, protocolError("expected ',' or '}' in response, got %q", c)
		}
		_, _ = cn.br.Discard(1)
		if c, err = cn.peekNonSpace(); err != nil {
			return false, false, err
		}
	}
	if c != '"' {
		return false, false, protocolError("expected a member name in response, got %q", c)
	}
	if r.keyBuf, err = cn.readValue(r.keyBuf[:0], true, maxTokenLen); err != nil {
		return false, false, err
	}
	if c, err = cn.peekNonSpace(); err != nil {
		return false, false, err
	}
	if c != ':' {
		return false, false, protocolError("expected ':' after %s, got %q", r.keyBuf, c)
	}
	_, _ = cn.br.Discard(1)
	if _, err = cn.peekNonSpace(); err != nil {
		return false, false, err
	}
	r.afterValue = true
	atResult, err = cn.memberValue()
	return atResult, false, err
}

// memberValue consumes the value of the member named in keyBuf, except for
// "result", where it stops at the value's first byte.
func (cn *conn) memberValue() (atResult bool, err error) {
	r := &cn.resp
	switch string(r.keyBuf) {
	case `"id"`:
		if r.idBuf, err = cn.readValue(r.idBuf[:0], true, maxTokenLen); err != nil {
			return false, err
		}
		r.idSeen = true
		if bytes.Equal(r.idBuf, r.want) {
			return false, nil
		}
		if string(r.idBuf) == "null" {
			r.idNull = true
			return false, nil
		}
		return false, protocolError("response id %s does not match request id %s", r.idBuf, r.want)
	case `"result"`:
		if r.sawResult || r.sawError || r.idNull {
			return false, protocolError("unexpected result in response to %s", r.want)
		}
		r.sawResult = true
		return true, nil
	case `"error"`:
		if r.sawError || r.sawResult {
			return false, protocolError("unexpected error in response to %s", r.want)
		}
		r.sawError = true
		r.errBuf, err = cn.readValue(r.errBuf[:0], true, 0)
		return false, err
	case `"method"`:
		r.sawMethod = true
	}
	_, err = cn.readValue(nil, false, 0)
	return false, err
}

// finish judges a complete top-level object: a notification to skip, a
// response with a result, or lightningd's error.
func (r *response) finish() (notification bool, err error) {
	switch {
	case !r.idSeen && r.sawMethod && !r.sawResult && !r.sawError:
		return true, nil
	case !r.idSeen:
		return false, protocolError("response to %s has no id", r.want)
	case r.sawError:
		// An error with a null id is lightningd refusing a request it could
		// not parse; it closes the connection after it, so the caller sees
		// the error and the connection is discarded (see broken).
		return false, parseErrorAt(r.errBuf)
	case r.idNull:
		return false, protocolError("response to %s has a null id", r.want)
	case !r.sawResult:
		return false, protocolError("response to %s has neither result nor error", r.want)
	}
	return false, nil
}

// broken reports whether the connection must be discarded even though the
// last response was read completely.
func (r *response) broken() bool {
	return r.idNull
}

// parseErrorAt returns lightningd's error object as an error: *Error when it
// decodes, an ErrProtocol error otherwise.
func parseErrorAt(raw []byte) error {
	e, err := parseError(raw)
	if err != nil {
		return err
	}
	return e
}
