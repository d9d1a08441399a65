package swagger

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Try it out starts from an example body, and an untouched example must
// not send values nobody chose. In JSON and YAML every parameter's
// example is null, which lists them all and which clnrest removes before
// calling lightningd (contract §5), so an untouched body sends nothing.
// XML and form fields cannot say null (an empty element or field is the
// empty string), so their examples hold only the required parameters,
// empty, for the user to fill in.

// xmlExample is an XML body for root with the required params empty.
func xmlExample(root string, required []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<%s>\n", xmlElementName(root))
	for _, name := range required {
		n := xmlElementName(name)
		fmt.Fprintf(&b, "  <%s></%s>\n", n, n)
	}
	fmt.Fprintf(&b, "</%s>", xmlElementName(root))
	return b.String()
}

// formSchema is params for Swagger UI's form fields, which always start
// with "Send empty value" ticked: an optional field left empty would go
// out as the empty string, which lightningd refuses for most parameters.
// So the form lists the required params only, starting empty, and the
// description names the optional ones, for JSON, YAML or XML.
func formSchema(params *schema, cmd string) *schema {
	form := *params
	form.Properties = ordered[*schema]{}
	var optional []string
	for _, name := range params.Properties.keys {
		p := *params.Properties.vals[name]
		if !slices.Contains(params.Required, name) {
			optional = append(optional, name)
			continue
		}
		p.Example = json.RawMessage(`""`)
		form.Properties.set(name, &p)
	}
	if len(optional) > 0 {
		form.Description = "Only the required params of " + cmd + "; its optional ones (" +
			strings.Join(optional, ", ") + ") can be sent as JSON, YAML or XML."
	}
	return &form
}

// xmlElementName writes a param name as an XML element name the way
// clnrest's XML decoder reads it back: a character that cannot appear
// there (a '/' as in reckless's "target/subcommand", a leading digit)
// becomes _xHHHH_.
func xmlElementName(name string) string {
	var b strings.Builder
	for i, r := range name {
		letter := r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z'
		ok := letter || i > 0 && (r == '-' || r == '.' || '0' <= r && r <= '9')
		if ok && !(r == '_' && strings.HasPrefix(name[i:], "_x")) {
			b.WriteRune(r)
			continue
		}
		fmt.Fprintf(&b, "_x%04X_", r)
	}
	if b.Len() == 0 {
		return "_x_"
	}
	return b.String()
}
