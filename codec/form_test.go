package codec

import (
	"bytes"
	"net/url"
	"strings"
	"testing"
)

func TestDecodeForm(t *testing.T) {
	runDecodeCases(t, "form", []decodeCase{
		// What Python's requests sends for data={'key': ['project']}.
		{name: "upstream test body", in: "key=project", want: `{"key":"project"}`},
		{name: "contract example", in: "key[0]=a&key[1]=b", want: `{"key":["a","b"]}`},
		{name: "repeated name is an array", in: "key=a&key=b&key=c", want: `{"key":["a","b","c"]}`},
		{name: "empty brackets", in: "key[]=a&key[]=b", want: `{"key":["a","b"]}`},
		{name: "one empty bracket is still an array", in: "key[]=a", want: `{"key":["a"]}`},
		{name: "nested map", in: "a[b]=1&a[c][d]=2", want: `{"a":{"b":"1","c":{"d":"2"}}}`},
		{name: "indices sorted and gaps closed", in: "a[2]=z&a[0]=x&a[10]=w", want: `{"a":["x","z","w"]}`},
		{name: "arrays of objects", in: "hops[0][id]=a&hops[0][amount_msat]=1000&hops[1][id]=b&hops[1][amount_msat]=18446744073709551615",
			want: `{"hops":[{"id":"a","amount_msat":"1000"},{"id":"b","amount_msat":"18446744073709551615"}]}`},
		{name: "encoded output of listdatastore", in: "datastore[0][key][0]=project&datastore[0][string]=core+lightning",
			want: `{"datastore":[{"key":["project"],"string":"core lightning"}]}`},
		{name: "numbers and booleans stay strings", in: "a=1000&b=-9007199254740993&c=true&d=1.5e300",
			want: `{"a":"1000","b":"-9007199254740993","c":"true","d":"1.5e300"}`},
		{name: "mixed keys make an object", in: "a[0]=x&a[b]=y", want: `{"a":{"0":"x","b":"y"}}`},
		{name: "percent-encoded brackets nest", in: "a%5B0%5D=x&a%5b1%5d=y", want: `{"a":["x","y"]}`},
		{name: "percent escapes and plus", in: "s=a%26b%3Dc+d%2B%25%C3%A9&t=%zz%2", want: `{"s":"a&b=c d+%é","t":"%zz%2"}`},
		{name: "empty value and no value", in: "a=&b&c=1", want: `{"a":"","b":null,"c":"1"}`},
		{name: "empty fields skipped", in: "&&a=1&&", want: `{"a":"1"}`},
		{name: "empty body", in: "", want: `{}`},
		{name: "trailing newline", in: "a=1\n", want: `{"a":"1"}`},
		{name: "empty name", in: "=x", want: `{"":"x"}`},
		{name: "digit names at the top stay an object", in: "0=a&1=b", want: `{"0":"a","1":"b"}`},
		{name: "unicode", in: "s=é😀", want: `{"s":"é😀"}`},
		{name: "value with equals", in: "a=b=c", want: `{"a":"b=c"}`},
		{name: "value then map", in: "a=1&a[b]=2", wantErr: "both as a value and as a nested map"},
		{name: "map then value", in: "a[b]=2&a=1", wantErr: "both as a nested map and as a value"},
		{name: "brackets not last", in: "a[][b]=1", wantErr: "[] must be the last bracket"},
		{name: "unbalanced", in: "a[b=1", wantErr: "unbalanced brackets"},
		{name: "text after bracket", in: "a[b]c=1", wantErr: "unbalanced brackets"},
		{name: "no name before brackets", in: "[a]=1&[b]=2", want: `{"":{"a":"1","b":"2"}}`},
		{name: "invalid UTF-8", in: "a=%FF", wantErr: "not valid UTF-8"},
		{name: "depth within limit", in: "a[b][c]=1", lim: Limits{MaxDepth: 3}, want: `{"a":{"b":{"c":"1"}}}`},
		{name: "depth over limit", in: "a[b][c][d]=1", lim: Limits{MaxDepth: 3}, wantErr: "at most 3"},
		{name: "default depth", in: "a" + strings.Repeat("[x]", 64) + "=1", wantErr: "at most 64"},
		{name: "keys over limit", in: "a=1&b=2&c=3", lim: Limits{MaxKeys: 2}, wantErr: "at most 2"},
		{name: "huge index is no huge array", in: "a[999999999]=x", want: `{"a":["x"]}`},
		{name: "too long to be an index", in: "a[9999999999]=x", want: `{"a":{"9999999999":"x"}}`},
	})
}

func TestEncodeForm(t *testing.T) {
	runEncodeCases(t, "form", []encodeCase{
		{name: "listdatastore result",
			in:   `{"datastore":[{"key":["project"],"generation":0,"hex":"00","string":"core lightning"}]}`,
			want: "datastore[0][key][0]=project&datastore[0][generation]=0&datastore[0][hex]=00&datastore[0][string]=core+lightning"},
		{name: "getinfo", in: `{"id":"02ab","alias":"NODE","num_peers":0}`, want: "id=02ab&alias=NODE&num_peers=0"},
		{name: "big integers stay exact", in: `{"a":18446744073709551615,"b":-9007199254740993,"c":1.5e300}`,
			want: "a=18446744073709551615&b=-9007199254740993&c=1.5e300"},
		{name: "booleans and empty things", in: `{"t":true,"f":false,"n":null,"s":"","a":[],"o":{}}`, want: "t=true&f=false&n=&s=&a=&o="},
		{name: "escaping", in: `{"s":"a&b=c d+%#[x]é\n","k[y]":"1"}`, want: "s=a%26b%3Dc+d%2B%25%23%5Bx%5D%C3%A9%0A&k%5By%5D=1"},
		{name: "safe punctuation kept", in: `{"s":"-._~!$'()*,/:?@"}`, want: "s=-._~!$'()*,/:?@"},
		{name: "nested arrays", in: `{"a":[[1,2],[]]}`, want: "a[0][0]=1&a[0][1]=2&a[1]="},
		{name: "siblings keep their own names", in: `{"a":{"b":[{"c":1},{"d":2}],"e":3}}`, want: "a[b][0][c]=1&a[b][1][d]=2&a[e]=3"},
		{name: "deep nesting has no limit", in: `{"a":{"b":{"c":{"d":{"e":{"f":{"g":1}}}}}}}`, want: "a[b][c][d][e][f][g]=1"},
		{name: "empty result", in: `{}`, want: ""},
		{name: "top-level array", in: `[1]`, wantErr: "only an object can be form-encoded, not an array"},
		{name: "top-level string", in: `"x"`, wantErr: "not a string"},
		{name: "invalid JSON", in: `{"a":[}`, wantErr: "invalid character"},
	})
}

// TestFormRoundTrip checks that encoder output decodes back to the same
// values, as strings, and that Go's own form parser reads it too.
func TestFormRoundTrip(t *testing.T) {
	doc := `{"datastore":[{"key":["project","sub key"],"generation":18446744073709551615,"string":"a&b=c+d%é😀 [x]"}],"ok":true,"neg":-9007199254740993}`
	want := `{"datastore":[{"key":["project","sub key"],"generation":"18446744073709551615","string":"a&b=c+d%é😀 [x]"}],"ok":"true","neg":"-9007199254740993"}`
	var out bytes.Buffer
	if err := EncodeForm(&out, strings.NewReader(doc)); err != nil {
		t.Fatal(err)
	}
	values, err := url.ParseQuery(out.String())
	if err != nil {
		t.Fatalf("net/url cannot parse %q: %v", out.String(), err)
	}
	if got := values.Get("datastore[0][string]"); got != "a&b=c+d%é😀 [x]" {
		t.Errorf("net/url reads datastore[0][string] as %q", got)
	}
	got, err := DecodeForm(&out, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
