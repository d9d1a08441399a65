package swagger

import (
	"encoding/json"
	"reflect"
	"testing"
)

func req(name string) param { return param{Name: name, Required: true} }
func opt(name string) param { return param{Name: name} }

func TestParseCommand(t *testing.T) {
	tests := []struct {
		name  string
		field string
		want  command
	}{
		{"no params: lightningd leaves a trailing space", "getinfo ",
			command{Name: "getinfo"}},
		{"required then optional", "invoice amount_msat label description [expiry] [fallbacks] [preimage] [exposeprivatechannels] [cltv] [deschashonly] [dev-routes]",
			command{Name: "invoice", Usage: "amount_msat label description [expiry] [fallbacks] [preimage] [exposeprivatechannels] [cltv] [deschashonly] [dev-routes]",
				Params: []param{req("amount_msat"), req("label"), req("description"), opt("expiry"), opt("fallbacks"), opt("preimage"),
					opt("exposeprivatechannels"), opt("cltv"), opt("deschashonly"), opt("dev-routes")}}},
		{"deprecated marker", "getroute (DEPRECATED!) id amount_msat [cltv]",
			command{Name: "getroute", Usage: "id amount_msat [cltv]", Deprecated: true,
				Params: []param{req("id"), req("amount_msat"), opt("cltv")}}},
		{"deprecated without params", "paystatus (DEPRECATED!) [bolt11]",
			command{Name: "paystatus", Usage: "[bolt11]", Deprecated: true, Params: []param{opt("bolt11")}}},
		{"subcommands", "plugin subcommand=start|stop|startdir|rescan|list",
			command{Name: "plugin", Usage: "subcommand=start|stop|startdir|rescan|list",
				Params: []param{{Name: "subcommand", Required: true, Enum: []string{"start", "stop", "startdir", "rescan", "list"}}}}},
		{"slash kept in a name (reckless)", "reckless command target/subcommand [target]",
			command{Name: "reckless", Usage: "command target/subcommand [target]",
				Params: []param{req("command"), req("target/subcommand"), opt("target")}}},
		{"pyln docstring after the usage line", helpPlugin,
			command{Name: "summary", Usage: "[exclude]", Params: []param{opt("exclude")},
				Doc: "Gets summary information about this node.\nPass a list of scids to the {exclude} parameter to exclude some channels."}},
		{"pyln method without params but with a docstring", "hello  \n Says hello.",
			command{Name: "hello", Doc: "Says hello."}},
		{"plugin default value", "summary [exclude=[]] [mode=short]",
			command{Name: "summary", Usage: "summary [exclude=[]] [mode=short]"[len("summary "):],
				Params: []param{{Name: "exclude", Default: "[]"}, {Name: "mode", Default: "short"}}}},
		{"optional with choices", "greet [lang=en|fr]",
			command{Name: "greet", Usage: "[lang=en|fr]", Params: []param{{Name: "lang", Enum: []string{"en", "fr"}}}}},
		{"nested brackets are optional", "cmd a [b [c]] d",
			command{Name: "cmd", Usage: "a [b [c]] d", Params: []param{req("a"), opt("b"), opt("c"), req("d")}}},
		{"decoration: angle brackets, braces, ellipsis", "cmd <id> {opts} [args...] ...",
			command{Name: "cmd", Usage: "<id> {opts} [args...] ...", Params: []param{req("id"), req("opts"), {Name: "args", Repeats: true}}}},
		{"repeated names once", "cmd a [a] b",
			command{Name: "cmd", Usage: "a [a] b", Params: []param{req("a"), req("b")}}},
		{"extra spaces collapse", "  cmd   a    [b]  ",
			command{Name: "cmd", Usage: "a [b]", Params: []param{req("a"), opt("b")}}},
		{"name only, newline after it", "cmd\n doc",
			command{Name: "cmd", Doc: "doc"}},
		{"unbalanced bracket never panics", "cmd [a b] ] [",
			command{Name: "cmd", Usage: "[a b] ] [", Params: []param{opt("a"), opt("b")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseCommand(tt.field)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseCommand(%q)\ngot  %+v\nwant %+v", tt.field, got, tt.want)
			}
		})
	}
}

// TestParseHelpSample reads a real lightningd v26.06 `help`.
func TestParseHelpSample(t *testing.T) {
	cmds, err := parseHelp(sampleHelp(t))
	if err != nil {
		t.Fatalf("parseHelp: %v", err)
	}
	if got, want := len(cmds), 207; got != want {
		t.Errorf("got %d commands; want %d", got, want)
	}
	byName := map[string]command{}
	for _, c := range cmds {
		byName[c.Name] = c
	}
	tests := []struct {
		name       string
		params     int
		required   int
		deprecated bool
	}{
		{"getinfo", 0, 0, false},
		{"invoice", 10, 3, false},
		{"getroute", 8, 3, true},
		{"keysend", 11, 2, true},
		{"dev", 1, 1, false},
		{"reckless", 3, 2, false},
		{"xpay-as-pay", 11, 1, false},
		{"clnrest-register-path", 0, 0, false}, // not in this node's help: clnrest was not loaded
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ok := byName[tt.name]
			if tt.name == "clnrest-register-path" {
				if ok {
					t.Errorf("got %s in the sample; want it absent", tt.name)
				}
				return
			}
			if !ok {
				t.Fatalf("got no %s; want it", tt.name)
			}
			required := 0
			for _, p := range c.Params {
				if p.Required {
					required++
				}
			}
			if len(c.Params) != tt.params || required != tt.required || c.Deprecated != tt.deprecated {
				t.Errorf("got %d params, %d required, deprecated %v; want %d, %d, %v",
					len(c.Params), required, c.Deprecated, tt.params, tt.required, tt.deprecated)
			}
		})
	}
}

func TestParseHelpFields(t *testing.T) {
	tests := []struct {
		name    string
		result  string
		want    []command
		wantErr bool
	}{
		{"lightningd before v24.08 adds category and descriptions",
			`{"help":[{"command":"getinfo ","category":"utility","description":"Show information about this node","verbose":"Show information about this node"}]}`,
			[]command{{Name: "getinfo", Category: "utility", Summary: "Show information about this node"}}, false},
		{"verbose kept when it says more",
			`{"help":[{"command":"stop ","category":"utility","description":"Shut down","verbose":"Shut down the lightningd process"}]}`,
			[]command{{Name: "stop", Category: "utility", Summary: "Shut down", Doc: "Shut down the lightningd process"}}, false},
		{"unusable names skipped, duplicates once",
			`{"help":[{"command":""},{"command":"a/b x"},{"command":"list-methods "},{"command":"ok x"},{"command":"ok y"}]}`,
			[]command{{Name: "ok", Usage: "x", Params: []param{req("x")}}}, false},
		{"no help array", `{"something":[]}`, nil, true},
		{"not an object", `[1]`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseHelp(json.RawMessage(tt.result))
			if (err != nil) != tt.wantErr {
				t.Fatalf("got error %v; want error %v", err, tt.wantErr)
			}
			if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
