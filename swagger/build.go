package swagger

import (
	"fmt"
	"net/http"
	"strings"
)

// Names the document uses for its shared parts.
const (
	securityName  = "api_key" // upstream's name for the rune scheme
	runeHeader    = "rune"
	errorSchema   = "Error"
	anyParams     = "Params"
	anyResult     = "Result"
	tagClnrest    = "clnrest"
	tagDynamic    = "registered paths"
	tagCommands   = "rpc"
	listMethodsOp = "list-methods"
)

// bodyTypes are the request and response formats clnrest speaks, the
// first being Swagger UI's default choice.
var bodyTypes = []string{"application/json", "application/yaml", "application/xml", "application/x-www-form-urlencoded"}

// errorResponses are the failures every call can answer, by status,
// with the component name that describes each.
var errorResponses = []struct{ status, name, text string }{
	{"400", "BadRequest", "The body could not be parsed in the format its Content-Type names, or params conflict with path captures."},
	{"401", "Unauthorized", "lightningd's checkrune refused the rune; the body is lightningd's error object (codes 1501-1503)."},
	{"403", "Forbidden", "No rune header was sent (code 1501, \"Not authorized: Missing rune\")."},
	{"404", "NotFound", "lightningd does not know the command (code -32601), or the path matches nothing."},
	{"406", "NotAcceptable", "The Content-Type or Accept header names no format clnrest supports."},
	{"413", "PayloadTooLarge", "The request body is larger than clnrest accepts."},
	{"500", "InternalError", "lightningd answered the command with an error; the body is its error object."},
	{"503", "Unavailable", "lightningd cannot be reached through its RPC socket; try again later."},
}

// docInput is everything one document is made from.
type docInput struct {
	Commands []command // nil when `help` failed
	HelpErr  error
	Paths    []DynamicPath
	Version  string
}

// buildDocument assembles the OpenAPI document: one POST /v1/<command>
// operation per command (or the generic /v1/{rpc_method} when the
// command list is unknown), GET /v1/list-methods, and the registered
// dynamic paths, which take precedence as they do in the REST router.
func buildDocument(in docInput) *document {
	d := &document{
		OpenAPI:  openAPIVersion,
		Info:     info{Title: "Core Lightning REST API (clnrest)", Description: describeAPI(in.HelpErr), Version: in.Version},
		Servers:  []server{{URL: "/", Description: "this clnrest server"}},
		Security: []securityNeed{{securityName: {}}},
		Paths:    map[string]*pathItem{},
		Components: components{
			Schemas:         baseSchemas(),
			Responses:       baseResponses(),
			SecuritySchemes: map[string]*securityScheme{securityName: runeScheme()},
		},
	}
	ids := map[string]bool{}
	d.Paths["/v1/list-methods"] = &pathItem{Get: listMethodsOperation()}
	ids[listMethodsOp] = true
	if in.Commands == nil {
		d.Paths["/v1/{rpc_method}"] = genericCallPath()
		ids["call_rpc_method"] = true
	} else {
		addCommands(d, in.Commands, ids)
	}
	addDynamicPaths(d, in.Paths, in.Commands, ids)
	d.Tags = usedTags(d)
	return d
}

func describeAPI(helpErr error) string {
	text := "Every lightningd command, built-in or from a plugin, as POST /v1/<command>, " +
		"plus the paths other plugins registered with clnrest-register-path.\n\n" +
		"**Authorization:** send a rune (see `createrune`) in the `rune` header: use *Authorize*.\n\n" +
		"**Parameters** are named as in lightningd's `help` usage strings; a parameter in square " +
		"brackets there is optional. Their values are left untyped here because lightningd accepts " +
		"several forms for many of them (an amount may be `1000`, `\"1000msat\"`, `\"1sat\"` or `\"any\"`): " +
		"see each command's manual page for the forms it accepts.\n\n" +
		"**Formats:** bodies may be JSON, YAML, XML (the root element named after the command) or " +
		"form-urlencoded (`key[0]=a` for arrays); the Accept header chooses the response format. " +
		"Success is **201**; every error body is a JSON object `{code, message[, data]}`."
	if helpErr != nil {
		text += "\n\n*lightningd's command list could not be read when this document was made " +
			"(" + helpErr.Error() + "), so only the generic operation is listed; reload to retry.*"
	}
	return text
}

func runeScheme() *securityScheme {
	return &securityScheme{
		Type: "apiKey", Name: runeHeader, In: "header",
		Description: "A rune from lightningd (`createrune`); lightningd's `checkrune` decides what it may call.",
	}
}

func baseSchemas() map[string]*schema {
	yes := true
	return map[string]*schema{
		errorSchema: {
			Type:        "object",
			Description: "lightningd's JSON-RPC error object, or clnrest's own in the same shape.",
			Required:    []string{"code", "message"},
			Properties:  errorProperties(),
		},
		anyParams: {Type: "object", Description: "The command's params by name.", AdditionalProperties: &yes},
		anyResult: {Type: "object", Description: "lightningd's result object.", AdditionalProperties: &yes},
	}
}

func baseResponses() map[string]*response {
	out := make(map[string]*response, len(errorResponses))
	for _, e := range errorResponses {
		out[e.name] = &response{
			Description: e.text,
		}
		out[e.name].Content.set("application/json", &mediaType{Schema: ref(errorSchema)})
	}
	return out
}

// callResponses are the responses of an operation that runs an RPC
// command: 201 with result (a schema reference) in every format, and the
// shared errors. Operations without a rune requirement omit 401 and 403.
func callResponses(result string, needsRune bool) map[string]*response {
	var content ordered[*mediaType]
	for _, t := range bodyTypes {
		content.set(t, &mediaType{Schema: ref(result)})
	}
	out := map[string]*response{"201": {Description: "The command's result.", Content: content}}
	for _, e := range errorResponses {
		if !needsRune && (e.status == "401" || e.status == "403") {
			continue
		}
		out[e.status] = &response{Ref: "#/components/responses/" + e.name}
	}
	return out
}

// paramsBody is a request body whose formats have the schema named
// params, and params+".form" for form fields when form is set (see
// examples.go); root is the command, the XML root element ("" when
// unknown); required lists the required params.
func paramsBody(params string, form bool, root string, required []string) *requestBody {
	var content ordered[*mediaType]
	for _, t := range bodyTypes {
		mt := &mediaType{Schema: ref(params)}
		switch {
		case t == "application/xml" && root != "":
			mt.Example = xmlExample(root, required)
		case t == "application/x-www-form-urlencoded" && form:
			mt.Schema = ref(params + ".form")
		}
		content.set(t, mt)
	}
	return &requestBody{Description: "The command's params; an empty body means none.", Content: content, Required: len(required) > 0}
}

func ref(name string) *schema { return &schema{Ref: "#/components/schemas/" + name} }

func listMethodsOperation() *operation {
	var html ordered[*mediaType]
	html.set("text/html", &mediaType{Schema: &schema{Type: "string"}})
	return &operation{
		Tags:        []string{tagClnrest},
		Summary:     "Lists lightningd's commands and their usage, as HTML",
		OperationID: listMethodsOp,
		Responses: map[string]*response{
			"200": {Description: "One block per command.", Content: html},
			"500": {Ref: "#/components/responses/InternalError"},
			"503": {Ref: "#/components/responses/Unavailable"},
		},
		Security: noSecurity(),
	}
}

// genericCallPath is upstream's single operation for any command; it is
// served when the command list could not be read.
func genericCallPath() *pathItem {
	return &pathItem{
		Parameters: []parameter{{
			Name: "rpc_method", In: "path", Required: true, Schema: &schema{Type: "string"},
			Description: "The lightningd command, for example `getinfo`.",
		}},
		Post: &operation{
			Tags:        []string{tagCommands},
			Summary:     "Calls any lightningd command",
			OperationID: "call_rpc_method",
			RequestBody: paramsBody(anyParams, false, "", nil),
			Responses:   callResponses(anyResult, true),
		},
	}
}

// pathTemplate turns a registered path ("v{version}/{id}/go") into an
// OpenAPI path ("/v{version}/{id}/go") and the names of its captures.
func pathTemplate(p string) (string, []string) {
	p = "/" + strings.Trim(p, "/")
	var names []string
	for rest := p; ; {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			break
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			break
		}
		names = append(names, rest[open+1:open+end])
		rest = rest[open+end+1:]
	}
	return p, names
}

// operationID makes id unique among ids, and records it.
func operationID(ids map[string]bool, id string) string {
	out := id
	for n := 2; ids[out]; n++ {
		out = fmt.Sprintf("%s_%d", id, n)
	}
	ids[out] = true
	return out
}

// methodOrder lists the HTTP methods a registered path can have.
var methodOrder = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

func errorProperties() ordered[*schema] {
	var p ordered[*schema]
	p.set("code", &schema{Type: "integer", Format: "int64"})
	p.set("message", &schema{Type: "string"})
	p.set("data", &schema{Description: "Details lightningd sent with the error, when it sent any (usually an object)."})
	return p
}
