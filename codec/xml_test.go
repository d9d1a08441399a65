package codec

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestDecodeXML(t *testing.T) {
	runDecodeCases(t, "XML", []decodeCase{
		// The body tests/test_clnrest.py sends.
		{name: "contract example", in: "<listdatastore><key>project</key></listdatastore>", want: `{"key":"project"}`},
		{name: "declaration and comments", in: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- c --><listdatastore>\n  <key>project</key><!-- d -->\n</listdatastore>\n<!-- e -->\n",
			want: `{"key":"project"}`},
		{name: "repeated elements are an array", in: "<listdatastore><key>a</key><key>b</key><key>c</key></listdatastore>", want: `{"key":["a","b","c"]}`},
		{name: "empty body", in: "  \n", want: `{}`},
		{name: "empty root", in: "<listdatastore/>", want: `{}`},
		{name: "root with white space", in: "<listdatastore>\n </listdatastore>", want: `{}`},
		{name: "big integers stay exact",
			in:   "<listdatastore><a>18446744073709551615</a><b>-9007199254740993</b><c>1.5e300</c></listdatastore>",
			want: `{"a":18446744073709551615,"b":-9007199254740993,"c":1.5e300}`},
		{name: "scalar typing", in: "<listdatastore><t>true</t><f>false</f><n>null</n><z>007</z><p>+5</p><d>.5</d><s> core lightning </s><T>True</T></listdatastore>",
			want: `{"t":true,"f":false,"n":"null","z":"007","p":"+5","d":".5","s":"core lightning","T":"True"}`},
		{name: "empty element is the empty string", in: "<listdatastore><a/><b></b></listdatastore>", want: `{"a":"","b":""}`},
		{name: "nested arrays of objects",
			in:   "<listdatastore><hop><id>a</id><amount_msat>1000</amount_msat></hop><hop><id>b</id><amount_msat>18446744073709551615</amount_msat></hop></listdatastore>",
			want: `{"hop":[{"id":"a","amount_msat":1000},{"id":"b","amount_msat":18446744073709551615}]}`},
		{name: "escapes, CDATA and unicode", in: "<listdatastore><s>&lt;&amp;&gt;&quot;&apos;&#233;&#x1F600;</s><c><![CDATA[<x> & y]]></c><u>é😀</u><r>a&#xD;b</r></listdatastore>",
			want: `{"s":"<&>\"'é😀","c":"<x> & y","u":"é😀","r":"a\rb"}`},
		{name: "attributes and text", in: "<listdatastore xmlns=\"urn:x\" xmlns:p=\"urn:p\" a=\"1\"><e p:b=\"x\">text</e><m>t<c>1</c></m></listdatastore>",
			want: `{"@a":1,"e":{"@b":"x","#text":"text"},"m":{"c":1,"#text":"t"}}`},
		{name: "namespace prefixes are dropped", in: "<p:listdatastore xmlns:p=\"urn:p\"><p:key>k</p:key></p:listdatastore>", want: `{"key":"k"}`},
		{name: "escaped names", in: "<listdatastore><_x0031_a>1</_x0031_a><a_x0020_b>2</a_x0020_b><_x_>3</_x_></listdatastore>", want: `{"1a":1,"a b":2,"":3}`},
		{name: "escaped root", in: "<_x0031_x/>", wantErr: "want <listdatastore>, got <_x0031_x>"},
		{name: "wrong root", in: "<getinfo><key>project</key></getinfo>", wantErr: "use the method name as root element: want <listdatastore>, got <getinfo>"},
		{name: "text in root", in: "<listdatastore>project</listdatastore>", wantErr: "not text"},
		{name: "second root", in: "<listdatastore/><listdatastore/>", wantErr: "after the root element"},
		{name: "text after root", in: "<listdatastore/>x", wantErr: "text outside the root element"},
		{name: "text before root", in: "x<listdatastore/>", wantErr: "text outside the root element"},
		{name: "only a comment", in: "<!-- c -->", wantErr: "no root element"},
		{name: "DTD", in: "<!DOCTYPE listdatastore [<!ENTITY lol \"lol\">]><listdatastore><a>&lol;</a></listdatastore>", wantErr: "directives are not allowed"},
		{name: "unknown entity", in: "<listdatastore><a>&lol;</a></listdatastore>", wantErr: "invalid character entity &lol;"},
		{name: "mismatched tags", in: "<listdatastore><a></b></listdatastore>", wantErr: "element <a> closed by </b>"},
		{name: "unclosed", in: "<listdatastore><a>1</a>", wantErr: "unexpected EOF"},
		{name: "control character", in: "<listdatastore><a>\x01</a></listdatastore>", wantErr: "illegal character code U+0001"},
		{name: "foreign encoding", in: "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><listdatastore/>", wantErr: "ISO-8859-1"},
		{name: "depth within limit", in: "<listdatastore><a><b>1</b></a></listdatastore>", lim: Limits{MaxDepth: 2}, want: `{"a":{"b":1}}`},
		{name: "depth over limit", in: "<listdatastore><a><b><c>1</c></b></a></listdatastore>", lim: Limits{MaxDepth: 2}, wantErr: "at most 2"},
		{name: "attribute depth over limit", in: "<listdatastore><a><b c=\"1\"/></a></listdatastore>", lim: Limits{MaxDepth: 2}, wantErr: "at most 2"},
		{name: "default depth", in: "<listdatastore>" + strings.Repeat("<a>", 100) + strings.Repeat("</a>", 100) + "</listdatastore>", wantErr: "at most 64"},
		{name: "keys over limit", in: "<listdatastore><a>1</a><a>2</a><b c=\"1\">3</b></listdatastore>", lim: Limits{MaxKeys: 3}, wantErr: "at most 3"},
	})
}

func TestEncodeXML(t *testing.T) {
	runEncodeCases(t, "XML", []encodeCase{
		{name: "listdatastore result",
			in:   `{"datastore":[{"key":["project"],"generation":0,"hex":"00","string":"core lightning"}]}`,
			want: "<listdatastore><datastore><key>project</key><generation>0</generation><hex>00</hex><string>core lightning</string></datastore></listdatastore>"},
		{name: "arrays repeat their element",
			in:   `{"datastore":[{"key":["a","b"]},{"key":["c"]}]}`,
			want: "<listdatastore><datastore><key>a</key><key>b</key></datastore><datastore><key>c</key></datastore></listdatastore>"},
		{name: "big integers stay exact", in: `{"a":18446744073709551615,"b":-9007199254740993,"c":1.5e300}`,
			want: "<listdatastore><a>18446744073709551615</a><b>-9007199254740993</b><c>1.5e300</c></listdatastore>"},
		{name: "booleans", in: `{"t":true,"f":false}`, want: "<listdatastore><t>true</t><f>false</f></listdatastore>"},
		{name: "empty things", in: `{"a":[],"b":{},"c":null,"d":"","e":[{}]}`, want: "<listdatastore><b/><c/><d/><e/></listdatastore>"},
		{name: "empty result", in: `{}`, want: "<listdatastore/>"},
		{name: "nested arrays keep their structure", in: `{"routes":[[{"id":"a"},{"id":"b"}],[],[1]]}`,
			want: "<listdatastore><routes><item><id>a</id></item><item><id>b</id></item></routes><routes/><routes><item>1</item></routes></listdatastore>"},
		{name: "text is escaped", in: `{"s":"<a href=\"x\">&amp;</a>\r\n\t'"}`,
			want: "<listdatastore><s>&lt;a href=\"x\"&gt;&amp;amp;&lt;/a&gt;&#xD;\n\t'</s></listdatastore>"},
		{name: "characters XML cannot carry", in: `{"s":"a\u0001b\u001fc\uffff"}`, want: "<listdatastore><s>a\uFFFDb\uFFFDc\uFFFD</s></listdatastore>"},
		{name: "unicode", in: `{"s":"é😀"}`, want: "<listdatastore><s>é😀</s></listdatastore>"},
		{name: "names that are not XML names", in: `{"1a":1,"a b":2,"a:b":3,"":4,"@x":5,"$text":6,"_x0041_":7,"é":8}`,
			want: "<listdatastore><_x0031_a>1</_x0031_a><a_x0020_b>2</a_x0020_b><a_x003A_b>3</a_x003A_b><_x_>4</_x_><_x0040_x>5</_x0040_x><_x0024_text>6</_x0024_text><_x005F_x0041_>7</_x005F_x0041_><_x00E9_>8</_x00E9_></listdatastore>"},
		{name: "top-level array", in: `[1,{"a":1}]`, want: "<listdatastore><item>1</item><item><a>1</a></item></listdatastore>"},
		{name: "top-level scalar", in: `"x"`, want: "<listdatastore>x</listdatastore>"},
		{name: "invalid JSON", in: `{"a":`, wantErr: "unexpected EOF"},
	})
}

func TestEncodeXMLRoot(t *testing.T) {
	cases := []struct{ root, want string }{
		{"getinfo", "<getinfo><id>x</id></getinfo>"},
		{"bkpr-listbalances", "<bkpr-listbalances><id>x</id></bkpr-listbalances>"},
		{"9lives", "<_x0039_lives><id>x</id></_x0039_lives>"},
	}
	for _, tc := range cases {
		t.Run(tc.root, func(t *testing.T) {
			var out bytes.Buffer
			if err := EncodeXML(&out, strings.NewReader(`{"id":"x"}`), tc.root); err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.want {
				t.Errorf("got %q; want %q", out.String(), tc.want)
			}
			if _, err := DecodeXML(&out, tc.root, Limits{}); err != nil {
				t.Errorf("decoding it back: %v", err)
			}
		})
	}
}

func TestXMLNames(t *testing.T) {
	for _, key := range []string{"", "a", "_", "_x", "_x_", "_x0041_", "_x0041", "a_x0041_b", "1abc", "a b", "a:b",
		"-x", ".x", "x-y.z", "é", "😀", "\U000F0000", "a\u0000b", "·a", "a·"} {
		t.Run(key, func(t *testing.T) {
			name := xmlName(key)
			if back := keyFromXMLName(name); back != key {
				t.Errorf("xmlName(%q) = %q, which reads back as %q", key, name, back)
			}
			doc := "<" + name + "/>"
			if _, err := xml.NewDecoder(strings.NewReader(doc)).Token(); err != nil {
				t.Errorf("xmlName(%q) = %q is not a valid element name: %v", key, name, err)
			}
		})
	}
}

// TestEncodeXMLWellFormed checks that encoder output always parses.
func TestEncodeXMLWellFormed(t *testing.T) {
	docs := []string{
		`{"a":[[[]]],"b":[{"c":[[1],[2,3]]}],"":{"":[""]},"<&>":"<&>","\u0000":"\u0000\r\n"}`,
		`{"x":{"y":{"z":[true,false,null,0,-1.5e-7]}}}`,
	}
	for _, doc := range docs {
		t.Run(doc, func(t *testing.T) {
			var out bytes.Buffer
			if err := EncodeXML(&out, strings.NewReader(doc), "m"); err != nil {
				t.Fatal(err)
			}
			checkWellFormed(t, out.Bytes())
		})
	}
}

// checkWellFormed fails t unless doc is one well-formed XML element.
func checkWellFormed(t testing.TB, doc []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	roots := 0
	for depth := 0; ; {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("output %q is not well-formed: %v", doc, err)
		}
		switch tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
			}
			depth++
		case xml.EndElement:
			depth--
		}
	}
	if roots != 1 {
		t.Fatalf("output %q has %d root elements; want 1", doc, roots)
	}
}

func TestXMLRoundTrip(t *testing.T) {
	// What survives XML: objects, arrays of two or more, strings that do not
	// look like numbers or booleans, numbers, booleans.
	doc := `{"datastore":[{"key":["project","x"],"generation":18446744073709551615,"string":"core <&> lightning","ok":true},{"key":["a","b"],"generation":-9007199254740993,"string":"é😀","ok":false}]}`
	var out bytes.Buffer
	if err := EncodeXML(&out, strings.NewReader(doc), "listdatastore"); err != nil {
		t.Fatal(err)
	}
	got, err := DecodeXML(&out, "listdatastore", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != doc {
		t.Errorf("got  %s\nwant %s", got, doc)
	}
}
