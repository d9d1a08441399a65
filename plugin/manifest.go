package plugin

import (
	"context"
	"encoding/json"
	"path/filepath"
)

// Option describes one command-line option the plugin adds to lightningd.
// lightningd shows it in `lightningd --help` and `listconfigs`, parses the
// value with the parser for Type, and hands the result back in init.
type Option struct {
	// Name is the option name without the leading "--".
	Name string
	// Type is one of "string", "int", "bool" or "flag": the only types
	// lightningd accepts in a manifest (lightningd/plugin.c).
	Type string
	// Default is the value lightningd reports when the user sets none, as a
	// JSON value. Nil means no default: the option is then absent from init.
	Default json.RawMessage
	// Description is shown by `lightningd --help`.
	Description string
	// Multi lets the option be given several times; init then always
	// carries a JSON array, possibly empty.
	Multi bool
}

// MethodFunc serves one call of a plugin rpc method. params is the raw
// JSON that lightningd forwarded: an object (named) or an array
// (positional). A returned *Error keeps its code; any other error is
// answered with code -32603.
type MethodFunc func(ctx context.Context, params json.RawMessage) (json.RawMessage, error)

// Method is an rpc method that lightningd forwards to the plugin.
type Method struct {
	Name        string
	Usage       string
	Description string
	Handle      MethodFunc
}

// Init is what lightningd sends in the init request.
type Init struct {
	// Options holds one entry per option that has a value or a default,
	// typed as lightningd types it (numbers for int, arrays for multi).
	Options map[string]json.RawMessage `json:"options"`
	// Configuration describes the node the plugin runs in.
	Configuration Configuration `json:"configuration"`
}

// Configuration is the "configuration" object of init.
type Configuration struct {
	LightningDir string `json:"lightning-dir"`
	RPCFile      string `json:"rpc-file"`
	Network      string `json:"network"`
	Startup      bool   `json:"startup"`
}

// RPCPath returns the path of lightningd's JSON-RPC socket: rpc-file
// relative to lightning-dir, unless rpc-file is absolute.
func (c Configuration) RPCPath() string {
	if filepath.IsAbs(c.RPCFile) {
		return c.RPCFile
	}
	return filepath.Join(c.LightningDir, c.RPCFile)
}

// DisableError makes init answer {"disable": Reason}; lightningd then logs
// "Killing plugin: disabled itself at init: <Reason>" and keeps running.
type DisableError struct {
	Reason string
}

func (e *DisableError) Error() string { return "plugin disabled: " + e.Reason }

// Error is a JSON-RPC error answered to lightningd.
type Error struct {
	Code    int64           `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func (e *Error) Error() string { return e.Message }

type manifestOption struct {
	Name        string          `json:"name"`
	Type        string          `json:"type"`
	Default     json.RawMessage `json:"default,omitempty"`
	Description string          `json:"description"`
	Multi       bool            `json:"multi,omitempty"`
}

type manifestMethod struct {
	Name        string `json:"name"`
	Usage       string `json:"usage"`
	Description string `json:"description"`
}

type manifest struct {
	Options       []manifestOption `json:"options"`
	RPCMethods    []manifestMethod `json:"rpcmethods"`
	Subscriptions []string         `json:"subscriptions"`
	Hooks         []struct{}       `json:"hooks"`
	Notifications []struct{}       `json:"notifications"`
	Dynamic       bool             `json:"dynamic"`
	NonNumericIDs bool             `json:"nonnumericids"`
}

func buildManifest(cfg Config) manifest {
	m := manifest{
		Options:       make([]manifestOption, 0, len(cfg.Options)),
		RPCMethods:    make([]manifestMethod, 0, len(cfg.Methods)),
		Subscriptions: append([]string{}, cfg.Subscriptions...),
		Hooks:         []struct{}{},
		Notifications: []struct{}{},
		Dynamic:       cfg.Dynamic,
		NonNumericIDs: true,
	}
	for _, o := range cfg.Options {
		m.Options = append(m.Options, manifestOption(o))
	}
	for _, md := range cfg.Methods {
		m.RPCMethods = append(m.RPCMethods, manifestMethod{Name: md.Name, Usage: md.Usage, Description: md.Description})
	}
	return m
}
