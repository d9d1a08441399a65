package lightningdtest

// This file reads what a plugin writes on stdout and turns it into what
// lightningd would do: answers to pending requests, log lines, or killing
// the plugin (plugin_read_json and its helpers in lightningd/plugin.c).

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// pluginReply is one JSON-RPC response: its members and its full text.
// terminated marks the answer the host made up because the plugin died.
type pluginReply struct {
	fields     map[string]json.RawMessage
	raw        json.RawMessage
	terminated bool
}

// pluginLevel is lightningd's enum log_level, minus the io levels.
type pluginLevel int

const (
	pluginLevelTrace pluginLevel = iota
	pluginLevelDebug
	pluginLevelInfo
	pluginLevelUnusual
	pluginLevelBroken
)

// prefix is level_prefix() in lightningd/log.c: the level column of a line.
func (l pluginLevel) prefix() string {
	switch l {
	case pluginLevelTrace:
		return "TRACE  "
	case pluginLevelDebug:
		return "DEBUG  "
	case pluginLevelInfo:
		return "INFO   "
	case pluginLevelUnusual:
		return "UNUSUAL"
	default:
		return "**BROKEN**"
	}
}

// parsePluginLevel is log_level_parse() in common/status_levels.c,
// case-insensitive, without the "io" level that plugins may not use.
func parsePluginLevel(s string) (pluginLevel, bool) {
	switch strings.ToLower(s) {
	case "trace":
		return pluginLevelTrace, true
	case "debug":
		return pluginLevelDebug, true
	case "info":
		return pluginLevelInfo, true
	case "unusual", "warn":
		return pluginLevelUnusual, true
	case "broken", "error":
		return pluginLevelBroken, true
	}
	return 0, false
}

// logLine appends one line in lightningd's log format
// ("2024-01-01T00:00:00.000Z INFO    plugin-x: message", log_to_files in
// lightningd/log.c), after replacing every byte outside printable ASCII
// with '?' as logv() does, and copies it to cfg.Log.
func (p *Plugin) logLine(prefix string, level pluginLevel, msg string) {
	p.logLines(prefix, level, []string{msg})
}

// logLines is logLine for several lines logged at once (the lines of one
// log notification): one time stamp, one lock and one wake-up of
// WaitForLog for all of them, since a busy plugin's batches hold
// thousands.
func (p *Plugin) logLines(prefix string, level pluginLevel, msgs []string) {
	head := time.Now().UTC().Format("2006-01-02T15:04:05.000Z") + " " + level.prefix() + " " + prefix + ": "
	lines := make([]string, len(msgs))
	size := 0
	for i, msg := range msgs {
		b := make([]byte, 0, len(head)+len(msg))
		b = append(append(b, head...), msg...)
		for j := len(head); j < len(b); j++ {
			if b[j] < ' ' || b[j] >= 0x7f {
				b[j] = '?'
			}
		}
		lines[i] = string(b)
		size += len(b) + 1
	}
	p.outMu.Lock()
	defer p.outMu.Unlock()
	p.mu.Lock()
	p.logs = append(p.logs, lines...)
	if keep := p.cfg.KeepLogs; keep > 0 && len(p.logs) >= 2*keep {
		n := len(p.logs) - keep
		p.logs = append([]string(nil), p.logs[n:]...)
		p.logsDropped += n
	}
	close(p.logChanged)
	p.logChanged = make(chan struct{})
	p.mu.Unlock()
	if p.cfg.Log != nil {
		out := make([]byte, 0, size)
		for _, l := range lines {
			out = append(append(out, l...), '\n')
		}
		p.cfg.Log.Write(out)
	}
}

// readStdout parses the stream of JSON values on the plugin's stdout
// (no framing: values may be split or joined arbitrarily) until EOF.
func (p *Plugin) readStdout() {
	dec := json.NewDecoder(p.stdout)
	for {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == nil {
			if p.currentState() != pluginGone {
				p.dispatch(raw)
			}
			continue
		}
		var syntax *json.SyntaxError
		switch {
		case errors.As(err, &syntax):
			p.violate(fmt.Sprintf("Failed to parse RPC JSON response '%s'", pluginBufferedText(dec)))
			io.Copy(io.Discard, p.stdout)
		case errors.Is(err, io.ErrUnexpectedEOF):
			p.recordViolation(fmt.Sprintf("incomplete JSON at end of stdout: '%s'", pluginBufferedText(dec)))
		}
		break
	}
	p.stdoutClosed()
}

// pluginBufferedText is what the decoder holds from the failing value on
// (at most 1 KiB of it).
func pluginBufferedText(dec *json.Decoder) string {
	b, _ := io.ReadAll(io.LimitReader(dec.Buffered(), 1024))
	return string(bytes.TrimLeft(b, " \t\r\n"))
}

// stdoutClosed is plugin_conn_finish(): the plugin is gone for lightningd
// ("Killing plugin: exited <state>", at debug during shutdown), it gets
// SIGKILL in case it merely closed stdout, and pending calls fail with
// PLUGIN_TERMINATED.
func (p *Plugin) stdoutClosed() {
	p.mu.Lock()
	was := p.state
	p.state = pluginGone
	level := pluginLevelInfo
	if p.shuttingDown {
		level = pluginLevelDebug
	}
	pending := p.pending
	p.pending = make(map[string]chan pluginReply)
	p.stdoutOpen = false
	p.mu.Unlock()
	if was != pluginGone {
		p.logLine(p.logPrefix, level, "Killing plugin: exited "+was.description())
		p.cmd.Process.Kill()
	}
	for id, ch := range pending {
		ch <- pluginTerminated(id)
	}
}

// pluginTerminated is the answer lightningd makes up for a request the
// plugin can no longer answer (plugin_terminated_fail_req).
func pluginTerminated(id string) pluginReply {
	raw := fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"error":{"code":%d,"message":%s}}`,
		pluginJSONString(id), PluginTerminatedCode, pluginJSONString(pluginTerminatedMessage))
	var fields map[string]json.RawMessage
	json.Unmarshal([]byte(raw), &fields)
	return pluginReply{fields: fields, raw: json.RawMessage(raw), terminated: true}
}

// violate records a protocol violation and kills the plugin for it, as
// lightningd does (at UNUSUAL, "Killing plugin: <reason>").
func (p *Plugin) violate(reason string) {
	p.recordViolation(reason)
	p.kill(pluginLevelUnusual, reason)
}

// dispatch handles one JSON value from stdout: a message with an "id" is
// a response, one without is a notification. A log notification of the
// shape clnrest writes is read without decoding it whole.
func (p *Plugin) dispatch(raw json.RawMessage) {
	if level, msg, ok := plainLogNotification(raw); ok {
		if reason := p.logMessage(level, true, msg); reason != "" {
			p.violate(reason)
		}
		return
	}
	p.dispatchMessage(raw)
}

// dispatchMessage is dispatch for any message: decoded into its members.
func (p *Plugin) dispatchMessage(raw json.RawMessage) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields["jsonrpc"] == nil {
		p.violate(fmt.Sprintf("JSON-RPC message does not contain \"jsonrpc\" field: '%s'", raw))
		return
	}
	if id, ok := fields["id"]; ok {
		p.deliver(pluginTokenText(id), pluginReply{fields: fields, raw: raw})
		return
	}
	if reason := p.handleNotification(raw, fields); reason != "" {
		p.violate(reason)
	}
}

// deliver hands a response to its pending request; lightningd ignores a
// response whose id it does not know.
func (p *Plugin) deliver(id string, reply pluginReply) {
	p.mu.Lock()
	ch, ok := p.pending[id]
	delete(p.pending, id)
	p.mu.Unlock()
	if ok {
		ch <- reply
	}
}

// handleNotification is plugin_notification_handle(); it returns the
// reason to kill the plugin, or "".
func (p *Plugin) handleNotification(raw json.RawMessage, fields map[string]json.RawMessage) string {
	method, okMethod := fields["method"]
	params, okParams := fields["params"]
	if !okMethod || !okParams {
		return fmt.Sprintf("Malformed JSON-RPC notification missing \"method\" or \"params\": %s", raw)
	}
	topic := pluginTokenText(method)
	switch topic {
	case "log":
		return p.pluginLog(params)
	case "message", "progress":
		var obj map[string]json.RawMessage
		if json.Unmarshal(params, &obj) != nil || obj["id"] == nil {
			return "JSON-RPC notify \"id\"-field is not present"
		}
		return ""
	}
	p.mu.Lock()
	declared := p.parsed != nil && p.parsed.declaresNotification(topic)
	p.mu.Unlock()
	if !declared {
		p.logLine(p.logPrefix, pluginLevelUnusual, fmt.Sprintf("Plugin attempted to send a "+
			"notification to topic \"%s\" it hasn't declared in its manifest, not "+
			"forwarding to subscribers.", topic))
	}
	return ""
}

// plainLogNotification recognises a log notification written exactly as
// clnrest writes its own, {"jsonrpc":"2.0","method":"log","params":
// {"level":"<letters>","message":"<string>"}} without whitespace, and
// returns its level and message tokens without decoding the message twice
// into maps, which was most of what the simulator spent on a busy
// plugin's log. raw is a
// whole, valid JSON value (the stdout decoder's); anything else is ok ==
// false and takes the general path, which decides the same for this shape.
func plainLogNotification(raw []byte) (level, message []byte, ok bool) {
	const head = `{"jsonrpc":"2.0","method":"log","params":{"level":"`
	after, ok := bytes.CutPrefix(raw, []byte(head))
	if !ok {
		return nil, nil, false
	}
	n := 0
	for n < len(after) && ('a' <= after[n] && after[n] <= 'z' || 'A' <= after[n] && after[n] <= 'Z') {
		n++
	}
	level = raw[len(head)-1 : len(head)+n+1] // the token, with its quotes
	msg, ok := bytes.CutPrefix(after[n:], []byte(`","message":`))
	if !ok || len(msg) < 4 || msg[0] != '"' || string(msg[len(msg)-3:]) != `"}}` {
		return nil, nil, false
	}
	// The message string must end right before the closing braces: no
	// unescaped quote inside it (a backslash always escapes the next byte).
	msg = msg[:len(msg)-2]
	i := 1
	for ; i < len(msg)-1; i++ {
		switch msg[i] {
		case '\\':
			i++
		case '"':
			return nil, nil, false
		}
	}
	if i != len(msg)-1 {
		return nil, nil, false // the last quote was escaped
	}
	return level, msg, true
}

// pluginLog is plugin_log_handle(): a "log" notification becomes log lines
// under "plugin-<name>". A message with escapes is unescaped and split at
// newlines into several lines; one without is logged as it is.
func (p *Plugin) pluginLog(params json.RawMessage) string {
	var obj map[string]json.RawMessage
	json.Unmarshal(params, &obj)
	level, hasLevel := obj["level"]
	return p.logMessage(level, hasLevel, obj["message"])
}

// logMessage is the rest of plugin_log_handle(), given the tokens of
// "level" (when present) and "message".
func (p *Plugin) logMessage(rawLevel []byte, hasLevel bool, rawMessage []byte) string {
	msg := bytes.TrimSpace(rawMessage)
	if len(msg) < 2 || msg[0] != '"' {
		return "Log notification from plugin doesn't have a string \"message\" field"
	}
	level := pluginLevelInfo
	if hasLevel {
		var valid bool
		if level, valid = parsePluginLevel(pluginTokenText(rawLevel)); !valid {
			return fmt.Sprintf("Unknown log-level %s, valid values are \"trace\", "+
				"\"debug\", \"info\", \"warn\", or \"error\".", bytes.TrimSpace(rawLevel))
		}
	}
	content := string(msg[1 : len(msg)-1])
	if strings.Contains(content, `\`) {
		// ccan's unescape, as lightningd: no \u; a message it cannot
		// unescape is logged as it came.
		if text, ok := UnescapeJSON(content); ok {
			p.logLines(p.logPrefix, level, strings.Split(text, "\n"))
			return ""
		}
	}
	p.logLine(p.logPrefix, level, content)
	return ""
}

// pluginTokenText is what lightningd's json_strdup gives for a token: a
// string's content between the quotes (not unescaped), or a primitive's
// text.
func pluginTokenText(raw json.RawMessage) string {
	t := bytes.TrimSpace(raw)
	if len(t) >= 2 && t[0] == '"' && t[len(t)-1] == '"' {
		return string(t[1 : len(t)-1])
	}
	return string(t)
}

// pluginJSONString encodes s as a JSON string without Go's HTML escaping,
// as lightningd's json_add_string does.
func pluginJSONString(s string) json.RawMessage {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// pluginJSONObject builds a JSON object with members in insertion order,
// which is how lightningd writes its messages.
type pluginJSONObject struct {
	buf bytes.Buffer
}

func (o *pluginJSONObject) add(key string, value json.RawMessage) {
	if o.buf.Len() == 0 {
		o.buf.WriteByte('{')
	} else {
		o.buf.WriteByte(',')
	}
	o.buf.Write(pluginJSONString(key))
	o.buf.WriteByte(':')
	o.buf.Write(value)
}

func (o *pluginJSONObject) bytes() json.RawMessage {
	if o.buf.Len() == 0 {
		return json.RawMessage("{}")
	}
	return append(bytes.Clone(o.buf.Bytes()), '}')
}
