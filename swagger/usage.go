package swagger

import (
	"encoding/json"
	"fmt"
	"strings"
)

// command is one lightningd command as `help` describes it.
type command struct {
	Name       string
	Usage      string // the parameter list, as lightningd printed it
	Params     []param
	Deprecated bool
	Category   string // only lightningd before v24.08 sends one
	Summary    string // ditto (its "description")
	Doc        string // free text: "verbose", or a pyln plugin's docstring
}

// param is one parameter named in a usage string.
type param struct {
	Name     string
	Required bool
	Enum     []string // "subcommand=start|stop" lists the accepted values
	Default  string   // "[name=value]" from a plugin's usage
	Repeats  bool     // "name..." may be given several times
}

// helpEntry is one element of `help`'s "help" array. Since v24.08 it has
// only "command"; older versions add category, description and verbose.
type helpEntry struct {
	Command     string `json:"command"`
	Category    string `json:"category"`
	Description string `json:"description"`
	Verbose     string `json:"verbose"`
}

// deprecatedMark is what lightningd puts between a deprecated command's
// name and its usage (lightningd/jsonrpc.c, json_add_help_command).
const deprecatedMark = "(DEPRECATED!)"

// parseHelp decodes the result of `help` into commands, in the order
// given, skipping entries without a usable name and repeated names.
func parseHelp(result json.RawMessage) ([]command, error) {
	var res struct {
		Help []helpEntry `json:"help"`
	}
	if err := json.Unmarshal(result, &res); err != nil {
		return nil, fmt.Errorf("decoding help result: %w", err)
	}
	if res.Help == nil {
		return nil, fmt.Errorf("decoding help result: no \"help\" array in %.100s", result)
	}
	seen := make(map[string]bool, len(res.Help))
	cmds := make([]command, 0, len(res.Help))
	for _, e := range res.Help {
		c := parseCommand(e.Command)
		if !validCommandName(c.Name) || seen[c.Name] {
			continue
		}
		seen[c.Name] = true
		c.Category = strings.TrimSpace(e.Category)
		c.Summary = strings.TrimSpace(e.Description)
		if v := strings.TrimSpace(e.Verbose); v != "" && v != c.Summary {
			c.Doc = v
		}
		cmds = append(cmds, c)
	}
	return cmds, nil
}

// parseCommand splits a help entry's "command" field. lightningd builds
// it as "<name>[ (DEPRECATED!)] <usage>"; the usage of a built-in command
// is made from its parameter table ("amount_msat label [expiry]", or
// "subcommand=start|stop" for a command with subcommands) and the usage
// of a plugin command is whatever the plugin declared. pyln-client
// plugins append their docstring after a newline, so only the first line
// lists parameters and the rest is documentation.
func parseCommand(field string) command {
	field = strings.TrimLeft(field, " \t")
	name, rest := field, ""
	if i := strings.IndexAny(field, " \t\r\n"); i >= 0 {
		name, rest = field[:i], field[i:]
	}
	c := command{Name: name}
	if r := strings.TrimLeft(rest, " "); strings.HasPrefix(r, deprecatedMark) {
		c.Deprecated = true
		rest = r[len(deprecatedMark):]
	}
	line, doc, _ := strings.Cut(rest, "\n")
	c.Usage = strings.Join(strings.Fields(line), " ")
	c.Params = parseUsage(line)
	c.Doc = dedent(doc)
	return c
}

// parseUsage reads the parameters of a usage line: a plain word is
// required, a word in square brackets optional; "name=a|b" lists the
// values a parameter accepts; "[name=v]" gives a default; a trailing
// "..." marks a parameter that repeats. Words nested inside an open
// bracket are optional. Braces, angle brackets and a bare "..." are
// decoration. Names are kept verbatim (reckless has "target/subcommand"),
// since lightningd matches named params by exactly that string.
func parseUsage(line string) []param {
	var params []param
	seen := map[string]bool{}
	depth := 0
	for _, word := range strings.Fields(line) {
		optional := depth > 0
		for strings.HasPrefix(word, "[") {
			word = word[1:]
			depth++
			optional = true
		}
		// Closing brackets beyond those the word opens itself (as in a
		// default "[exclude=[]]") end optional groups.
		closing := max(strings.Count(word, "]")-strings.Count(word, "["), 0)
		for i := 0; i < closing && strings.HasSuffix(word, "]"); i++ {
			word = word[:len(word)-1]
		}
		depth = max(depth-closing, 0)

		p, ok := parseParam(word, !optional)
		if !ok || seen[p.Name] {
			continue
		}
		seen[p.Name] = true
		params = append(params, p)
	}
	return params
}

// parseParam reads one word of a usage line, brackets already removed.
func parseParam(word string, required bool) (param, bool) {
	word = strings.Trim(word, "{}<>()")
	p := param{Required: required}
	if strings.HasSuffix(word, "...") {
		word = strings.TrimSuffix(word, "...")
		p.Repeats = true
	}
	name, values, hasValues := strings.Cut(word, "=")
	p.Name = strings.Trim(name, "{}<>()")
	if p.Name == "" || strings.ContainsAny(p.Name, "[]") {
		return param{}, false
	}
	if hasValues && values != "" {
		if required || strings.Contains(values, "|") {
			p.Enum = strings.Split(values, "|")
		} else {
			p.Default = values
		}
	}
	return p, true
}

// dedent trims a pyln docstring, which has every line indented by one
// space after the usage line.
func dedent(doc string) string {
	lines := strings.Split(strings.TrimSpace(doc), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// validCommandName accepts the names that can follow /v1/ in a URL as
// one path segment: letters, digits, '-', '_' and '.' (as the REST
// router does). A name outside that set could not be called anyway.
func validCommandName(name string) bool {
	if name == "" || name == "." || name == ".." || name == "list-methods" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
