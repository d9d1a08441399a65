package rest

import "testing"

func TestRequestFormat(t *testing.T) {
	tests := []struct {
		in     string
		want   format
		wantOK bool
	}{
		{"", formatJSON, true},
		{"*/*", formatJSON, true},
		{"application/json", formatJSON, true},
		{"application/json; charset=utf-8", formatJSON, true},
		{"Application/JSON", formatJSON, true},
		{"application/yaml", formatYAML, true},
		{"text/yaml", formatYAML, true},
		{"application/xml", formatXML, true},
		{"text/xml; charset=utf-8", formatXML, true},
		{"application/x-www-form-urlencoded", formatForm, true},
		{"application/x-www-form-urlencoded;charset=UTF-8", formatForm, true},
		{"text/plain", 0, false},
		{"multipart/form-data; boundary=x", 0, false},
		{"application/json, text/plain", formatJSON, true}, // malformed: upstream's substring match
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := requestFormat(tc.in)
			if ok != tc.wantOK || (ok && got != tc.want) {
				t.Errorf("requestFormat(%q): got %v %v; want %v %v", tc.in, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestResponseFormat(t *testing.T) {
	tests := []struct {
		in     string
		want   format
		wantOK bool
	}{
		{"", formatJSON, true},
		{"*/*", formatJSON, true},
		{"application/json, text/plain, */*", formatJSON, true}, // axum/axios default
		{"application/yaml", formatYAML, true},
		{"application/xml", formatXML, true},
		{"application/x-www-form-urlencoded", formatForm, true},
		{"text/html, application/xml;q=0.9, */*;q=0.8", formatXML, true},
		{"application/json;q=0.5, application/yaml", formatYAML, true},
		{"application/yaml;q=0.5, application/xml;q=0.5", formatYAML, true},
		{"application/json;q=0, application/xml", formatXML, true},
		{"text/plain", 0, false},
		{"application/json;q=0", 0, false},
		{"image/png, text/html", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := responseFormat(tc.in)
			if ok != tc.wantOK || (ok && got != tc.want) {
				t.Errorf("responseFormat(%q): got %v %v; want %v %v", tc.in, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}
