package runeauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/clnrest/clnrest/lnrpc"
)

// checkrune answers like lightningd's checkrune would, and records what
// it was asked.
type checkrune struct {
	result json.RawMessage
	err    error
	got    json.RawMessage
}

func (c *checkrune) Call(_ context.Context, method string, params json.RawMessage) (json.RawMessage, error) {
	if method != "checkrune" {
		return nil, errors.New("unexpected method " + method)
	}
	c.got = params
	return c.result, c.err
}

func TestCheck(t *testing.T) {
	unavailable := fmt.Errorf("lnrpc checkrune: dial /x/lightning-rpc: %w: %w", lnrpc.ErrUnavailable, errors.New("refused"))
	tests := []struct {
		name       string
		req        Request
		result     string
		rpcErr     error
		wantParams string
		wantStatus int
		wantCode   int64
		wantMsg    string
		wantData   string
		wantOther  error
	}{
		{name: "valid", req: Request{Rune: "r1", Method: "getinfo", Params: json.RawMessage(`{}`)}, result: `{"valid":true}`,
			wantParams: `{"rune":"r1","method":"getinfo","params":{}}`},
		{name: "nodeid and params", req: Request{Rune: "r", NodeID: "02ab", Method: "pay", Params: json.RawMessage(`{"amount_msat":18446744073709551615}`)}, result: `{"valid":true}`,
			wantParams: `{"rune":"r","nodeid":"02ab","method":"pay","params":{"amount_msat":18446744073709551615}}`},
		{name: "no params", req: Request{Rune: "r", Method: "listclnrest-notifications"}, result: `{"valid":true}`,
			wantParams: `{"rune":"r","method":"listclnrest-notifications"}`},
		{name: "missing rune", req: Request{Method: "getinfo"}, wantStatus: 403, wantCode: 1501, wantMsg: "Not authorized: Missing rune"},
		{name: "not derived", req: Request{Rune: "r", Method: "getinfo"}, rpcErr: &lnrpc.Error{Code: 1501, Message: "Not authorized: Not derived from master"},
			wantStatus: 401, wantCode: 1501, wantMsg: "Not authorized: Not derived from master"},
		{name: "restricted keeps data", req: Request{Rune: "r", Method: "getinfo"}, rpcErr: &lnrpc.Error{Code: 1502, Message: "Not permitted: method is equal to getinfo", Data: json.RawMessage(`{"x":1}`)},
			wantStatus: 401, wantCode: 1502, wantMsg: "Not permitted: method is equal to getinfo", wantData: `{"x":1}`},
		{name: "valid false", req: Request{Rune: "r", Method: "getinfo"}, result: `{"valid":false}`, wantStatus: 401, wantCode: 1502, wantMsg: "Rune is not valid"},
		{name: "valid, as lightningd formats it", req: Request{Rune: "r", Method: "getinfo"}, result: "{\n   \"valid\": true\n}"},
		{name: "valid with more members", req: Request{Rune: "r", Method: "getinfo"}, result: `{"valid":true,"note":"x"}`},
		{name: "valid false, formatted", req: Request{Rune: "r", Method: "getinfo"}, result: "{ \"valid\" : false }", wantStatus: 401, wantCode: 1502, wantMsg: "Rune is not valid"},
		{name: "valid missing", req: Request{Rune: "r", Method: "getinfo"}, result: `{}`, wantStatus: 401, wantCode: 1502, wantMsg: "Rune is not valid"},
		{name: "answer not JSON", req: Request{Rune: "r", Method: "getinfo"}, result: `{"valid":tru`, wantOther: errAny},
		{name: "rune with characters to escape", req: Request{Rune: "a\"b\\c<&>\x01\u2028\xff", Method: "getinfo"}, result: `{"valid":true}`,
			wantParams: `{"rune":"a\"b\\c\u003c\u0026\u003e\u0001\u2028\ufffd","method":"getinfo"}`},
		{name: "unavailable is not 401", req: Request{Rune: "r", Method: "getinfo"}, rpcErr: unavailable, wantOther: lnrpc.ErrUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rpc := &checkrune{result: json.RawMessage(tc.result), err: tc.rpcErr}
			err := NewChecker(rpc).Check(context.Background(), tc.req)
			if tc.wantParams != "" && string(rpc.got) != tc.wantParams {
				t.Errorf("checkrune params: got %s; want %s", rpc.got, tc.wantParams)
			}
			if tc.wantOther != nil {
				var ae *Error
				if err == nil || (tc.wantOther != errAny && !errors.Is(err, tc.wantOther)) || errors.As(err, &ae) {
					t.Fatalf("got %v; want an error wrapping %v and no auth refusal", err, tc.wantOther)
				}
				return
			}
			if tc.wantStatus == 0 {
				if err != nil {
					t.Fatalf("got %v; want nil", err)
				}
				return
			}
			var ae *Error
			if !errors.As(err, &ae) {
				t.Fatalf("got %v; want *Error", err)
			}
			if ae.Status != tc.wantStatus || ae.Code != tc.wantCode || ae.Message != tc.wantMsg || string(ae.Data) != tc.wantData {
				t.Errorf("got %d %d %q %s; want %d %d %q %s", ae.Status, ae.Code, ae.Message, ae.Data, tc.wantStatus, tc.wantCode, tc.wantMsg, tc.wantData)
			}
		})
	}
}

// errAny stands for any error that is not an auth refusal.
var errAny = errors.New("any error")

// checkWriteString fails t unless writeString(s) is what encoding/json
// writes.
func checkWriteString(t testing.TB, s string) {
	t.Helper()
	var b bytes.Buffer
	writeString(&b, s)
	want, _ := json.Marshal(s)
	if b.String() != string(want) {
		t.Errorf("writeString(%q) = %s; want %s", s, b.String(), want)
	}
}

func TestWriteStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `"quoted" \back`, "<html>&amp;", "ctl\x00\x1f\x7f\t\n\r", "é€😀", "\u2028\u2029", "bad\xff\xfe utf8", "\xe2\x82"} {
		checkWriteString(t, s)
	}
}

func FuzzWriteString(f *testing.F) {
	f.Add("rune\x00<\u2028\xff")
	f.Fuzz(func(t *testing.T, s string) { checkWriteString(t, s) })
}

func TestFromHeader(t *testing.T) {
	tests := []struct {
		name       string
		header     http.Header
		want       string
		wantStatus int
	}{
		{"canonical", http.Header{"Rune": {"abc"}}, "abc", 0},
		{"missing", http.Header{}, "", 403},
		{"empty", http.Header{"Rune": {""}}, "", 403},
		{"two", http.Header{"Rune": {"a", "b"}}, "", 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FromHeader(tc.header)
			if tc.wantStatus != 0 {
				if err == nil || err.Status != tc.wantStatus {
					t.Fatalf("got %q %v; want status %d", got, err, tc.wantStatus)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %q %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestUniqueID(t *testing.T) {
	tests := []struct {
		name, rune, want string
		wantOK           bool
	}{
		// Runes from lightningd's documentation (doc/schemas/createrune.json).
		{"id 0", "zFMd1fjhrAYxUeFA54TjloZqOt8JrA_i_nYwIgXkag49MA==", "0", true},
		{"restricted", mustRune("=2&method=getinfo"), "2", true},
		{"version", mustRune("=17-1&method^list"), "17", true},
		{"unpadded", trimPad(mustRune("=5&pnum=0")), "5", true},
		{"no unique id", mustRune("method=getinfo"), "", false},
		{"not base64", "!!!", "", false},
		{"too short", "AAAA", "", false},
		{"alternatives are not an id", mustRune("=1|method=x"), "", false},
		// Beyond the decoding buffers on the stack.
		{"long", mustRune("=42&method=" + strings.Repeat("x", 1000)), "42", true},
		{"long unpadded", trimPad(mustRune("=43&method=" + strings.Repeat("y", 1001))), "43", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := UniqueID(tc.rune)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("UniqueID(%q): got %q %v; want %q %v", tc.rune, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

// TestCheckRedactsTheRune: a checkrune refusal that quotes the rune (as
// parse errors can) never carries it on to clients or logs.
func TestCheckRedactsTheRune(t *testing.T) {
	const rune = "OSqc7ixY6F-gjcigBfxtzKUI54uzgFSA6YfBQoWGDV89MA=="
	rpc := &checkrune{err: &lnrpc.Error{Code: -32602, Message: "rune: " + rune + " is bad, also " + rune[:len(rune)-2], Data: json.RawMessage(`{"rune":"` + rune + `"}`)}}
	err := NewChecker(rpc).Check(context.Background(), Request{Rune: rune, Method: "getinfo"})
	var ae *Error
	if !errors.As(err, &ae) {
		t.Fatalf("got %v; want *Error", err)
	}
	if got, want := ae.Message, "rune: <rune> is bad, also <rune>"; got != want {
		t.Errorf("message: got %q; want %q", got, want)
	}
	if got, want := string(ae.Data), `{"rune":"<rune>"}`; got != want {
		t.Errorf("data: got %s; want %s", got, want)
	}
}

func TestLogID(t *testing.T) {
	tests := []struct{ name, rune, want string }{
		{"decimal id", mustRune("=17&method=getinfo"), "17"},
		{"no id", mustRune("method=getinfo"), "unknown"},
		{"not a rune", "!!!", "unknown"},
		{"too long", mustRune("=" + strings.Repeat("9", 65)), "unknown"},
		{"longest kept", mustRune("=" + strings.Repeat("9", 64)), strings.Repeat("9", 64)},
		{"control byte", mustRune("=1\x1b[31m"), "unknown"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := LogID(tc.rune); got != tc.want {
				t.Errorf("LogID: got %q; want %q", got, tc.want)
			}
		})
	}
}
