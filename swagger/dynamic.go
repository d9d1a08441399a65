package swagger

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// DynamicPath is one route that a plugin registered with
// clnrest-register-path, for example "v{version}/{capture}/go". A
// segment holds static text or one {name} capture, possibly with static
// text around it; captures reach RPCMethod as string params.
type DynamicPath struct {
	Path         string
	HTTPMethod   string
	RPCMethod    string
	RuneRequired bool
}

// pathGroup is the registrations that the REST router serves as one path.
type pathGroup struct {
	template string   // OpenAPI path, with a leading '/'
	segs     []string // template split at '/'
	captures []string
	item     *pathItem
}

// addDynamicPaths adds the registered paths. A registration whose path,
// read as a request path, matches an earlier one joins it, as the REST
// router does ("v1/{x}/go" joins "v{version}/{x}/go"). Registered paths
// are matched before any other route, so a command or list-methods path
// that one of them matches is unreachable and is removed.
func addDynamicPaths(d *document, paths []DynamicPath, cmds []command, ids map[string]bool) {
	byName := make(map[string]command, len(cmds))
	for _, c := range cmds {
		byName[c.Name] = c
	}
	var groups []*pathGroup
	for _, dp := range paths {
		method := strings.ToUpper(dp.HTTPMethod)
		template, captures := pathTemplate(dp.Path)
		if template == "/" || dp.RPCMethod == "" || !slices.Contains(methodOrder, method) {
			continue // the registry refuses these; nothing to document
		}
		g := findGroup(groups, template)
		if g == nil {
			g = &pathGroup{template: template, segs: strings.Split(template, "/"), captures: captures, item: &pathItem{}}
			for _, name := range captures {
				g.item.Parameters = append(g.item.Parameters, parameter{
					Name: name, In: "path", Required: true, Schema: &schema{Type: "string"},
					Description: "Captured from the path; passed to the command as a string param.",
				})
			}
			groups = append(groups, g)
		}
		g.item.set(method, dynamicOperation(dp, method, g, byName, ids, d.Components.Schemas))
	}
	for _, g := range groups {
		removeShadowed(d, g)
	}
	for _, g := range groups {
		d.Paths[g.template] = g.item
	}
}

// dynamicOperation documents one registered route. A GET registered
// without a rune needs none; everything else needs one. The params
// schema is the command's, less the names the path captures (the REST
// router refuses a param given both ways).
func dynamicOperation(dp DynamicPath, method string, g *pathGroup, byName map[string]command, ids map[string]bool, schemas map[string]*schema) *operation {
	op := &operation{
		Tags:        []string{tagDynamic},
		Summary:     fmt.Sprintf("Runs %s", dp.RPCMethod),
		Description: fmt.Sprintf("Registered by a plugin with clnrest-register-path: %s /%s runs lightningd's `%s`; path captures become string params.", method, strings.Trim(dp.Path, "/"), dp.RPCMethod),
		OperationID: operationID(ids, strings.ToLower(method)+"_"+identifier(g.template)),
	}
	needsRune := dp.RuneRequired || method != http.MethodGet
	if !needsRune {
		op.Security = noSecurity()
	}
	skip := make(map[string]bool, len(g.captures))
	for _, c := range g.captures {
		skip[c] = true
	}
	c, known := byName[dp.RPCMethod]
	if method != http.MethodGet {
		name := fmt.Sprintf("path.%s.%s.params", identifier(g.template), strings.ToLower(method))
		params := paramsSchema(dp.RPCMethod, c.Params, skip)
		if !known {
			yes := true
			params.AdditionalProperties = &yes
			params.Description = "The command's params by name."
		}
		schemas[name] = params
		schemas[name+".form"] = formSchema(params, dp.RPCMethod)
		op.RequestBody = paramsBody(name, true, dp.RPCMethod, requiredNames(c.Params, skip))
	}
	result := anyResult
	if validCommandName(dp.RPCMethod) {
		result = dp.RPCMethod + ".result"
		if schemas[result] == nil {
			schemas[result] = resultSchema(dp.RPCMethod)
		}
	}
	op.Responses = callResponses(result, needsRune)
	return op
}

// findGroup returns the group whose template matches template read as a
// request path, or nil.
func findGroup(groups []*pathGroup, template string) *pathGroup {
	parts := strings.Split(template, "/")
	for _, g := range groups {
		if segmentsMatch(g.segs, parts) {
			return g
		}
	}
	return nil
}

// removeShadowed deletes the paths already in d that g's template
// matches: concrete paths it would capture, and a templated path of the
// same shape (the generic /v1/{rpc_method}).
func removeShadowed(d *document, g *pathGroup) {
	for p := range d.Paths {
		if segmentsMatch(g.segs, strings.Split(p, "/")) || shape(p) == shape(g.template) {
			delete(d.Paths, p)
		}
	}
}

// segmentsMatch reports whether a request path's parts match a template's
// segments: static segments equal, a capture segment "pre{name}suf" any
// part with that prefix and suffix and at least one character between.
func segmentsMatch(segs, parts []string) bool {
	if len(segs) != len(parts) {
		return false
	}
	for i, s := range segs {
		open, end := strings.IndexByte(s, '{'), strings.LastIndexByte(s, '}')
		if open < 0 || end < open {
			if s != parts[i] {
				return false
			}
			continue
		}
		pre, suf := s[:open], s[end+1:]
		p := parts[i]
		if len(p) <= len(pre)+len(suf) || !strings.HasPrefix(p, pre) || !strings.HasSuffix(p, suf) {
			return false
		}
	}
	return true
}

// shape is a path with its capture names blanked: two templates of the
// same shape are one path to OpenAPI.
func shape(p string) string {
	var b strings.Builder
	depth := 0
	for _, r := range p {
		switch {
		case r == '{':
			depth++
			b.WriteString("{}")
		case r == '}':
			depth = max(depth-1, 0)
		case depth == 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// identifier turns a path into a name usable in an operationId and a
// component name: runs of other characters become one '_'.
func identifier(p string) string {
	var b strings.Builder
	under := false
	for _, r := range strings.Trim(p, "/") {
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '.' {
			b.WriteRune(r)
			under = false
		} else if !under && b.Len() > 0 {
			b.WriteByte('_')
			under = true
		}
	}
	return strings.TrimSuffix(b.String(), "_")
}
