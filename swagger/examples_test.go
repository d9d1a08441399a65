package swagger

import "testing"

func TestXMLElementName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"amount_msat", "amount_msat"},
		{"dev-routes", "dev-routes"},
		{"target/subcommand", "target_x002F_subcommand"},
		{"1st", "_x0031_st"},
		{"_x0041_", "_x005F_x0041_"},
		{"", "_x_"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := xmlElementName(tt.in); got != tt.want {
				t.Errorf("xmlElementName(%q) = %q; want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestXMLExample(t *testing.T) {
	tests := []struct {
		name     string
		root     string
		required []string
		want     string
	}{
		{"no params", "getinfo", nil, "<getinfo>\n</getinfo>"},
		{"required params", "datastore", []string{"key"}, "<datastore>\n  <key></key>\n</datastore>"},
		{"escaped name", "reckless", []string{"command", "target/subcommand"},
			"<reckless>\n  <command></command>\n  <target_x002F_subcommand></target_x002F_subcommand>\n</reckless>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := xmlExample(tt.root, tt.required); got != tt.want {
				t.Errorf("got %q; want %q", got, tt.want)
			}
		})
	}
}
