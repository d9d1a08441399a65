package swagger

import (
	"encoding/json"
	"sort"
	"strings"
)

// addCommands adds POST /v1/<name> for every command, with a params and
// a result schema in components named "<name>.params" and
// "<name>.result" (command names cannot contain the dot-free names of
// the shared schemas, and the suffixes keep the two apart).
func addCommands(d *document, cmds []command, ids map[string]bool) {
	tags := commandTags(cmds)
	for _, c := range cmds {
		params := paramsSchema(c.Name, c.Params, nil)
		d.Components.Schemas[c.Name+".params"] = params
		d.Components.Schemas[c.Name+".params.form"] = formSchema(params, c.Name)
		d.Components.Schemas[c.Name+".result"] = resultSchema(c.Name)
		op := &operation{
			Tags:        []string{tags[c.Name]},
			Summary:     commandSummary(c),
			Description: commandDescription(c),
			OperationID: operationID(ids, c.Name),
			RequestBody: paramsBody(c.Name+".params", true, c.Name, requiredNames(c.Params, nil)),
			Responses:   callResponses(c.Name+".result", true),
			Deprecated:  c.Deprecated,
		}
		d.Paths["/v1/"+c.Name] = &pathItem{Post: op}
	}
}

// paramsSchema describes a command's params object. Values carry no
// type: lightningd parses each parameter itself and accepts several JSON
// forms for many (numbers or strings with units for amounts, a string or
// an array for a key), so any type here would reject valid calls. Names
// in skip (path captures) are left out. The XML root element is the
// command's name, as clnrest's XML decoder expects.
func paramsSchema(cmd string, params []param, skip map[string]bool) *schema {
	s := &schema{Type: "object", XML: &xmlObject{Name: cmd}}
	for _, p := range params {
		if skip[p.Name] {
			continue
		}
		s.Properties.set(p.Name, paramSchema(p))
		if p.Required {
			s.Required = append(s.Required, p.Name)
		}
	}
	if s.Properties.len() == 0 {
		s.Description = "This command takes no parameters."
	}
	return s
}

func paramSchema(p param) *schema {
	s := &schema{Enum: p.Enum, Example: json.RawMessage("null")}
	if p.Default != "" {
		s.Default = p.Default
	}
	parts := []string{"Optional."}
	if p.Required {
		parts[0] = "Required."
	}
	if p.Repeats {
		parts = append(parts, "May be given several times (as an array).")
	}
	parts = append(parts, "Any JSON value that lightningd accepts for it.")
	s.Description = strings.Join(parts, " ")
	return s
}

// requiredNames lists the required params not in skip, in usage order.
func requiredNames(params []param, skip map[string]bool) []string {
	var out []string
	for _, p := range params {
		if p.Required && !skip[p.Name] {
			out = append(out, p.Name)
		}
	}
	return out
}

// resultSchema is a command's result: any object, whose XML root element
// is the command's name, as clnrest's XML encoder writes it.
func resultSchema(cmd string) *schema {
	yes := true
	return &schema{Type: "object", AdditionalProperties: &yes, XML: &xmlObject{Name: cmd}}
}

// commandSummary is the one line Swagger UI shows beside the path: the
// command's description from an older lightningd, else its usage.
func commandSummary(c command) string {
	switch {
	case c.Summary != "":
		return c.Summary
	case c.Usage != "":
		return c.Usage
	}
	return "(no parameters)"
}

func commandDescription(c command) string {
	var b strings.Builder
	b.WriteString("Runs lightningd's `" + c.Name + "`. Usage: `" + strings.TrimSpace(c.Name+" "+c.Usage) + "`.")
	if c.Deprecated {
		b.WriteString("\n\n**Deprecated:** lightningd lists it only while deprecated APIs are allowed.")
	}
	if c.Doc != "" {
		b.WriteString("\n\n" + c.Doc)
	}
	return b.String()
}

// commandTags groups commands for Swagger UI. lightningd before v24.08
// gives each a category; newer ones do not, so commands sharing a name
// prefix before '-' ("askrene-", "bkpr-", "dev-") form a group, and the
// rest go under one tag.
func commandTags(cmds []command) map[string]string {
	prefixes := map[string]int{}
	for _, c := range cmds {
		if p, _, ok := strings.Cut(c.Name, "-"); ok {
			prefixes[p]++
		}
	}
	for _, c := range cmds {
		if _, exists := prefixes[c.Name]; exists {
			prefixes[c.Name]++ // "xpay" joins "xpay-as-pay"
		}
	}
	tags := make(map[string]string, len(cmds))
	for _, c := range cmds {
		p, _, _ := strings.Cut(c.Name, "-")
		switch {
		case c.Category != "":
			tags[c.Name] = c.Category
		case prefixes[p] >= 2:
			tags[c.Name] = p
		default:
			tags[c.Name] = tagCommands
		}
	}
	return tags
}

// usedTags lists the tags the operations use: clnrest's own first, then
// the command groups by name, then the registered paths.
func usedTags(d *document) []tag {
	seen := map[string]bool{}
	for _, item := range d.Paths {
		for _, op := range item.operations() {
			for _, t := range op.Tags {
				seen[t] = true
			}
		}
	}
	var names []string
	for n := range seen {
		if n != tagClnrest && n != tagDynamic {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var out []tag
	if seen[tagClnrest] {
		out = append(out, tag{Name: tagClnrest, Description: "clnrest's own endpoints"})
	}
	for _, n := range names {
		out = append(out, tag{Name: n, Description: tagDescription(n)})
	}
	if seen[tagDynamic] {
		out = append(out, tag{Name: tagDynamic, Description: "Paths that plugins registered with clnrest-register-path"})
	}
	return out
}

func tagDescription(name string) string {
	if name == tagCommands {
		return "lightningd commands, built-in and from plugins"
	}
	return ""
}
