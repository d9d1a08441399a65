package codec

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// referenceTokens reads one JSON value with encoding/json, as the reference
// the tokenReader must agree with.
func referenceTokens(data []byte) ([]token, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var toks []token
	for depth := 0; ; {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		toks = append(toks, referenceToken(tok))
		if depth += depthChange(toks[len(toks)-1]); depth == 0 {
			break
		}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("trailing data")
	}
	return toks, nil
}

func referenceToken(tok json.Token) token {
	switch v := tok.(type) {
	case json.Delim:
		return token{kind: map[json.Delim]tokenKind{'{': tokBeginObject, '}': tokEndObject, '[': tokBeginArray, ']': tokEndArray}[v]}
	case string:
		return token{kind: tokString, text: v}
	case json.Number:
		return token{kind: tokNumber, text: string(v)}
	case bool:
		if v {
			return token{kind: tokTrue}
		}
		return token{kind: tokFalse}
	}
	return token{kind: tokNull}
}

// depthChange is how a token changes the nesting depth.
func depthChange(tok token) int {
	switch tok.kind {
	case tokBeginObject, tokBeginArray:
		return 1
	case tokEndObject, tokEndArray:
		return -1
	}
	return 0
}

// ourTokens reads one JSON value with tokenReader.
func ourTokens(r io.Reader) ([]token, error) {
	t := newTokenReader(r)
	var toks []token
	for depth := 0; ; {
		tok, err := t.next()
		if err != nil {
			return nil, err
		}
		toks = append(toks, tok)
		if depth += depthChange(tok); depth == 0 {
			break
		}
	}
	return toks, t.end()
}

// FuzzTokenReader checks tokenReader against encoding/json: both accept or
// both refuse, and when they accept, they see the same tokens. Input is also
// fed a byte at a time, to cross every buffer boundary.
func FuzzTokenReader(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		want, wantErr := referenceTokens(data)
		got, err := ourTokens(bytes.NewReader(data))
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("input %q: got error %v; encoding/json says %v", data, err, wantErr)
		}
		if err == nil && !equalTokens(got, want) {
			t.Fatalf("input %q: got %v; want %v", data, got, want)
		}
		slow, err := ourTokens(iotest.OneByteReader(bytes.NewReader(data)))
		if (err == nil) != (wantErr == nil) || err == nil && !equalTokens(slow, want) {
			t.Fatalf("input %q read a byte at a time: got %v, %v; want %v, %v", data, slow, err, want, wantErr)
		}
	})
}

func equalTokens(a, b []token) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestTokenReaderStrings(t *testing.T) {
	cases := []struct{ in, want string }{
		{`"plain"`, "plain"},
		{`"\"\\\/\b\f\n\r\t"`, "\"\\/\b\f\n\r\t"},
		{`"\u00e9\u20AC"`, "é€"},
		{`"\ud83d\ude00"`, "😀"},
		{`"\ud83d"`, "\uFFFD"},
		{`"\ud83dx"`, "\uFFFDx"},
		{`"\ud83d\u0041"`, "\uFFFDA"},
		{`"\ude00"`, "\uFFFD"},
		{"\"\xff\"", "\uFFFD"},
		{"\"é😀\"", "é😀"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			toks, err := ourTokens(strings.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if toks[0].text != tc.want {
				t.Errorf("got %q; want %q", toks[0].text, tc.want)
			}
		})
	}
}

func TestTokenReaderErrors(t *testing.T) {
	for _, in := range []string{``, ` `, `{`, `[1,]`, `{"a"}`, `{"a":1,}`, `{1:2}`, `[1 2]`, `01`, `1.`, `-`, `1e`, `+1`, `.5`,
		`tru`, `nul`, `falsey`, `"a`, "\"\x01\"", `"\x"`, `"\u12"`, `"\u12g4"`, `]`, `[}`, `{]`, `1 2`, `{}}`} {
		t.Run(in, func(t *testing.T) {
			if toks, err := ourTokens(strings.NewReader(in)); err == nil {
				t.Errorf("got %v; want an error", toks)
			}
		})
	}
}
