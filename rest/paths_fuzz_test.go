package rest

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// FuzzPaths registers an arbitrary clnrest-register-path params value
// beside upstream's test registrations, then matches an arbitrary request
// path and HTTP method. Nothing may panic; a refusal is a *RegisterError;
// a successful registration must be found again by its own path (as a
// client would send it, see requestPathFor) and HTTP method; a match must name a registered rpc method, and only a
// registration without rune may skip the rune, only for GET. Seeds are in
// testdata/fuzz/FuzzPaths/.
func FuzzPaths(f *testing.F) {
	f.Fuzz(func(t *testing.T, params, path, httpMethod string) {
		p := registered(t)
		reg, err := p.Register(json.RawMessage(params))
		var re *RegisterError
		switch {
		case err != nil && !errors.As(err, &re):
			t.Fatalf("Register(%s): got %T %v; want *RegisterError", params, err, err)
		case err == nil:
			rt, ok, merr := p.Match(requestPathFor(reg.Path), reg.HTTPMethod)
			if !ok || merr != nil || rt.Method != reg.RPCMethod {
				t.Fatalf("Register(%s) = %+v, but Match of its own path: got %+v %v %v", params, reg, rt, ok, merr)
			}
		}
		rt, ok, merr := p.Match(path, httpMethod)
		if !ok {
			return
		}
		if merr != nil {
			var apiErr *Error
			if !errors.As(merr, &apiErr) || apiErr.Status != http.StatusMethodNotAllowed {
				t.Fatalf("Match(%q, %q): got error %v; want a 405", path, httpMethod, merr)
			}
			return
		}
		if !slices.ContainsFunc(p.List(), func(r Registration) bool { return r.RPCMethod == rt.Method && r.HTTPMethod == httpMethod }) {
			t.Fatalf("Match(%q, %q) = %+v: no registration has that rpc and HTTP method", path, httpMethod, rt)
		}
		if !rt.RuneRequired && httpMethod != http.MethodGet {
			t.Fatalf("Match(%q, %q) = %+v: a rune can only be skipped on GET", path, httpMethod, rt)
		}
	})
}

// requestPathFor is a request path a client can send to reach a
// registered path: static text as registered, and each "{name}" capture
// sent percent-encoded, so that its value is "{name}" itself even when the
// name is not valid percent-encoding ("{%}" found by the fuzzer).
func requestPathFor(registered string) string {
	segs := strings.Split(registered, "/")
	for i, seg := range segs {
		if open, end := strings.IndexByte(seg, '{'), strings.IndexByte(seg, '}'); open >= 0 && end > open {
			segs[i] = seg[:open] + url.PathEscape(seg[open:end+1]) + seg[end+1:]
		}
	}
	return "/" + strings.Join(segs, "/")
}
