package codec

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// decoder is the common shape of the Decode functions, with the XML root
// bound to "listdatastore" by decoders().
type decoder func(r *strings.Reader, lim Limits) (json.RawMessage, error)

func decoders() map[string]decoder {
	return map[string]decoder{
		"JSON": func(r *strings.Reader, lim Limits) (json.RawMessage, error) { return DecodeJSON(r, lim) },
		"YAML": func(r *strings.Reader, lim Limits) (json.RawMessage, error) { return DecodeYAML(r, lim) },
		"XML": func(r *strings.Reader, lim Limits) (json.RawMessage, error) {
			return DecodeXML(r, "listdatastore", lim)
		},
		"form": func(r *strings.Reader, lim Limits) (json.RawMessage, error) { return DecodeForm(r, lim) },
	}
}

// decodeCase is one row of a decoder table: in decodes to want, or fails
// with an error whose message contains wantErr.
type decodeCase struct {
	name    string
	in      string
	lim     Limits
	want    string
	wantErr string
}

// runDecodeCases runs a decoder table, checking that failures are
// *SyntaxError values naming format.
func runDecodeCases(t *testing.T, format string, cases []decodeCase) {
	t.Helper()
	dec := decoders()[format]
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := dec(strings.NewReader(tc.in), tc.lim)
			if tc.wantErr != "" {
				checkSyntaxError(t, err, format, tc.wantErr)
				return
			}
			if err != nil {
				t.Fatalf("got error %v; want %s", err, tc.want)
			}
			if string(got) != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// checkSyntaxError checks that err is a *SyntaxError for format whose
// message contains want.
func checkSyntaxError(t *testing.T, err error, format, want string) {
	t.Helper()
	se, ok := errors.AsType[*SyntaxError](err)
	if !ok {
		t.Fatalf("got error %v (%T); want a *SyntaxError containing %q", err, err, want)
	}
	if se.Format != format {
		t.Errorf("got Format %q; want %q", se.Format, format)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("got error %q; want it to contain %q", err, want)
	}
}

// encoder is the common shape of the Encode functions, with the XML root
// bound to "listdatastore".
type encoder func(w *bytes.Buffer, in string) error

func encoders() map[string]encoder {
	return map[string]encoder{
		"YAML": func(w *bytes.Buffer, in string) error { return EncodeYAML(w, strings.NewReader(in)) },
		"XML":  func(w *bytes.Buffer, in string) error { return EncodeXML(w, strings.NewReader(in), "listdatastore") },
		"form": func(w *bytes.Buffer, in string) error { return EncodeForm(w, strings.NewReader(in)) },
	}
}

// encodeCase is one row of an encoder table: in (JSON) encodes to exactly
// want, or fails with an error containing wantErr.
type encodeCase struct {
	name    string
	in      string
	want    string
	wantErr string
}

func runEncodeCases(t *testing.T, format string, cases []encodeCase) {
	t.Helper()
	enc := encoders()[format]
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := enc(&out, tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got error %v; want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v; want %q", err, tc.want)
			}
			if out.String() != tc.want {
				t.Errorf("got  %q\nwant %q", out.String(), tc.want)
			}
		})
	}
}

// sameJSON reports whether a and b hold equal JSON values: same types,
// same number texts, same strings, objects equal regardless of order.
func sameJSON(t testing.TB, a, b string) bool {
	t.Helper()
	return reflect.DeepEqual(genericJSON(t, a), genericJSON(t, b))
}

// genericJSON decodes s with numbers as json.Number.
func genericJSON(t testing.TB, s string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decoding %q: %v", s, err)
	}
	return v
}

// compactJSON returns s compacted, for comparing JSON texts.
func compactJSON(t testing.TB, s string) string {
	t.Helper()
	var out bytes.Buffer
	if err := json.Compact(&out, []byte(s)); err != nil {
		t.Fatalf("compacting %q: %v", s, err)
	}
	return out.String()
}
