package codec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"testing"
)

// largeResult returns a listforwards-like result of about size bytes, with
// u64 amounts, strings, booleans, nulls and nested arrays of objects.
func largeResult(size int) []byte {
	buf := bytes.NewBufferString(`{"forwards":[`)
	for i := 0; buf.Len() < size; i++ {
		if i > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(buf, `{"created_index":%d,"in_channel":"%dx1x0","in_htlc_id":%d,`+
			`"in_msat":18446744073709551615,"out_msat":%d,"fee_msat":-9007199254740993,`+
			`"status":"settled","style":"tlv","received_time":1.5e300,"resolved_time":null,`+
			`"labels":["core lightning","<&>","123"],"payment":{"hops":[{"id":"02ab%d","ok":true},{"id":"03cd","ok":false}]}}`,
			i, 100000+i, i, 1000*i, i)
	}
	buf.WriteString(`]}`)
	return buf.Bytes()
}

const benchSize = 20 << 20

func benchmarkEncode(b *testing.B, encode func(w io.Writer, r io.Reader) error) {
	in := largeResult(benchSize)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if err := encode(io.Discard, bytes.NewReader(in)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeYAML20MB(b *testing.B) { benchmarkEncode(b, EncodeYAML) }

func BenchmarkEncodeXML20MB(b *testing.B) {
	benchmarkEncode(b, func(w io.Writer, r io.Reader) error { return EncodeXML(w, r, "listforwards") })
}

func BenchmarkEncodeForm20MB(b *testing.B) { benchmarkEncode(b, EncodeForm) }

func BenchmarkRemoveNulls20MB(b *testing.B) {
	in := json.RawMessage(largeResult(benchSize))
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := RemoveNulls(in); err != nil {
			b.Fatal(err)
		}
	}
}

// benchmarkDecode decodes a 20 MB body written by encode (nil: the JSON).
func benchmarkDecode(b *testing.B, encode func(w io.Writer, r io.Reader) error, decode func(r io.Reader, lim Limits) (json.RawMessage, error)) {
	in := largeResult(benchSize)
	if encode != nil {
		var body bytes.Buffer
		if err := encode(&body, bytes.NewReader(in)); err != nil {
			b.Fatal(err)
		}
		in = body.Bytes()
	}
	lim := Limits{MaxKeys: 1 << 30}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decode(bytes.NewReader(in), lim); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeJSON20MB(b *testing.B) { benchmarkDecode(b, nil, DecodeJSON) }
func BenchmarkDecodeYAML20MB(b *testing.B) { benchmarkDecode(b, EncodeYAML, DecodeYAML) }
func BenchmarkDecodeForm20MB(b *testing.B) { benchmarkDecode(b, EncodeForm, DecodeForm) }

func BenchmarkDecodeXML20MB(b *testing.B) {
	benchmarkDecode(b,
		func(w io.Writer, r io.Reader) error { return EncodeXML(w, r, "m") },
		func(r io.Reader, lim Limits) (json.RawMessage, error) { return DecodeXML(r, "m", lim) })
}
