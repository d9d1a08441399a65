// Command fakeplugin is a tiny Core Lightning plugin for the plugin host's
// tests: it answers getmanifest and init, records what lightningd sent,
// and offers rpcmethods that make it log, fail, write to stdout or stderr
// on request. Environment variables change its behaviour:
//
//	FAKEPLUGIN_MANIFEST         getmanifest result to answer (raw JSON)
//	FAKEPLUGIN_SILENT=1         never answer getmanifest
//	FAKEPLUGIN_IGNORE_SHUTDOWN=1  keep running after the shutdown notification
//	FAKEPLUGIN_EXIT_CODE        exit code after shutdown or stdin EOF (default 0)
//
// The option fake-disable, when set, makes it answer init with
// {"disable": <its value>}, the way clnrest refuses a bad configuration.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
)

const defaultManifest = `{
  "options": [
    {"name": "fake-port", "type": "int", "description": "a port, no default"},
    {"name": "fake-host", "type": "string", "default": "127.0.0.1", "description": "a host"},
    {"name": "fake-origins", "type": "string", "default": "*", "multi": true, "description": "origins"},
    {"name": "fake-list", "type": "string", "multi": true, "description": "multi, no default"},
    {"name": "fake-count", "type": "int", "default": 7, "multi": true, "description": "multi int"},
    {"name": "fake-flag", "type": "flag", "description": "a flag"},
    {"name": "fake-bool", "type": "bool", "default": true, "description": "a bool"},
    {"name": "fake-secret", "type": "string-conceal", "description": "concealed"},
    {"name": "fake-disable", "type": "string", "description": "disable reason at init"}
  ],
  "rpcmethods": [
    {"name": "fake-state", "usage": "", "description": "what lightningd sent so far"},
    {"name": "fake-echo", "usage": "[anything]", "description": "returns its params"},
    {"name": "fake-fail", "usage": "", "description": "returns an error"},
    {"name": "fake-log", "usage": "level message", "description": "sends a log notification"},
    {"name": "fake-raw", "usage": "raw", "description": "writes raw text to stdout"},
    {"name": "fake-stderr", "usage": "text", "description": "writes text to stderr"}
  ],
  "subscriptions": ["*"],
  "notifications": [{"method": "fake_event"}],
  "dynamic": true,
  "nonnumericids": true
}`

// message is one JSON-RPC message from lightningd.
type message struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
}

// state is what the plugin has seen, returned by fake-state.
type state struct {
	GetManifest   json.RawMessage   `json:"getmanifest"`
	Init          json.RawMessage   `json:"init"`
	IDs           []json.RawMessage `json:"ids"`
	Notifications []json.RawMessage `json:"notifications"`
	Cwd           string            `json:"cwd"`
	Args          []string          `json:"args"`
	Env           map[string]string `json:"env"`
}

type plugin struct {
	out   *bufio.Writer
	state state
}

func main() {
	p := &plugin{out: bufio.NewWriter(os.Stdout)}
	cwd, _ := os.Getwd()
	p.state.Cwd = cwd
	p.state.Args = os.Args[1:]
	p.state.Env = map[string]string{
		"LIGHTNINGD_PLUGIN":  os.Getenv("LIGHTNINGD_PLUGIN"),
		"LIGHTNINGD_VERSION": os.Getenv("LIGHTNINGD_VERSION"),
	}
	dec := json.NewDecoder(os.Stdin)
	for {
		var msg message
		if err := dec.Decode(&msg); err != nil {
			if !errors.Is(err, io.EOF) {
				fmt.Fprintln(os.Stderr, "fakeplugin: reading stdin:", err)
			}
			os.Exit(exitCode())
		}
		p.handle(msg)
		p.out.Flush()
	}
}

func exitCode() int {
	code, err := strconv.Atoi(os.Getenv("FAKEPLUGIN_EXIT_CODE"))
	if err != nil {
		return 0
	}
	return code
}

func (p *plugin) handle(msg message) {
	if msg.ID == nil {
		p.notification(msg)
		return
	}
	p.state.IDs = append(p.state.IDs, msg.ID)
	switch msg.Method {
	case "getmanifest":
		p.state.GetManifest = msg.Params
		if os.Getenv("FAKEPLUGIN_SILENT") == "1" {
			return
		}
		manifest := os.Getenv("FAKEPLUGIN_MANIFEST")
		if manifest == "" {
			manifest = defaultManifest
		}
		p.reply(msg.ID, json.RawMessage(manifest))
	case "init":
		p.init(msg)
	default:
		p.method(msg)
	}
}

func (p *plugin) init(msg message) {
	p.state.Init = msg.Params
	var params struct {
		Options map[string]json.RawMessage `json:"options"`
	}
	json.Unmarshal(msg.Params, &params)
	if reason, ok := params.Options["fake-disable"]; ok {
		p.reply(msg.ID, map[string]json.RawMessage{"disable": reason})
		return
	}
	p.reply(msg.ID, map[string]string{})
}

func (p *plugin) notification(msg message) {
	raw, _ := json.Marshal(msg)
	p.state.Notifications = append(p.state.Notifications, raw)
	if msg.Method != "shutdown" {
		return
	}
	fmt.Fprintf(os.Stderr, "fakeplugin: got shutdown %s\n", msg.Params)
	if os.Getenv("FAKEPLUGIN_IGNORE_SHUTDOWN") != "1" {
		p.out.Flush()
		os.Exit(exitCode())
	}
}

func (p *plugin) method(msg message) {
	var args map[string]json.RawMessage
	json.Unmarshal(msg.Params, &args)
	switch msg.Method {
	case "fake-state":
		p.reply(msg.ID, p.state)
	case "fake-echo":
		p.reply(msg.ID, msg.Params)
	case "fake-fail":
		p.send(map[string]any{"jsonrpc": "2.0", "id": msg.ID, "error": map[string]any{
			"code": 1234, "message": "fake failure", "data": map[string]int{"x": 1}}})
	case "fake-log":
		p.send(map[string]any{"jsonrpc": "2.0", "method": "log", "params": args})
		p.reply(msg.ID, map[string]string{})
	case "fake-raw":
		var raw string
		json.Unmarshal(args["raw"], &raw)
		p.out.WriteString(raw)
		p.reply(msg.ID, map[string]string{})
	case "fake-stderr":
		var text string
		json.Unmarshal(args["text"], &text)
		fmt.Fprint(os.Stderr, text)
		p.reply(msg.ID, map[string]string{})
	default:
		p.send(map[string]any{"jsonrpc": "2.0", "id": msg.ID, "error": map[string]any{
			"code": -32601, "message": "unknown method " + msg.Method}})
	}
}

func (p *plugin) reply(id json.RawMessage, result any) {
	p.send(map[string]any{"jsonrpc": "2.0", "id": id, "result": result})
}

// send writes one message; HTML characters stay unescaped so the tests
// see exactly what lightningd sent.
func (p *plugin) send(v any) {
	enc := json.NewEncoder(p.out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		fmt.Fprintln(os.Stderr, "fakeplugin: encoding:", err)
		os.Exit(2)
	}
	p.out.WriteString("\n")
}
