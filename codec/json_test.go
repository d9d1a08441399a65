package codec

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"testing/iotest"
)

func TestDecodeJSON(t *testing.T) {
	runDecodeCases(t, "JSON", []decodeCase{
		{name: "contract example", in: `{"key": ["project"]}`, want: `{"key":["project"]}`},
		{name: "empty body", in: "", want: `{}`},
		{name: "white space body", in: " \r\n\t", want: `{}`},
		{name: "empty object", in: `{}`, want: `{}`},
		{name: "big integers stay exact",
			in:   `{"a": 18446744073709551615, "b": -9007199254740993, "c": 1.5e300, "d": 123456789012345678901234567890}`,
			want: `{"a":18446744073709551615,"b":-9007199254740993,"c":1.5e300,"d":123456789012345678901234567890}`},
		{name: "nulls are kept for RemoveNulls", in: `{"a": null}`, want: `{"a":null}`},
		{name: "nested arrays of objects", in: `{"a": [{"b": [{"c": 1}]}, [], {}]}`, want: `{"a":[{"b":[{"c":1}]},[],{}]}`},
		{name: "escapes and unicode as written", in: `{"s": "\u00e9 é \n \" <&>"}`, want: `{"s":"\u00e9 é \n \" <&>"}`},
		{name: "same key in sibling objects", in: `{"a": {"x": 1}, "b": {"x": 2}}`, want: `{"a":{"x":1},"b":{"x":2}}`},
		{name: "array", in: `["a"]`, wantErr: "must be an object of named params, not an array"},
		{name: "string", in: `"a"`, wantErr: "not a string"},
		{name: "null", in: `null`, wantErr: "not null"},
		{name: "broken", in: `{"a": }`, wantErr: "invalid character"},
		{name: "truncated", in: `{"a": [1, 2`, wantErr: "unexpected EOF"},
		{name: "trailing data", in: `{} {}`, wantErr: "after the top-level value"},
		{name: "trailing garbage", in: `{}x`, wantErr: "invalid character"},
		{name: "invalid UTF-8", in: "{\"a\": \"\xff\"}", wantErr: "not valid UTF-8"},
		{name: "duplicate key", in: `{"a": 1, "a": 2}`, wantErr: `duplicate key "a"`},
		{name: "nested duplicate key", in: `{"a": [{"b": 1, "b": 1}]}`, wantErr: `duplicate key "b"`},
		{name: "depth within limit", in: `{"a": {"b": [1]}}`, lim: Limits{MaxDepth: 3}, want: `{"a":{"b":[1]}}`},
		{name: "depth over limit", in: `{"a": {"b": [[1]]}}`, lim: Limits{MaxDepth: 3}, wantErr: "too many levels of nesting (at most 3 allowed)"},
		{name: "default depth", in: `{"a":` + strings.Repeat("[", 64) + strings.Repeat("]", 64) + `}`, wantErr: "at most 64"},
		{name: "keys within limit", in: `{"a": [1, 2], "b": 3}`, lim: Limits{MaxKeys: 4}, want: `{"a":[1,2],"b":3}`},
		{name: "keys over limit", in: `{"a": [1, 2, 3], "b": 3}`, lim: Limits{MaxKeys: 4}, wantErr: "too many keys and values (at most 4 allowed)"},
	})
}

func TestDecodeLimitErrorType(t *testing.T) {
	for format, dec := range decoders() {
		t.Run(format, func(t *testing.T) {
			in := map[string]string{
				"JSON": `{"a": [[1]]}`,
				"YAML": "a: [[1]]",
				"XML":  "<listdatastore><a><b><c>1</c></b></a></listdatastore>",
				"form": "a[b][c]=1",
			}[format]
			_, err := dec(strings.NewReader(in), Limits{MaxDepth: 2})
			le, ok := errors.AsType[*LimitError](err)
			if !ok {
				t.Fatalf("got %v; want a *LimitError", err)
			}
			if le.Limit != "depth" || le.Max != 2 {
				t.Errorf("got %+v; want depth limit 2", le)
			}
		})
	}
}

func TestDecodeReadError(t *testing.T) {
	readErr := errors.New("body too large")
	calls := map[string]func() error{
		"JSON": func() error { _, err := DecodeJSON(iotest.ErrReader(readErr), Limits{}); return err },
		"YAML": func() error { _, err := DecodeYAML(iotest.ErrReader(readErr), Limits{}); return err },
		"XML":  func() error { _, err := DecodeXML(iotest.ErrReader(readErr), "x", Limits{}); return err },
		"form": func() error { _, err := DecodeForm(iotest.ErrReader(readErr), Limits{}); return err },
	}
	for format, call := range calls {
		t.Run(format, func(t *testing.T) {
			err := call()
			if !errors.Is(err, readErr) {
				t.Fatalf("got %v; want it to wrap the read error", err)
			}
			if _, ok := errors.AsType[*SyntaxError](err); ok {
				t.Errorf("got a *SyntaxError for a read failure: %v", err)
			}
		})
	}
}

func TestRemoveNulls(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"top-level member", `{"a":null,"b":1}`, `{"b":1}`},
		{"only member", `{"a":null}`, `{}`},
		{"last member", `{"b":1,"a":null}`, `{"b":1}`},
		{"nested", `{"a":{"b":null,"c":{"d":null}}}`, `{"a":{"c":{}}}`},
		{"in array of objects", `{"a":[{"b":null,"c":1},{"b":null}]}`, `{"a":[{"c":1},{}]}`},
		{"array elements stay", `{"a":[null,1,null]}`, `{"a":[null,1,null]}`},
		{"numbers exact", `{"a":18446744073709551615,"b":-9007199254740993,"c":1.5e300,"n":null}`,
			`{"a":18446744073709551615,"b":-9007199254740993,"c":1.5e300}`},
		{"strings re-escaped", `{"s":"<&>\u0001\"\\\n","n":null}`, `{"s":"<&>\u0001\"\\\n"}`},
		{"unicode", `{"s":"é😀","n":null}`, `{"s":"é😀"}`},
		{"booleans", `{"t":true,"f":false}`, `{"t":true,"f":false}`},
		{"white space", " { \"a\" : [ 1 , null ] } ", `{"a":[1,null]}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := RemoveNulls(json.RawMessage(tc.in))
			if err != nil {
				t.Fatalf("got error %v; want %s", err, tc.want)
			}
			if string(got) != tc.want {
				t.Errorf("got %s; want %s", got, tc.want)
			}
		})
	}
	for _, bad := range []string{``, `{`, `{"a":1}x`, `{"a":}`} {
		t.Run("invalid "+bad, func(t *testing.T) {
			if got, err := RemoveNulls(json.RawMessage(bad)); err == nil {
				t.Errorf("got %s; want an error", got)
			}
		})
	}
}
