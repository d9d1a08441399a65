package config

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func opts(kv ...string) map[string]json.RawMessage {
	m := map[string]json.RawMessage{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = json.RawMessage(kv[i+1])
	}
	return m
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		opts map[string]json.RawMessage
		want string
	}{
		{"no port", opts(), "`clnrest-port` option is not configured"},
		{"port too low", opts(Port, "1000"), "`clnrest-port` 1000, should be a valid available port between 1024 and 65535."},
		{"port too high", opts(Port, "65536"), "`clnrest-port` 65536, should be a valid available port between 1024 and 65535."},
		{"port negative", opts(Port, "-1"), "`clnrest-port` -1, should be a valid available port between 1024 and 65535."},
		{"bad protocol", opts(Port, "3010", Protocol, `"ftp"`), "`clnrest-protocol` can either be http or https."},
		{"bad host", opts(Port, "3010", Host, `"example.com"`), "`clnrest-host` should be a valid IP."},
		{"host with port", opts(Port, "3010", Host, `"127.0.0.1:80"`), "`clnrest-host` should be a valid IP."},
		{"bracketed v4", opts(Port, "3010", Host, `"[127.0.0.1]"`), "`clnrest-host` should be a valid IP."},
		{"empty cors", opts(Port, "3010", CORSOrigins, `[]`), "`clnrest-cors-origins` must not be empty!"},
		{"bad cors regex", opts(Port, "3010", CORSOrigins, `["https?://(a"]`), "`clnrest-cors-origins` \"https?://(a\" is neither an origin nor a valid regular expression: error parsing regexp: missing closing ): `^(?:https?://(a)$`"},
		{"swagger root", opts(Port, "3010", SwaggerRoot, `"docs"`), "`clnrest-swagger-root` must start with `/`"},
		{"max body", opts(Port, "3010", MaxBody, `0`), "`clnrest-max-body` 0, should be a positive number of bytes."},
		{"recheck", opts(Port, "3010", WSRecheck, `-5`), "`clnrest-ws-recheck` -5, should be 0 (off) or a number of seconds."},
		{"max requests zero", opts(Port, "3010", MaxRequests, `0`), "`clnrest-max-requests` 0, should be between 1 and 1048576."},
		{"max requests huge", opts(Port, "3010", MaxRequests, `1048577`), "`clnrest-max-requests` 1048577, should be between 1 and 1048576."},
		{"max requests text", opts(Port, "3010", MaxRequests, `"many"`), "`clnrest-max-requests` many, should be an integer."},
		{"port first", opts(Port, "80", Protocol, `"ftp"`), "`clnrest-port` 80, should be a valid available port between 1024 and 65535."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.opts, "/ld/regtest")
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("got %v; want *Error %q", err, tc.want)
			}
			if ce.Reason != tc.want {
				t.Errorf("got %q; want %q", ce.Reason, tc.want)
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name                string
		opts                map[string]json.RawMessage
		wantAddr, wantURL   string
		wantTLS             bool
		wantCerts, wantRoot string
		wantMaxBody         int64
		wantRecheck         time.Duration
	}{
		{"defaults", opts(Port, "3010"), "127.0.0.1:3010", "https://127.0.0.1:3010", true, "/ld/regtest", "/", DefaultMaxBody, time.Minute},
		{"http any case", opts(Port, "3010", Protocol, `"HTTP"`), "127.0.0.1:3010", "http://127.0.0.1:3010", false, "/ld/regtest", "/", DefaultMaxBody, time.Minute},
		{"ipv6 bare", opts(Port, "3010", Host, `"::1"`), "[::1]:3010", "https://[::1]:3010", true, "/ld/regtest", "/", DefaultMaxBody, time.Minute},
		{"ipv6 brackets", opts(Port, "3010", Host, `"[::1]"`), "[::1]:3010", "https://[::1]:3010", true, "/ld/regtest", "/", DefaultMaxBody, time.Minute},
		{"localhost", opts(Port, "3010", Host, `"localhost"`), "localhost:3010", "https://localhost:3010", true, "/ld/regtest", "/", DefaultMaxBody, time.Minute},
		{"all set", opts(Port, "65535", Host, `"0.0.0.0"`, Certs, `"/certs"`, SwaggerRoot, `"/docs"`, MaxBody, `1024`, WSRecheck, `0`),
			"0.0.0.0:65535", "https://0.0.0.0:65535", true, "/certs", "/docs", 1024, 0},
		{"quoted port", opts(Port, `"1024"`), "127.0.0.1:1024", "https://127.0.0.1:1024", true, "/ld/regtest", "/", DefaultMaxBody, time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(tc.opts, "/ld/regtest")
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if c.Addr != tc.wantAddr || c.URL() != tc.wantURL || c.TLS != tc.wantTLS {
				t.Errorf("got addr %q url %q tls %v; want %q %q %v", c.Addr, c.URL(), c.TLS, tc.wantAddr, tc.wantURL, tc.wantTLS)
			}
			if c.CertsDir != tc.wantCerts || c.SwaggerRoot != tc.wantRoot || c.MaxBody != tc.wantMaxBody || c.WSRecheck != tc.wantRecheck {
				t.Errorf("got certs %q root %q maxbody %d recheck %v", c.CertsDir, c.SwaggerRoot, c.MaxBody, c.WSRecheck)
			}
			if c.CSP != DefaultCSP {
				t.Errorf("CSP: got %q; want default", c.CSP)
			}
		})
	}
}

func TestParseMaxRequests(t *testing.T) {
	tests := []struct {
		name string
		opts map[string]json.RawMessage
		want int
	}{
		{"default", opts(Port, "3010"), DefaultMaxRequests},
		{"one", opts(Port, "3010", MaxRequests, `1`), 1},
		{"quoted", opts(Port, "3010", MaxRequests, `"20000"`), 20000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(tc.opts, "/ld/regtest")
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if c.MaxRequests != tc.want {
				t.Errorf("MaxRequests: got %d; want %d", c.MaxRequests, tc.want)
			}
		})
	}
}

func TestOrigins(t *testing.T) {
	tests := []struct {
		name    string
		entries []string
		origin  string
		want    bool
	}{
		{"star", []string{"*"}, "https://evil.example", true},
		{"exact match", []string{"https://pay.example.com"}, "https://pay.example.com", true},
		{"exact dots are literal", []string{"https://pay.example.com"}, "https://payXexample.com", false},
		{"exact other port", []string{"http://localhost:3000"}, "http://localhost:3001", false},
		{"list second", []string{"http://a.test", "http://b.test"}, "http://b.test", true},
		{"regex from upstream docs", []string{`https?://127.0.0.1:([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])`}, "http://127.0.0.1:8080", true},
		{"regex anchored end", []string{`https?://127\.0\.0\.1:[0-9]+`}, "http://127.0.0.1:8080.evil.com", false},
		{"regex anchored start", []string{`https://a\.test`}, "https://evil.com/https://a.test", false},
		{"null origin", []string{"https://a.test"}, "null", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := NewOrigins(tc.entries)
			if err != nil {
				t.Fatalf("NewOrigins: %v", err)
			}
			if got := o.Allows(tc.origin); got != tc.want {
				t.Errorf("Allows(%q): got %v; want %v", tc.origin, got, tc.want)
			}
		})
	}
}

func TestOptionsTable(t *testing.T) {
	want := map[string]struct {
		typ   string
		def   string
		multi bool
	}{
		Port: {"int", "", false}, Certs: {"string", "", false}, Protocol: {"string", `"https"`, false},
		Host: {"string", `"127.0.0.1"`, false}, CORSOrigins: {"string", `"*"`, true}, CSP: {"string", `"` + DefaultCSP + `"`, false},
		SwaggerRoot: {"string", `"/"`, false}, MaxBody: {"int", "8388608", false}, WSRecheck: {"int", "60", false},
		MaxRequests: {"int", "4096", false},
	}
	got := Options()
	if len(got) != len(want) {
		t.Fatalf("got %d options; want %d", len(got), len(want))
	}
	for _, o := range got {
		w, ok := want[o.Name]
		if !ok {
			t.Errorf("unexpected option %s", o.Name)
			continue
		}
		if o.Type != w.typ || string(o.Default) != w.def || o.Multi != w.multi || o.Description == "" {
			t.Errorf("%s: got type %s default %s multi %v; want %s %s %v", o.Name, o.Type, o.Default, o.Multi, w.typ, w.def, w.multi)
		}
	}
}
