package lnrpc

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// scanChunks feeds chunks to a fresh scanner and returns the value's length.
func scanChunks(chunks [][]byte) (n int, done bool, err error) {
	var s valueScanner
	for _, c := range chunks {
		m, d, err := s.scan(c)
		n += m
		if err != nil || d {
			return n, d, err
		}
		if m != len(c) {
			return n, false, errors.New("scanner stopped early without finishing")
		}
	}
	return n, false, nil
}

func TestValueScanner(t *testing.T) {
	tests := []struct {
		name  string
		input string // the value, then what follows it
		want  int    // length of the value
	}{
		{"object", `{"a":1},`, 7},
		{"nested", `[1,[2,{"x":"]"}],{}]}`, 20},
		{"string with escaped quote", `"a\"b",`, 6},
		{"string ending in backslash", `"a\\"}`, 5},
		{"escaped backslash then quote", `{"k":"\\\""}}`, 12},
		{"unicode escape", `"\u0022"x`, 8},
		{"brackets in strings", `{"a":"}{][","b":["]"]}]`, 22},
		{"u64", `18446744073709551615,`, 20},
		{"negative", `-9007199254740993}`, 17},
		{"float with exponent", "1.5e-300\n", 8},
		{"true", `true]`, 4},
		{"null", "null ", 4},
		{"empty string", `"",`, 2},
		{"blank lines inside", "{\"a\":\n\n1}\n\n", 9},
		{"many escapes", `"` + string(bytes.Repeat([]byte(`\\\"`), 100)) + `"` + `,`, 402},
	}
	for _, tt := range tests {
		in := []byte(tt.input)
		t.Run(tt.name+"/whole", func(t *testing.T) {
			n, done, err := scanChunks([][]byte{in})
			if err != nil || !done || n != tt.want {
				t.Errorf("got %d, %v, %v; want %d, true, nil", n, done, err, tt.want)
			}
		})
		t.Run(tt.name+"/every split", func(t *testing.T) {
			for i := 1; i < len(in); i++ {
				n, done, err := scanChunks([][]byte{in[:i], in[i:]})
				if err != nil || !done || n != tt.want {
					t.Errorf("split at %d: got %d, %v, %v; want %d, true, nil", i, n, done, err, tt.want)
				}
			}
		})
		t.Run(tt.name+"/byte by byte", func(t *testing.T) {
			chunks := make([][]byte, len(in))
			for i := range in {
				chunks[i] = in[i : i+1]
			}
			n, done, err := scanChunks(chunks)
			if err != nil || !done || n != tt.want {
				t.Errorf("got %d, %v, %v; want %d, true, nil", n, done, err, tt.want)
			}
		})
	}
}

func TestValueScannerRejects(t *testing.T) {
	for _, in := range []string{"}", "]", ",", ":", " 1", "\n"} {
		t.Run(in, func(t *testing.T) {
			if _, _, err := scanChunks([][]byte{[]byte(in)}); !errors.Is(err, ErrProtocol) {
				t.Errorf("got %v; want ErrProtocol", err)
			}
		})
	}
}

// FuzzValueScanner checks the scanner against encoding/json: for any valid
// JSON value, split anywhere, the extent found is the whole value.
func FuzzValueScanner(f *testing.F) {
	for _, seed := range []string{`{"a":[1,"b\"]"]}`, `"\\"`, `18446744073709551615`, `[{},[],""]`, `"\u00e9\n"`} {
		f.Add([]byte(seed), uint16(1))
	}
	f.Fuzz(func(t *testing.T, value []byte, split uint16) {
		value = bytes.TrimSpace(value)
		if !json.Valid(value) {
			return
		}
		in := append(bytes.Clone(value), ',')
		i := int(split) % len(in)
		n, done, err := scanChunks([][]byte{in[:i], in[i:]})
		if err != nil || !done || n != len(value) {
			t.Errorf("value %q split at %d: got %d, %v, %v; want %d, true, nil", value, i, n, done, err, len(value))
		}
	})
}
