package lightningdtest

// This file is the plugin-host half of the simulated lightningd: it starts a
// plugin executable and speaks lightningd's plugin protocol with it over
// stdin/stdout, the way lightningd/plugin.c does (v24.02 to v26.06).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"time"
)

const (
	// PluginStartupTimeout is how long lightningd waits for each of the
	// getmanifest and init answers before it kills the plugin
	// (PLUGIN_STARTUP_TIMEOUT in lightningd/plugin.c since v25.02; v24.x
	// used 60 s, PLUGIN_MANIFEST_TIMEOUT).
	PluginStartupTimeout = 120 * time.Second

	// PluginShutdownGrace is how long lightningd waits for a plugin to exit
	// after the shutdown notification before it gives up on it
	// (shutdown_plugins in lightningd/plugin.c; `plugin stop` uses the same
	// 30 s in lightningd/plugin_control.c).
	PluginShutdownGrace = 30 * time.Second

	// PluginTerminatedCode is the JSON-RPC error code lightningd answers
	// pending calls with when the plugin dies first (PLUGIN_TERMINATED in
	// common/jsonrpc_errors.h).
	PluginTerminatedCode = -4

	// DefaultLightningdVersion is the LIGHTNINGD_VERSION given to plugins
	// when PluginConfig.Version is empty.
	DefaultLightningdVersion = "v26.06"

	pluginTerminatedMessage = "Plugin terminated before replying to RPC call."

	// pluginDrainGrace bounds how long the readers keep reading stdout and
	// stderr after the process exited, in case a grandchild holds the pipes.
	pluginDrainGrace = time.Second
)

// defaultPluginFeatureSet is the configuration.feature_set lightningd v26
// sends when PluginConfig.FeatureSet is nil: one hex string per feature
// place (feature_place_names in common/features.c).
const defaultPluginFeatureSet = `{"init":"08a0880a8a5961","node":"88a0880a8a5961",` +
	`"channel":"","invoice":"02000002024100","bolt12_offer":"",` +
	`"bolt12_invreq":"","bolt12_invoice":"","channel_type":""}`

var (
	// ErrNotSubscribed is returned by Notify when the plugin's manifest does
	// not subscribe to the topic, so lightningd would not have sent it.
	ErrNotSubscribed = errors.New("plugin is not subscribed to this topic")

	// ErrPluginNotRunning is returned when the plugin is not in normal
	// operation (disabled, exited, killed), so lightningd would not talk to it.
	ErrPluginNotRunning = errors.New("plugin is not running")
)

// PluginConfig says which plugin to start and what lightningd's
// configuration looks like to it.
type PluginConfig struct {
	// Binary is the plugin executable. Like lightningd, the host resolves it
	// to an absolute path without symlinks: argv[0] is that path and the log
	// prefix is "plugin-" plus its base name.
	Binary string
	// LightningDir is lightningd's base directory. The plugin runs with
	// the working directory <LightningDir>/<Network>, created if missing,
	// and init's configuration.lightning-dir is that same directory.
	LightningDir string
	// Network defaults to "regtest" (mainnet is "bitcoin").
	Network string
	// RPCFile is init's configuration.rpc-file, verbatim; default
	// "lightning-rpc" (relative to the lightning-dir, as in lightningd).
	RPCFile string
	// Options are the plugin's option values as a user would set them in
	// the config file: a string (parsed per the option's type), an integer,
	// a bool, or a []string for a multi option. An empty []string or nil
	// counts as unset; a flag is set by true. Unset options get the
	// manifest default, if any, and are left out of init otherwise.
	Options map[string]any
	// Env is added to the environment after os.Environ(),
	// LIGHTNINGD_PLUGIN=1 and LIGHTNINGD_VERSION, so it can override them.
	Env []string
	// Stderr receives the plugin's stderr. If nil, stderr lines go to Log
	// (lightningd leaves a plugin's stderr on its own stderr, never in its
	// log), or nowhere when Log is nil too. Stderr lines are not in Logs.
	Stderr io.Writer
	// Log, if set, receives a copy of every log line, newline-terminated.
	Log io.Writer
	// KeepLogs bounds the log lines kept for Logs and WaitForLog to about
	// the last KeepLogs, as lightningd's log book is bounded; zero keeps
	// every line, which is what tests want. A benchmark that sends
	// millions of requests sets it, or the access log would grow without
	// end.
	KeepLogs int
	// Version is LIGHTNINGD_VERSION; default DefaultLightningdVersion.
	Version string
	// Developer mimics lightningd --developer: the plugin gets the argument
	// "--developer" and getmanifest's allow-deprecated-apis is false.
	Developer bool
	// StartupTimeout bounds each of getmanifest and init; default
	// PluginStartupTimeout.
	StartupTimeout time.Duration
	// FeatureSet is init's configuration.feature_set; default is what a
	// v26 regtest node sends.
	FeatureSet json.RawMessage
	// ShutdownGrace is how long Shutdown waits for the plugin to exit;
	// default PluginShutdownGrace, lightningd's fixed 30 s.
	ShutdownGrace time.Duration
}

// PluginError is a JSON-RPC error object answered by the plugin (or by the
// host on lightningd's behalf, e.g. PluginTerminatedCode).
type PluginError struct {
	Code    int64
	Message string
	Data    json.RawMessage
}

// Error implements error.
func (e *PluginError) Error() string {
	return fmt.Sprintf("plugin error %d: %s", e.Code, e.Message)
}

// pluginState follows enum plugin_state in lightningd/plugin.h, plus a
// final state for a plugin that exited or was killed.
type pluginState int

const (
	pluginAwaitingManifest pluginState = iota
	pluginNeedsInit
	pluginAwaitingInit
	pluginInitComplete
	pluginGone
)

// description is state_desc() in lightningd/plugin.c, used in
// "Killing plugin: exited <description>" and "timed out <description>".
func (s pluginState) description() string {
	switch s {
	case pluginAwaitingManifest:
		return "before replying to getmanifest"
	case pluginNeedsInit:
		return "before we sent init"
	case pluginAwaitingInit:
		return "before replying to init"
	default:
		return "during normal operation"
	}
}

// Plugin is one running plugin process and lightningd's view of it.
// Every goroutine it starts ends once the process has exited; Kill or a
// completed Shutdown/Wait therefore leaves nothing behind.
type Plugin struct {
	cfg       PluginConfig
	path      string // canonical path, lightningd's plugin->cmd
	logPrefix string // "plugin-<basename>"
	cmd       *exec.Cmd
	stdout    *os.File
	stderr    *os.File

	writeMu     sync.Mutex // protects stdin and stdinClosed: one message at a time
	stdin       *os.File
	stdinClosed bool

	outMu sync.Mutex // protects writes to cfg.Log, keeping them in log order

	mu           sync.Mutex // protects every field below
	state        pluginState
	shuttingDown bool
	nextID       uint64
	pending      map[string]chan pluginReply
	logs         []string      // the lines kept
	logsDropped  int           // lines dropped from the front of logs (KeepLogs)
	logChanged   chan struct{} // closed and replaced on every new log line
	violations   []string
	manifest     json.RawMessage
	parsed       *pluginManifest
	disabled     string
	isDisabled   bool
	exitCode     int
	stdoutOpen   bool // false once stdout hit EOF: no request can be answered

	exited chan struct{} // closed once the process has been reaped
	done   chan struct{} // closed once the process is reaped and both readers returned
}

// StartPlugin starts the plugin as lightningd does (cwd, environment,
// argv), sends getmanifest, validates the manifest, sends init and returns
// once init is answered. A plugin that disables itself (at getmanifest or
// init) is returned with Disabled reporting the reason, after being killed
// like lightningd kills it. ctx bounds the startup only; afterwards the
// caller owns the plugin and must end it with Shutdown, Wait or Kill. On
// error the process is already killed and its goroutines have stopped.
func StartPlugin(ctx context.Context, cfg PluginConfig) (*Plugin, error) {
	p, err := launchPlugin(cfg)
	if err != nil {
		return nil, err
	}
	if err := p.handshake(ctx); err != nil {
		p.Kill()
		return nil, fmt.Errorf("starting plugin %s: %w", p.path, err)
	}
	return p, nil
}

// launchPlugin fills the defaults and starts the process and its goroutines.
func launchPlugin(cfg PluginConfig) (*Plugin, error) {
	if cfg.LightningDir == "" {
		return nil, errors.New("starting plugin: PluginConfig.LightningDir is empty")
	}
	if cfg.Network == "" {
		cfg.Network = "regtest"
	}
	if cfg.RPCFile == "" {
		cfg.RPCFile = "lightning-rpc"
	}
	if cfg.Version == "" {
		cfg.Version = DefaultLightningdVersion
	}
	if cfg.StartupTimeout <= 0 {
		cfg.StartupTimeout = PluginStartupTimeout
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = PluginShutdownGrace
	}
	if cfg.FeatureSet == nil {
		cfg.FeatureSet = json.RawMessage(defaultPluginFeatureSet)
	}
	abs, err := filepath.Abs(cfg.LightningDir)
	if err != nil {
		return nil, fmt.Errorf("starting plugin: lightning dir %s: %w", cfg.LightningDir, err)
	}
	cfg.LightningDir = abs
	path, err := canonicalPluginPath(cfg.Binary)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(pluginNetDir(cfg), 0o700); err != nil {
		return nil, fmt.Errorf("starting plugin: creating %s: %w", pluginNetDir(cfg), err)
	}
	p := &Plugin{
		cfg:        cfg,
		path:       path,
		logPrefix:  "plugin-" + filepath.Base(path),
		pending:    make(map[string]chan pluginReply),
		logChanged: make(chan struct{}),
		exited:     make(chan struct{}),
		done:       make(chan struct{}),
	}
	if err := p.spawn(); err != nil {
		return nil, err
	}
	return p, nil
}

// canonicalPluginPath is path_canon(): absolute, symlinks resolved.
func canonicalPluginPath(binary string) (string, error) {
	if binary == "" {
		return "", errors.New("starting plugin: PluginConfig.Binary is empty")
	}
	abs, err := filepath.Abs(binary)
	if err != nil {
		return "", fmt.Errorf("starting plugin %s: %w", binary, err)
	}
	path, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("starting plugin %s: %w", binary, err)
	}
	return path, nil
}

// pluginNetDir is lightningd's config_netdir: <lightning-dir>/<network>.
func pluginNetDir(cfg PluginConfig) string {
	return filepath.Join(cfg.LightningDir, cfg.Network)
}

// handshake runs getmanifest and init (plugin_send_getmanifest and
// plugin_config in lightningd/plugin.c).
func (p *Plugin) handshake(ctx context.Context) error {
	params := fmt.Sprintf(`{"allow-deprecated-apis":%t}`, !p.cfg.Developer)
	reply, err := p.startupRequest(ctx, "getmanifest", json.RawMessage(params))
	if err != nil {
		return err
	}
	if done, err := p.acceptManifest(reply); done || err != nil {
		return err
	}
	initParams, err := p.initParams()
	if err != nil {
		return err
	}
	p.setState(pluginAwaitingInit)
	reply, err = p.startupRequest(ctx, "init", initParams)
	if err != nil {
		return err
	}
	p.acceptInit(reply)
	return nil
}

// startupRequest sends one startup request and waits for its answer within
// the startup timeout, killing the plugin like plugin_manifest_timeout does.
func (p *Plugin) startupRequest(ctx context.Context, method string, params json.RawMessage) (pluginReply, error) {
	id, reply, err := p.sendRequest("", method, params)
	if err != nil {
		return pluginReply{}, err
	}
	timer := time.NewTimer(p.cfg.StartupTimeout)
	defer timer.Stop()
	select {
	case msg := <-reply:
		if msg.terminated {
			return pluginReply{}, fmt.Errorf("%s: plugin exited before replying", method)
		}
		return msg, nil
	case <-timer.C:
		reason := "timed out " + p.currentState().description()
		p.kill(pluginLevelUnusual, reason)
		return pluginReply{}, fmt.Errorf("%s: Killing plugin: %s", method, reason)
	case <-ctx.Done():
		p.forget(id)
		return pluginReply{}, fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

// acceptManifest validates the getmanifest answer like
// plugin_parse_getmanifest_response. done is true when the plugin disabled
// itself and startup is over.
func (p *Plugin) acceptManifest(reply pluginReply) (done bool, err error) {
	result := reply.fields["result"]
	m, disable, err := parsePluginManifest(result, reply.raw, p.path)
	if err != nil {
		p.kill(pluginLevelUnusual, err.Error())
		return true, fmt.Errorf("getmanifest: Killing plugin: %w", err)
	}
	p.mu.Lock()
	p.manifest = append(json.RawMessage(nil), result...)
	if disable != nil {
		p.disabled, p.isDisabled = *disable, true
	} else {
		p.parsed = m
		p.state = pluginNeedsInit
	}
	p.mu.Unlock()
	if disable != nil {
		p.kill(pluginLevelInfo, "disabled itself: "+*disable)
		return true, nil
	}
	return false, nil
}

// acceptInit handles the init answer like plugin_config_cb: a result with
// "disable" gets the plugin killed; anything else completes init (the
// answer's shape is not enforced by lightningd).
func (p *Plugin) acceptInit(reply pluginReply) {
	var result map[string]json.RawMessage
	if json.Unmarshal(reply.fields["result"], &result) == nil {
		if raw, ok := result["disable"]; ok {
			reason := pluginTokenText(raw)
			p.mu.Lock()
			p.disabled, p.isDisabled = reason, true
			p.mu.Unlock()
			p.kill(pluginLevelDebug, "disabled itself at init: "+reason)
			return
		}
	}
	p.mu.Lock()
	if p.state == pluginAwaitingInit {
		p.state = pluginInitComplete
	}
	p.mu.Unlock()
}

// initParams builds init's params: "options" then "configuration"
// (plugin_populate_init_request in lightningd/plugin.c).
func (p *Plugin) initParams() (json.RawMessage, error) {
	p.mu.Lock()
	opts := p.parsed.options
	p.mu.Unlock()
	options, err := pluginInitOptions(opts, p.cfg.Options)
	if err != nil {
		return nil, err
	}
	var conf pluginJSONObject
	conf.add("lightning-dir", pluginJSONString(pluginNetDir(p.cfg)))
	conf.add("rpc-file", pluginJSONString(p.cfg.RPCFile))
	conf.add("startup", json.RawMessage("true"))
	conf.add("network", pluginJSONString(p.cfg.Network))
	conf.add("feature_set", p.cfg.FeatureSet)
	var params pluginJSONObject
	params.add("options", options)
	params.add("configuration", conf.bytes())
	return params.bytes(), nil
}

// Manifest returns the getmanifest result object as the plugin sent it.
func (p *Plugin) Manifest() json.RawMessage {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append(json.RawMessage(nil), p.manifest...)
}

// Disabled reports whether the plugin disabled itself (at getmanifest or
// init) and its reason.
func (p *Plugin) Disabled() (reason string, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.disabled, p.isDisabled
}

// RPCMethods returns the names of the plugin's rpcmethods from its manifest.
func (p *Plugin) RPCMethods() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.parsed == nil {
		return nil
	}
	return append([]string(nil), p.parsed.methods...)
}

// Subscribes reports whether lightningd would send notification topic to
// this plugin: it subscribed to topic, or to "*", which covers every
// topic but "log" (plugin_subscriptions_contains in plugin.c).
func (p *Plugin) Subscribes(topic string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.subscribesLocked(topic)
}

func (p *Plugin) subscribesLocked(topic string) bool {
	if p.parsed == nil {
		return false
	}
	for _, s := range p.parsed.subscriptions {
		if s == topic || (s == "*" && topic != "log") {
			return true
		}
	}
	return false
}

// StdoutViolations returns, in order, everything the plugin wrote on stdout
// that lightningd would not accept: text that is not JSON, JSON values that
// are not JSON-RPC messages, malformed notifications and log notifications.
// lightningd kills the plugin for each of these, and so does the host.
func (p *Plugin) StdoutViolations() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.violations...)
}

// Notify sends the notification {"jsonrpc":"2.0","method":topic,
// "params":params} as lightningd would: only to a plugin past init that
// subscribes to topic (else ErrNotSubscribed or ErrPluginNotRunning).
// Built-in topics wrap their body as {"<topic>": {...}}: params is sent
// verbatim, so the caller does that wrapping. nil params means {}.
func (p *Plugin) Notify(topic string, params json.RawMessage) error {
	p.mu.Lock()
	running, subscribed := p.state == pluginInitComplete, p.subscribesLocked(topic)
	p.mu.Unlock()
	if !running {
		return fmt.Errorf("notifying %s: %w", topic, ErrPluginNotRunning)
	}
	if !subscribed {
		return fmt.Errorf("notifying %s: %w", topic, ErrNotSubscribed)
	}
	return p.sendNotification(topic, params)
}

func (p *Plugin) sendNotification(topic string, params json.RawMessage) error {
	if params == nil {
		params = json.RawMessage("{}")
	}
	var msg pluginJSONObject
	msg.add("jsonrpc", json.RawMessage(`"2.0"`))
	msg.add("method", pluginJSONString(topic))
	msg.add("params", params)
	if err := p.write(msg.bytes()); err != nil {
		return fmt.Errorf("notifying %s: %w", topic, err)
	}
	return nil
}

// Call calls one of the plugin's rpcmethods the way lightningd forwards a
// user's command to it, and returns the result. A JSON-RPC error is a
// *PluginError: the plugin's own, -32601 "Unknown command '<method>'" for a
// method the manifest does not declare, or PluginTerminatedCode when the
// plugin dies first. nil params means {}.
func (p *Plugin) Call(ctx context.Context, method string, params json.RawMessage) (json.RawMessage, error) {
	p.mu.Lock()
	running := p.state == pluginInitComplete
	known := p.parsed != nil && p.parsed.hasMethod(method)
	p.mu.Unlock()
	if !running {
		return nil, fmt.Errorf("calling %s: %w", method, ErrPluginNotRunning)
	}
	if !known {
		return nil, &PluginError{Code: -32601, Message: fmt.Sprintf("Unknown command '%s'", method)}
	}
	if params == nil {
		params = json.RawMessage("{}")
	}
	id, reply, err := p.sendRequest("lightningdtest:"+method, method, params)
	if err != nil {
		return nil, err
	}
	select {
	case msg := <-reply:
		return pluginCallResult(method, msg.fields)
	case <-ctx.Done():
		p.forget(id)
		return nil, fmt.Errorf("calling %s: %w", method, ctx.Err())
	}
}

// pluginCallResult turns a JSON-RPC response into a result or *PluginError.
func pluginCallResult(method string, msg map[string]json.RawMessage) (json.RawMessage, error) {
	if raw, ok := msg["error"]; ok {
		return nil, parsePluginError(raw)
	}
	if raw, ok := msg["result"]; ok {
		return raw, nil
	}
	return nil, fmt.Errorf("calling %s: response has neither result nor error", method)
}

func parsePluginError(raw json.RawMessage) *PluginError {
	var obj struct {
		Code    json.Number     `json:"code"`
		Message string          `json:"message"`
		Data    json.RawMessage `json:"data"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil {
		return &PluginError{Code: 0, Message: "malformed error object: " + string(raw)}
	}
	code, _ := strconv.ParseInt(obj.Code.String(), 10, 64)
	return &PluginError{Code: code, Message: obj.Message, Data: obj.Data}
}

// sendRequest registers a pending request and writes it. Request ids are
// strings like lightningd's: "cln:<method>#<n>", or
// "<prefix>/cln:<method>#<n>" for a forwarded command
// (jsonrpc_request_start_ in lightningd/jsonrpc.c).
func (p *Plugin) sendRequest(prefix, method string, params json.RawMessage) (string, chan pluginReply, error) {
	reply := make(chan pluginReply, 1)
	p.mu.Lock()
	if !p.stdoutOpen {
		p.mu.Unlock()
		return "", nil, fmt.Errorf("sending %s: %w", method, ErrPluginNotRunning)
	}
	p.nextID++
	id := fmt.Sprintf("cln:%s#%d", method, p.nextID)
	if prefix != "" {
		id = fmt.Sprintf("%s#%d/%s", prefix, p.nextID, id)
	}
	p.pending[id] = reply
	p.mu.Unlock()
	var msg pluginJSONObject
	msg.add("jsonrpc", json.RawMessage(`"2.0"`))
	msg.add("id", pluginJSONString(id))
	msg.add("method", pluginJSONString(method))
	msg.add("params", params)
	if err := p.write(msg.bytes()); err != nil {
		p.forget(id)
		return "", nil, fmt.Errorf("sending %s: %w", method, err)
	}
	return id, reply, nil
}

// forget drops a pending request: a late answer is then ignored, as
// lightningd ignores answers to requests it freed.
func (p *Plugin) forget(id string) {
	p.mu.Lock()
	delete(p.pending, id)
	p.mu.Unlock()
}

func (p *Plugin) setState(s pluginState) {
	p.mu.Lock()
	if p.state != pluginGone {
		p.state = s
	}
	p.mu.Unlock()
}

func (p *Plugin) currentState() pluginState {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state
}

func (p *Plugin) recordViolation(v string) {
	p.mu.Lock()
	p.violations = append(p.violations, v)
	p.mu.Unlock()
}

// Logs returns every log line so far in lightningd's format (only the last
// ones with KeepLogs): the plugin's log notifications and lightningd's own
// lines about it (such as "plugin-manager: started(<pid>) <path>" and
// "Killing plugin: ...").
func (p *Plugin) Logs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.logs...)
}

// WaitForLog returns the first log line, already logged or still to come,
// that re matches. It fails when ctx ends, or once the plugin has exited
// and no line matched.
func (p *Plugin) WaitForLog(ctx context.Context, re *regexp.Regexp) (string, error) {
	seen := 0 // lines looked at, counting the dropped ones
	for {
		p.mu.Lock()
		lines, changed := p.logs[max(seen-p.logsDropped, 0):], p.logChanged
		seen = p.logsDropped + len(p.logs)
		p.mu.Unlock()
		for _, l := range lines {
			if re.MatchString(l) {
				return l, nil
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return "", fmt.Errorf("waiting for log line /%s/: %w", re, ctx.Err())
		case <-p.done:
			if p.logCount() == seen {
				return "", fmt.Errorf("waiting for log line /%s/: plugin exited", re)
			}
		}
	}
}

func (p *Plugin) logCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logsDropped + len(p.logs)
}
