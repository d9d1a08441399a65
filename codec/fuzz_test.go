package codec

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// The fuzz targets run their seeds from testdata/fuzz/<name>/ as ordinary
// tests; run one with go test -fuzz=FuzzDecodeYAML ./codec to search further.

func FuzzDecodeJSON(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := DecodeJSON(bytes.NewReader(data), Limits{})
		if err != nil {
			return
		}
		checkParams(t, got)
		cleaned, err := RemoveNulls(got)
		if err != nil {
			t.Fatalf("RemoveNulls(%s): %v", got, err)
		}
		checkParams(t, cleaned)
		checkEncoders(t, got)
	})
}

func FuzzDecodeYAML(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := DecodeYAML(bytes.NewReader(data), Limits{})
		if err != nil {
			return
		}
		checkParams(t, got)
		checkEncoders(t, got)
	})
}

func FuzzDecodeXML(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := DecodeXML(bytes.NewReader(data), "m", Limits{})
		if err != nil {
			return
		}
		checkParams(t, got)
		var out bytes.Buffer
		if err := EncodeXML(&out, bytes.NewReader(got), "m"); err != nil {
			t.Fatalf("EncodeXML(%s): %v", got, err)
		}
		checkWellFormed(t, out.Bytes())
		if _, err := DecodeXML(&out, "m", Limits{}); err != nil {
			t.Fatalf("DecodeXML(EncodeXML(%s)) = %q: %v", got, out.String(), err)
		}
	})
}

func FuzzDecodeForm(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := DecodeForm(bytes.NewReader(data), Limits{})
		if err != nil {
			return
		}
		checkParams(t, got)
		var out bytes.Buffer
		if err := EncodeForm(&out, bytes.NewReader(got)); err != nil {
			t.Fatalf("EncodeForm(%s): %v", got, err)
		}
		back, err := DecodeForm(bytes.NewReader(out.Bytes()), Limits{})
		if err != nil {
			t.Fatalf("DecodeForm(%q), encoded from %s: %v", out.String(), got, err)
		}
		// Form values are strings; null (a name without =) comes back "".
		want := nullsToEmpty(genericJSON(t, string(got)))
		if !reflect.DeepEqual(genericJSON(t, string(back)), want) {
			t.Fatalf("form round trip: got %s from %q; want %s", back, out.String(), got)
		}
	})
}

// checkParams fails t unless params is one valid JSON object.
func checkParams(t *testing.T, params json.RawMessage) {
	t.Helper()
	if !json.Valid(params) || len(params) == 0 || params[0] != '{' {
		t.Fatalf("decoder returned %q; want a JSON object", params)
	}
}

// checkEncoders encodes params in every format: YAML must round-trip
// exactly, XML must be well-formed, form must encode.
func checkEncoders(t *testing.T, params json.RawMessage) {
	t.Helper()
	var out bytes.Buffer
	if err := EncodeYAML(&out, bytes.NewReader(params)); err != nil {
		t.Fatalf("EncodeYAML(%s): %v", params, err)
	}
	back, err := DecodeYAML(bytes.NewReader(out.Bytes()), Limits{})
	if err != nil {
		t.Fatalf("DecodeYAML(%q), encoded from %s: %v", out.String(), params, err)
	}
	if !sameJSON(t, string(back), string(params)) {
		t.Fatalf("YAML round trip: got %s from %q; want %s", back, out.String(), params)
	}
	out.Reset()
	if err := EncodeXML(&out, bytes.NewReader(params), "m"); err != nil {
		t.Fatalf("EncodeXML(%s): %v", params, err)
	}
	checkWellFormed(t, out.Bytes())
	out.Reset()
	if err := EncodeForm(&out, bytes.NewReader(params)); err != nil {
		t.Fatalf("EncodeForm(%s): %v", params, err)
	}
}

// nullsToEmpty replaces every null in a decoded JSON value with "".
func nullsToEmpty(v any) any {
	switch v := v.(type) {
	case nil:
		return ""
	case []any:
		for i := range v {
			v[i] = nullsToEmpty(v[i])
		}
	case map[string]any:
		for k := range v {
			v[k] = nullsToEmpty(v[k])
		}
	}
	return v
}
