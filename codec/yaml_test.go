package codec

import (
	"bytes"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestDecodeYAML(t *testing.T) {
	runDecodeCases(t, "YAML", []decodeCase{
		// tests/test_clnrest.py sends a Python list formatted into the body.
		{name: "upstream test body", in: "key: ['project']", want: `{"key":["project"]}`},
		{name: "block sequence", in: "key:\n- a\n- b\n", want: `{"key":["a","b"]}`},
		{name: "empty body", in: "", want: `{}`},
		{name: "only a comment", in: "# nothing\n", want: `{}`},
		{name: "null document", in: "~", want: `{}`},
		{name: "empty flow mapping", in: "{}", want: `{}`},
		{name: "big integers stay exact",
			in:   "a: 18446744073709551615\nb: -9007199254740993\nc: 1.5e300\nd: 1e400\ne: 123456789012345678901234567890\n",
			want: `{"a":18446744073709551615,"b":-9007199254740993,"c":1.5e300,"d":1e400,"e":123456789012345678901234567890}`},
		{name: "integer forms normalised",
			in:   "a: 0x1F\nb: 0o17\nc: 0b101\nd: 1_000\ne: +5\nf: -0x10\ng: 0xFFFFFFFFFFFFFFFFFF\n",
			want: `{"a":31,"b":15,"c":5,"d":1000,"e":5,"f":-16,"g":4722366482869645213695}`},
		{name: "leading zero stays a string", in: "a: 007\nb: 0\n", want: `{"a":"007","b":0}`},
		{name: "float forms normalised", in: "a: .5\nb: +1.5\nc: -.5\nd: 1_000.25\ne: 1.5E+3\n",
			want: `{"a":0.5,"b":1.5,"c":-0.5,"d":1000.25,"e":1.5E+3}`},
		{name: "infinity and nan stay strings", in: "a: .inf\nb: -.Inf\nc: .nan\n", want: `{"a":".inf","b":"-.Inf","c":".nan"}`},
		{name: "booleans and nulls", in: "a: true\nb: False\nc: TRUE\nd: null\ne: ~\nf:\n",
			want: `{"a":true,"b":false,"c":true,"d":null,"e":null,"f":null}`},
		{name: "YAML 1.1 words are strings", in: "a: yes\nb: no\nc: on\nd: off\ne: y\n",
			want: `{"a":"yes","b":"no","c":"on","d":"off","e":"y"}`},
		{name: "quoted scalars are strings", in: "a: '123'\nb: \"true\"\nc: 'null'\nd: \"1.5e300\"\n",
			want: `{"a":"123","b":"true","c":"null","d":"1.5e300"}`},
		{name: "explicit tags", in: "a: !!str 12\nb: !!int '12'\nc: !!float '1.5'\nd: !!bool 'true'\ne: !!null ''\nf: !!binary aGk=\n",
			want: `{"a":"12","b":12,"c":1.5,"d":true,"e":null,"f":"aGk="}`},
		{name: "timestamps are strings", in: "a: 2001-12-14\nb: 2001-12-14t21:59:43.10-05:00\n",
			want: `{"a":"2001-12-14","b":"2001-12-14t21:59:43.10-05:00"}`},
		{name: "block scalars", in: "a: |\n  line 1\n  line 2\nb: >\n  folded\n  text\n",
			want: `{"a":"line 1\nline 2\n","b":"folded text\n"}`},
		{name: "unicode and escapes", in: "a: \"\\u00e9\\t\\\"\\\\\"\nb: 😀 ü\n", want: `{"a":"é\t\"\\","b":"😀 ü"}`},
		{name: "nested arrays of objects", in: "a:\n- b:\n  - c: 1\n- []\n- {}\n- [1, [2]]\n",
			want: `{"a":[{"b":[{"c":1}]},[],{},[1,[2]]]}`},
		{name: "numeric key", in: "1: a\n0x10: b\n", want: `{"1":"a","0x10":"b"}`},
		{name: "anchor and alias", in: "a: &x [1, 2]\nb: *x\n", want: `{"a":[1,2],"b":[1,2]}`},
		{name: "merge key", in: "base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\n",
			want: `{"base":{"x":1,"y":2},"c":{"x":1,"y":3}}`},
		{name: "merge list", in: "a: &a {x: 1}\nb: &b {y: 2}\nc:\n  <<: [*a, *b]\n", want: `{"a":{"x":1},"b":{"y":2},"c":{"x":1,"y":2}}`},
		{name: "nulls are kept for RemoveNulls", in: "a: null\nb: [null]\n", want: `{"a":null,"b":[null]}`},
		{name: "sequence", in: "- a\n", wantErr: "not an array"},
		{name: "scalar", in: "hello", wantErr: "not a string"},
		{name: "two documents", in: "a: 1\n---\nb: 2\n", wantErr: "more than one YAML document"},
		{name: "duplicate key", in: "a: 1\na: 2\n", wantErr: `duplicate key "a"`},
		{name: "complex key", in: "? [a]\n: 1\n", wantErr: "a key must be a scalar"},
		{name: "unknown tag", in: "a: !thing x\n", wantErr: "unsupported YAML tag !thing"},
		{name: "bad explicit int", in: "a: !!int abc\n", wantErr: `"abc" is not a valid !!int`},
		{name: "merge of a scalar", in: "a:\n  <<: 1\n", wantErr: "a merge key needs a mapping"},
		{name: "syntax", in: "a: [1, 2\n", wantErr: "did not find expected"},
		{name: "tab indentation", in: "a:\n\t- 1\n", wantErr: "found character that cannot start any token"},
		{name: "unknown alias", in: "a: *nope\n", wantErr: "unknown anchor"},
		{name: "depth over limit", in: "a: {b: [[1]]}", lim: Limits{MaxDepth: 3}, wantErr: "at most 3"},
		{name: "keys over limit", in: "a: [1, 2, 3]\nb: 1\n", lim: Limits{MaxKeys: 4}, wantErr: "keys and values (at most 4"},
		{name: "aliases within limit", in: "a: &x 1\nb: [*x, *x]\n", lim: Limits{MaxAliases: 2}, want: `{"a":1,"b":[1,1]}`},
		{name: "aliases over limit", in: "a: &x 1\nb: [*x, *x, *x]\n", lim: Limits{MaxAliases: 2}, wantErr: "too many YAML aliases (at most 2"},
		{name: "self-referencing alias", in: "a: &x [*x]\n", wantErr: "too many"},
		{name: "billion laughs", in: billionLaughs, wantErr: "too many"},
		{name: "deep flow nesting", in: "a: " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000), wantErr: "at most 64"},
	})
}

// billionLaughs is the classic alias bomb: nine levels of ten aliases each,
// 10^9 values once expanded.
const billionLaughs = `a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
`

func TestEncodeYAML(t *testing.T) {
	runEncodeCases(t, "YAML", []encodeCase{
		{name: "listdatastore result",
			in:   `{"datastore":[{"key":["project"],"generation":0,"hex":"636f7265206c696768746e696e67","string":"core lightning"}]}`,
			want: "datastore:\n- key:\n  - project\n  generation: 0\n  hex: 636f7265206c696768746e696e67\n  string: core lightning\n"},
		{name: "getinfo id is plain",
			in:   `{"id":"0266e4598d1d3c415f572a8488830b60f7e744ed9235eb0b1ba93283b315c03518","num_peers":0}`,
			want: "id: 0266e4598d1d3c415f572a8488830b60f7e744ed9235eb0b1ba93283b315c03518\nnum_peers: 0\n"},
		{name: "big integers stay exact",
			in:   `{"a":18446744073709551615,"b":-9007199254740993,"c":1.5e300}`,
			want: "a: 18446744073709551615\nb: -9007199254740993\nc: 1.5e300\n"},
		{name: "strings that look like other things are quoted",
			in:   `{"a":"123","b":"true","c":"null","d":"","e":"1.5e300","f":"0x1F","g":"~","h":"yes","i":"-1","j":".5","k":"1_000","l":"12:30","m":"2001-12-14","n":"<<"}`,
			want: "a: '123'\nb: 'true'\nc: 'null'\nd: ''\ne: '1.5e300'\nf: '0x1F'\ng: '~'\nh: 'yes'\ni: '-1'\nj: '.5'\nk: '1_000'\nl: '12:30'\nm: '2001-12-14'\n'n': '<<'\n"},
		{name: "strings with indicators are quoted",
			in:   `{"a":"a: b","b":"# c","c":"- d","d":"e #f","e":" lead","f":"trail ","g":"it's","h":"'q'","i":"*x","j":"[1]","k":"end:","l":"...","m":"@x"}`,
			want: "a: 'a: b'\nb: '# c'\nc: '- d'\nd: 'e #f'\ne: ' lead'\nf: 'trail '\ng: it's\nh: '''q'''\ni: '*x'\nj: '[1]'\nk: 'end:'\nl: '...'\nm: '@x'\n"},
		{name: "plain strings stay plain",
			in:   `{"a":"core lightning","b":"a:b","c":"x#y","d":"1.2.3","e":"12e","f":"v24.08","g":"é ü","h":"a, b"}`,
			want: "a: core lightning\nb: a:b\nc: x#y\nd: 1.2.3\ne: 12e\nf: v24.08\ng: é ü\nh: a, b\n"},
		{name: "non-printable strings are double-quoted",
			in:   `{"a":"line1\nline2","b":"tab\there","c":"\u0000\u001b\u007f","d":"\u2028\ufeff","e":"q\"b\\"}`,
			want: "a: \"line1\\nline2\"\nb: \"tab\\there\"\nc: \"\\0\\x1B\\x7F\"\nd: \"\\u2028\\uFEFF\"\ne: q\"b\\\n"},
		{name: "keys are quoted like values", in: `{"1":"a","true":"b","a b":"c","":"d"}`,
			want: "'1': a\n'true': b\na b: c\n'': d\n"},
		{name: "empty containers and null", in: `{"a":[],"b":{},"c":null,"d":[[],{}]}`,
			want: "a: []\nb: {}\nc: null\nd:\n- []\n- {}\n"},
		{name: "nested arrays", in: `{"a":[[1,2],[[3]]]}`, want: "a:\n- - 1\n  - 2\n- - - 3\n"},
		{name: "nested objects", in: `{"a":{"b":{"c":true}},"d":false}`, want: "a:\n  b:\n    c: true\nd: false\n"},
		{name: "array of objects with arrays", in: `{"a":[{"b":[{"c":1,"d":[2]}],"e":3}]}`,
			want: "a:\n- b:\n  - c: 1\n    d:\n    - 2\n  e: 3\n"},
		{name: "long key is explicit", in: `{"` + strings.Repeat("k", 1001) + `":1}`,
			want: "? " + strings.Repeat("k", 1001) + "\n: 1\n"},
		{name: "top-level empty object", in: `{}`, want: "{}\n"},
		{name: "top-level array", in: `[1,{"a":1,"b":2}]`, want: "- 1\n- a: 1\n  b: 2\n"},
		{name: "top-level scalar", in: `"x"`, want: "x\n"},
		{name: "white space around", in: " {\"a\" : 1} \n", want: "a: 1\n"},
		{name: "invalid JSON", in: `{"a":}`, wantErr: "invalid character"},
		{name: "truncated JSON", in: `{"a":[1`, wantErr: "unexpected EOF"},
		{name: "trailing JSON", in: `{}{}`, wantErr: "after the top-level value"},
	})
}

func TestEncodeYAMLUpstreamAssertion(t *testing.T) {
	// tests/test_clnrest.py asserts this substring for listdatastore.
	in := `{"datastore":[{"key":["project"],"generation":0,"hex":"00","string":"core lightning"}]}`
	var out bytes.Buffer
	if err := EncodeYAML(&out, strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	if want := "key:\n  - project"; !strings.Contains(out.String(), want) {
		t.Errorf("got %q; want it to contain %q", out.String(), want)
	}
}

// TestYAMLRoundTrip checks that what EncodeYAML writes, DecodeYAML reads back
// as the same JSON, and that go-yaml agrees on the types.
func TestYAMLRoundTrip(t *testing.T) {
	docs := []string{
		`{"datastore":[{"key":["project"],"generation":0,"hex":"00","string":"core lightning"}]}`,
		`{"a":18446744073709551615,"b":-9007199254740993,"c":1.5e300,"d":-0,"e":1E-7}`,
		`{"s":["123","true","null","","1.5e300","0x1F","~","yes","-1",".5","1_000","12:30","2001-12-14","<<","=","0o7","0b1",".inf","-.nan","+1","1e5","Y","NO","Off"]}`,
		`{"s":["a: b","# c","- d","e #f"," lead","trail ","it's","'q'","*x","&y","!z","|","> ","%p","@x","` + "`" + `b","[1]","{a}","?","end:","...","---","a\tb"]}`,
		`{"s":["line1\nline2","\r\n","\u0000\u0001\u001f\u007f\u0080\u0085\u009f","\u00a0\u2028\u2029\ufeff\ufffe","😀","é","\"\\"]}`,
		`{"":1,"1":2,"a b":3,"a: b":4,"- x":5,"null":6}`,
		`{"a":[],"b":{},"c":null,"d":[[],{},[[]],[{}]],"e":{"f":{"g":{}}}}`,
		`{"a":[[1,[2,[3]]],{"b":[{"c":[]}]}]}`,
	}
	for _, doc := range docs {
		t.Run(doc, func(t *testing.T) {
			var out bytes.Buffer
			if err := EncodeYAML(&out, strings.NewReader(doc)); err != nil {
				t.Fatal(err)
			}
			got, err := DecodeYAML(bytes.NewReader(out.Bytes()), Limits{})
			if err != nil {
				t.Fatalf("decoding %q: %v", out.String(), err)
			}
			if !sameJSON(t, string(got), doc) {
				t.Errorf("got  %s\nwant %s\nYAML %q", got, doc, out.String())
			}
			var generic any
			if err := yaml.Unmarshal(out.Bytes(), &generic); err != nil {
				t.Errorf("go-yaml cannot read %q: %v", out.String(), err)
			}
		})
	}
}

// TestYAMLStringsStayStrings checks the quoting decision against go-yaml's
// own resolver for strings that look like other types.
func TestYAMLStringsStayStrings(t *testing.T) {
	for _, s := range []string{"123", "-1", "+1", "1.5", ".5", "1e5", "1E+5", "0x1f", "0o17", "0b1", "017",
		"1_000", "true", "True", "FALSE", "null", "Null", "~", "", ".inf", "-.Inf", ".NaN", "2001-12-14",
		"2001-12-14 21:59:43.10 -5", "<<", "0266e4598d1d3c4", "12e", "1.2.3", "0.", "-.5e-3"} {
		t.Run(s, func(t *testing.T) {
			out := appendYAMLString(nil, s)
			var n yaml.Node
			if err := yaml.Unmarshal(append([]byte("v: "), out...), &n); err != nil {
				t.Fatalf("go-yaml cannot read %q: %v", out, err)
			}
			v := n.Content[0].Content[1]
			if tag := v.ShortTag(); tag != "!!str" || v.Value != s {
				t.Errorf("%q written as %q reads back as %s %q; want !!str %q", s, out, tag, v.Value, s)
			}
		})
	}
}
