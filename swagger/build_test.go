package swagger

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// docJSON builds a document and decodes it generically, as a client of
// /swagger.json sees it.
func docJSON(t *testing.T, in docInput) map[string]any {
	t.Helper()
	raw, err := json.Marshal(buildDocument(in))
	if err != nil {
		t.Fatalf("encoding document: %v", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("decoding document: %v", err)
	}
	return doc
}

// at walks a decoded document along keys; it fails the test when a key
// is missing.
func at(t *testing.T, v any, keys ...string) any {
	t.Helper()
	for i, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("at %s: got %T; want an object", strings.Join(keys[:i], "."), v)
		}
		if v, ok = m[k]; !ok {
			t.Fatalf("got no %q under %s", k, strings.Join(keys[:i], "."))
		}
	}
	return v
}

func has(v any, keys ...string) bool {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return false
		}
		if v, ok = m[k]; !ok {
			return false
		}
	}
	return true
}

func testCommands(t *testing.T, fields ...string) []command {
	t.Helper()
	var entries []helpEntry
	for _, f := range fields {
		entries = append(entries, helpEntry{Command: f})
	}
	raw, _ := json.Marshal(map[string]any{"help": entries})
	cmds, err := parseHelp(raw)
	if err != nil {
		t.Fatalf("parseHelp: %v", err)
	}
	return cmds
}

var testPaths = []DynamicPath{
	{Path: "v{version}/{capture}/go", HTTPMethod: "GET", RPCMethod: "summary", RuneRequired: false},
	{Path: "/v1/{capture}/go/", HTTPMethod: "POST", RPCMethod: "invoice", RuneRequired: true}, // joins the one above
	{Path: "items/{id}.json", HTTPMethod: "GET", RPCMethod: "getinfo", RuneRequired: true},
}

func TestDocumentCommands(t *testing.T) {
	doc := docJSON(t, docInput{
		Commands: testCommands(t, helpGetinfo, helpInvoice, helpGetroute, helpPlugin, helpDev),
		Paths:    testPaths, Version: "v1.2.3",
	})
	tests := []struct {
		name string
		keys []string
		want any
	}{
		{"version", []string{"openapi"}, "3.0.3"},
		{"info.version", []string{"info", "version"}, "v1.2.3"},
		{"relative server", []string{"servers"}, []any{map[string]any{"url": "/", "description": "this clnrest server"}}},
		{"rune scheme", []string{"components", "securitySchemes", "api_key"},
			map[string]any{"type": "apiKey", "name": "rune", "in": "header", "description": runeScheme().Description}},
		{"rune needed everywhere by default", []string{"security"}, []any{map[string]any{"api_key": []any{}}}},
		{"getinfo operationId", []string{"paths", "/v1/getinfo", "post", "operationId"}, "getinfo"},
		{"getinfo without params", []string{"components", "schemas", "getinfo.params", "properties"}, nil},
		{"invoice required params in usage order", []string{"components", "schemas", "invoice.params", "required"},
			[]any{"amount_msat", "label", "description"}},
		{"invoice body required", []string{"paths", "/v1/invoice", "post", "requestBody", "required"}, true},
		{"invoice XML root", []string{"components", "schemas", "invoice.params", "xml", "name"}, "invoice"},
		{"invoice result XML root", []string{"components", "schemas", "invoice.result", "xml", "name"}, "invoice"},
		{"optional param untyped", []string{"components", "schemas", "invoice.params", "properties", "expiry"},
			map[string]any{"description": "Optional. Any JSON value that lightningd accepts for it.", "example": nil}},
		{"form lists required params only", []string{"components", "schemas", "invoice.params.form", "required"},
			[]any{"amount_msat", "label", "description"}},
		{"form field starts empty", []string{"components", "schemas", "invoice.params.form", "properties", "label", "example"}, ""},
		{"form names the optional params", []string{"components", "schemas", "invoice.params.form", "description"},
			"Only the required params of invoice; its optional ones (expiry, fallbacks, preimage, exposeprivatechannels, cltv, deschashonly, dev-routes) can be sent as JSON, YAML or XML."},
		{"form media type", []string{"paths", "/v1/invoice", "post", "requestBody", "content", "application/x-www-form-urlencoded", "schema", "$ref"},
			"#/components/schemas/invoice.params.form"},
		{"XML example with the required params", []string{"paths", "/v1/invoice", "post", "requestBody", "content", "application/xml", "example"},
			"<invoice>\n  <amount_msat></amount_msat>\n  <label></label>\n  <description></description>\n</invoice>"},
		{"summary is the usage", []string{"paths", "/v1/getroute", "post", "summary"}, "id amount_msat riskfactor [cltv] [fromid] [fuzzpercent] [exclude] [maxhops]"},
		{"deprecated", []string{"paths", "/v1/getroute", "post", "deprecated"}, true},
		{"subcommand enum", []string{"components", "schemas", "dev.params", "properties", "subcommand", "enum"},
			[]any{"crash", "rhash", "slowcmd"}},
		{"plugin method tag", []string{"paths", "/v1/summary", "post", "tags"}, []any{"rpc"}},
		{"plugin docstring in description", []string{"paths", "/v1/summary", "post", "description"},
			"Runs lightningd's `summary`. Usage: `summary [exclude]`.\n\nGets summary information about this node.\nPass a list of scids to the {exclude} parameter to exclude some channels."},
		{"201 result", []string{"paths", "/v1/invoice", "post", "responses", "201", "content", "application/json", "schema", "$ref"},
			"#/components/schemas/invoice.result"},
		{"401 shared", []string{"paths", "/v1/invoice", "post", "responses", "401", "$ref"}, "#/components/responses/Unauthorized"},
		{"503 shared", []string{"paths", "/v1/invoice", "post", "responses", "503", "$ref"}, "#/components/responses/Unavailable"},
		{"error body", []string{"components", "schemas", "Error", "required"}, []any{"code", "message"}},
		{"list-methods needs no rune", []string{"paths", "/v1/list-methods", "get", "security"}, []any{}},
		{"list-methods is HTML", []string{"paths", "/v1/list-methods", "get", "responses", "200", "content", "text/html", "schema", "type"}, "string"},
		{"dynamic path captures", []string{"paths", "/v{version}/{capture}/go", "parameters"}, []any{
			map[string]any{"name": "version", "in": "path", "required": true, "schema": map[string]any{"type": "string"},
				"description": "Captured from the path; passed to the command as a string param."},
			map[string]any{"name": "capture", "in": "path", "required": true, "schema": map[string]any{"type": "string"},
				"description": "Captured from the path; passed to the command as a string param."},
		}},
		{"rune-less GET", []string{"paths", "/v{version}/{capture}/go", "get", "security"}, []any{}},
		{"joined POST", []string{"paths", "/v{version}/{capture}/go", "post", "operationId"}, "post_v_version_capture_go"},
		{"joined POST params less nothing captured", []string{"components", "schemas", "path.v_version_capture_go.post.params", "required"},
			[]any{"amount_msat", "label", "description"}},
		{"capture with suffix", []string{"paths", "/items/{id}.json", "get", "operationId"}, "get_items_id_.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got any
			if has(doc, tt.keys...) {
				got = at(t, doc, tt.keys...)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s\ngot  %#v\nwant %#v", strings.Join(tt.keys, "."), got, tt.want)
			}
		})
	}

	secured := at(t, doc, "paths", "/v{version}/{capture}/go", "post").(map[string]any)
	if _, ok := secured["security"]; ok {
		t.Errorf("got a security override on the POST of a registered path; want the global rune requirement")
	}
	if has(doc, "paths", "/v1/{rpc_method}") {
		t.Errorf("got the generic operation although help answered; want one operation per command")
	}
	content := at(t, doc, "paths", "/v1/invoice", "post", "requestBody", "content").(map[string]any)
	if len(content) != 4 {
		t.Errorf("got %d request formats; want json, yaml, xml, form", len(content))
	}
}

// TestDocumentOrder checks what Swagger UI reads in document order: the
// first request format is its default, properties show in usage order.
func TestDocumentOrder(t *testing.T) {
	raw, err := json.Marshal(buildDocument(docInput{Commands: testCommands(t, helpInvoice)}))
	if err != nil {
		t.Fatalf("encoding: %v", err)
	}
	s := string(raw)
	tests := []struct{ name, first, then string }{
		{"JSON is the first request format", `"application/json"`, `"application/yaml"`},
		{"amount_msat before label", `"amount_msat":{`, `"label":{`},
		{"label before description", `"label":{`, `"description":{"description":"Required`},
		{"required before optional", `"description":{"description":"Required`, `"expiry":{`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i, j := strings.Index(s, tt.first), strings.Index(s, tt.then)
			if i < 0 || j < 0 || i > j {
				t.Errorf("got %s at %d and %s at %d; want the first before the second", tt.first, i, tt.then, j)
			}
		})
	}
}

func TestDocumentShadowing(t *testing.T) {
	tests := []struct {
		name     string
		cmds     []command
		paths    []DynamicPath
		gone     []string
		kept     []string
		getinfoG bool // GET /v1/getinfo documents the registered path
	}{
		{"registered path replaces the command it matches",
			testCommands(t, helpGetinfo, helpInvoice),
			[]DynamicPath{{Path: "v1/getinfo", HTTPMethod: "GET", RPCMethod: "getinfo"}},
			nil, []string{"/v1/invoice", "/v1/getinfo"}, true},
		{"a capture shadows every command and list-methods",
			testCommands(t, helpGetinfo, helpInvoice),
			[]DynamicPath{{Path: "v1/{anything}", HTTPMethod: "POST", RPCMethod: "getinfo", RuneRequired: true}},
			[]string{"/v1/invoice", "/v1/getinfo", "/v1/list-methods"}, []string{"/v1/{anything}"}, false},
		{"same shape as the generic operation replaces it",
			nil,
			[]DynamicPath{{Path: "v1/{x}", HTTPMethod: "POST", RPCMethod: "getinfo", RuneRequired: true}},
			[]string{"/v1/{rpc_method}"}, []string{"/v1/{x}"}, false},
		{"unsupported method and empty method ignored",
			testCommands(t, helpGetinfo),
			[]DynamicPath{{Path: "v1/{x}", HTTPMethod: "TRACE", RPCMethod: "getinfo"}, {Path: "b", HTTPMethod: "GET"}},
			[]string{"/v1/{x}", "/b"}, []string{"/v1/getinfo", "/v1/list-methods"}, false},
		{"lower-case method, several methods on one path",
			testCommands(t, helpGetinfo),
			[]DynamicPath{{Path: "x/{id}", HTTPMethod: "get", RPCMethod: "getinfo"}, {Path: "x/{id}", HTTPMethod: "DELETE", RPCMethod: "getinfo", RuneRequired: true}},
			nil, []string{"/x/{id}", "/v1/getinfo"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := docJSON(t, docInput{Commands: tt.cmds, Paths: tt.paths, HelpErr: errIf(tt.cmds == nil)})
			paths := at(t, doc, "paths").(map[string]any)
			for _, p := range tt.gone {
				if _, ok := paths[p]; ok {
					t.Errorf("got %s; want it gone", p)
				}
			}
			for _, p := range tt.kept {
				if _, ok := paths[p]; !ok {
					t.Errorf("got no %s; want it", p)
				}
			}
			if got := has(doc, "paths", "/v1/getinfo", "get"); got != tt.getinfoG {
				t.Errorf("got GET /v1/getinfo %v; want %v", got, tt.getinfoG)
			}
			if has(doc, "paths", "/v1/getinfo", "post") && tt.getinfoG {
				t.Errorf("got POST /v1/getinfo beside the registered GET; want it shadowed")
			}
		})
	}
}

func errIf(cond bool) error {
	if cond {
		return errUnreachable
	}
	return nil
}

func TestDocumentFallback(t *testing.T) {
	doc := docJSON(t, docInput{HelpErr: errUnreachable, Paths: testPaths[:1]})
	paths := at(t, doc, "paths").(map[string]any)
	var got []string
	for p := range paths {
		got = append(got, p)
	}
	want := map[string]bool{"/v1/{rpc_method}": true, "/v1/list-methods": true, "/v{version}/{capture}/go": true}
	if len(got) != len(want) {
		t.Errorf("got paths %v; want %v", got, want)
	}
	for _, p := range got {
		if !want[p] {
			t.Errorf("got path %s; want only %v", p, want)
		}
	}
	if got := at(t, doc, "paths", "/v1/{rpc_method}", "post", "operationId"); got != "call_rpc_method" {
		t.Errorf("got operationId %v; want call_rpc_method", got)
	}
	if desc := at(t, doc, "info", "description").(string); !strings.Contains(desc, errUnreachable.Error()) {
		t.Errorf("got description %q; want it to say why the command list is missing", desc)
	}
}

// TestDocumentValidates runs maintained OpenAPI validators on documents
// built from a real lightningd's help, with registered paths, and on the
// fallback document: openapi-spec-validator (Python, pip package
// openapi-spec-validator, shipped in the machine image) and
// @apidevtools/swagger-parser (npm, testdata/node). Each one absent is
// skipped, unless CLNREST_REQUIRE_CLIENTS=1.
func TestDocumentValidates(t *testing.T) {
	cmds, err := parseHelp(sampleHelp(t))
	if err != nil {
		t.Fatalf("parseHelp: %v", err)
	}
	dir := t.TempDir()
	docs := map[string]docInput{
		"full.json":     {Commands: cmds, Paths: testPaths, Version: "dev"},
		"fallback.json": {HelpErr: errors.New("calling help: unreachable"), Paths: testPaths, Version: "dev"},
	}
	var files []string
	for name, in := range docs {
		raw, err := json.Marshal(buildDocument(in))
		if err != nil {
			t.Fatalf("encoding %s: %v", name, err)
		}
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, raw, 0o600); err != nil {
			t.Fatalf("writing %s: %v", f, err)
		}
		files = append(files, f)
	}
	for _, v := range validators(t) {
		t.Run(v.name, func(t *testing.T) {
			if v.cmd == nil {
				requireClients(t, v.missing)
				return
			}
			cmd := exec.Command(v.cmd[0], append(v.cmd[1:], files...)...)
			cmd.Dir = v.dir
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Errorf("got %v:\n%s\nwant every document valid", err, out)
			}
		})
	}
}

type validator struct {
	name    string
	cmd     []string // nil when not installed
	dir     string
	missing string
}

func validators(t *testing.T) []validator {
	t.Helper()
	py := validator{name: "openapi-spec-validator",
		missing: "openapi-spec-validator is not installed (pip package openapi-spec-validator, in the machine image)"}
	if p, err := exec.LookPath("openapi-spec-validator"); err == nil {
		py.cmd = []string{p}
	}
	js := validator{name: "swagger-parser", dir: "testdata/node",
		missing: "node or testdata/node/node_modules is missing (run npm ci in swagger/testdata/node)"}
	if node, err := exec.LookPath("node"); err == nil && exists("testdata/node/node_modules/@apidevtools/swagger-parser") {
		js.cmd = []string{node, "validate.mjs"}
	}
	return []validator{py, js}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// requireClients skips a test whose outside tool is missing, or fails it
// when CLNREST_REQUIRE_CLIENTS=1 says CI installed every tool.
func requireClients(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CLNREST_REQUIRE_CLIENTS") == "1" {
		t.Fatalf("%s; CLNREST_REQUIRE_CLIENTS=1 requires it", why)
	}
	t.Skip(why)
}
