package lightningdtest

// Built-in commands of the simulated lightningd, each following the
// upstream function named in its comment, with lightningd's parameter
// handling (common/json_param.c) and error messages.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Error codes of the commands below (common/jsonrpc_errors.h).
const (
	codeInvoiceLabelExists    = 900
	codeInvoicePreimageExists = 901
	codeDatastoreDelMissing   = 1200
	codeDatastoreDelWrongGen  = 1201
	codeDatastoreExists       = 1202
	codeDatastoreMissing      = 1203
	codeDatastoreWrongGen     = 1204
	codeDatastoreHasChildren  = 1205
	codeDatastoreNoChildren   = 1206
	codeRuneNotAuthorized     = 1501
	codeRuneNotPermitted      = 1502
	codeRuneBlacklisted       = 1503
)

// maxBlacklist is MAX_BLACKLIST_NUM in lightningd/runes.c.
const maxBlacklist = 100000000

// unrestrictedWarning is createrune's warning_unrestricted_rune text.
const unrestrictedWarning = "WARNING: This rune has no restrictions! Anyone who has access to this rune could drain funds from your node. Be careful when giving this to apps that you don't trust. Consider using the restrictions parameter to only allow access to specific rpc methods."

// nodeState is the simulated node's data: runes, invoices, datastore.
type nodeState struct {
	cfg         RPCConfig
	master      *RuneMaster
	getinfoJSON json.RawMessage // getinfo's answer, fixed for the node's life

	mu           sync.Mutex // protects the fields below
	nextRuneID   uint64
	runes        map[uint64]*storedRune
	blacklist    []idRange
	invoices     []*invoice
	nextInvIndex uint64
	dsRows       map[string]*dsEntry
}

// storedRune is a row of lightningd's runes table.
type storedRune struct {
	text     string
	lastUsed time.Time // zero: never used
}

func newNodeState(cfg RPCConfig) (*nodeState, error) {
	m, err := NewRuneMaster(cfg.MasterSecret)
	if err != nil {
		return nil, err
	}
	if b, err := hex.DecodeString(cfg.NodeID); err != nil || len(b) != 33 {
		return nil, fmt.Errorf("node id %q is not 33 bytes of hex", cfg.NodeID)
	}
	info, err := getinfoResult(cfg)
	if err != nil {
		return nil, err
	}
	return &nodeState{cfg: cfg, master: m, getinfoJSON: info, runes: map[uint64]*storedRune{},
		dsRows: map[string]*dsEntry{}, nextInvIndex: 1}, nil
}

func (s *RPCServer) registerBuiltins() {
	n := s.node
	s.Handle("getinfo", "", n.getinfo)
	s.Handle("help", "[command]", s.help)
	s.setCommand("stop", &command{usage: "", handler: stop, after: s.afterStop})
	s.Handle("createrune", "[rune] [restrictions]", n.createRune)
	s.Handle("checkrune", "rune [nodeid] [method] [params]", n.checkRune)
	s.Handle("showrunes", "[rune]", n.showRunes)
	s.Handle("blacklistrune", "[start] [end] [relist]", n.blacklistRune)
	s.Handle("invoice", "amount_msat label description [expiry] [fallbacks] [preimage] "+
		"[exposeprivatechannels] [cltv] [deschashonly] [dev-routes]", n.invoice)
	s.Handle("listinvoices", "[label] [invstring] [payment_hash] [offer_id] [index] [start] [limit]", n.listInvoices)
	s.Handle("datastore", "key [string] [hex] [mode] [generation]", n.datastore)
	s.Handle("deldatastore", "key [generation]", n.delDatastore)
	s.Handle("listdatastore", "[key]", n.listDatastore)
}

// CreateRune creates and stores a rune as createrune does; each argument
// is one restriction given as its alternatives, e.g.
// CreateRune([]string{"method=getinfo"}, []string{"pnum=0"}).
func (s *RPCServer) CreateRune(restrictions ...[]string) (string, error) {
	var restrs []Restriction
	for _, alts := range restrictions {
		var r Restriction
		for _, a := range alts {
			alt, err := ParseAlternative(a)
			if err != nil {
				return "", fmt.Errorf("creating rune: %w", err)
			}
			r = append(r, alt)
		}
		restrs = append(restrs, r)
	}
	r, err := s.node.storeNewRune(restrs)
	if err != nil {
		return "", err
	}
	return r.String(), nil
}

// CreateReadonlyRune creates and stores a rune like createrune with
// restrictions "readonly".
func (s *RPCServer) CreateReadonlyRune() (string, error) {
	r, err := s.node.storeNewRune(readonlyRestrictions())
	if err != nil {
		return "", err
	}
	return r.String(), nil
}

// ---- parameters (common/json_param.c) ----

// param is one parameter of a built-in command; parse stores the value
// and returns a badParam error when the token is wrong.
type param struct {
	name     string
	required bool
	parse    func(raw json.RawMessage) error
}

// parseParams binds positional or named params to specs, with
// lightningd's errors: each value is parsed as met, then required ones
// are checked (param_arr, parse_by_position, parse_by_name, post_check).
func parseParams(params json.RawMessage, specs ...param) error {
	switch jsonKind(params) {
	case '[':
		elems, err := jsonArrayElements(params)
		if err != nil {
			return invalidParams("Expected array or object for params")
		}
		for i, el := range elems {
			if i == len(specs) {
				return invalidParams(fmt.Sprintf("too many parameters: got %d, expected %d", len(elems), len(specs)))
			}
			if string(bytes.TrimSpace(el)) == "null" {
				continue
			}
			if err := specs[i].parse(el); err != nil {
				return err
			}
			specs[i].required = false
		}
	case '{':
		if err := parseNamedParams(params, specs); err != nil {
			return err
		}
	default:
		return invalidParams("Expected array or object for params")
	}
	for _, sp := range specs {
		if sp.required {
			return invalidParams("missing required parameter: " + sp.name)
		}
	}
	return nil
}

func parseNamedParams(params json.RawMessage, specs []param) error {
	members, err := jsonObjectMembers(params)
	if err != nil {
		return invalidParams("Expected array or object for params")
	}
	seen := map[string]bool{}
	for _, m := range members {
		i := -1
		for j := range specs {
			if specs[j].name == m.key {
				i = j
			}
		}
		if i < 0 {
			return invalidParams(fmt.Sprintf("unknown parameter: %s, this may be caused by a failure to autodetect "+
				"key=value-style parameters. Please try using the -k flag and explicit key=value pairs of parameters.", m.key))
		}
		if seen[m.key] {
			return invalidParams("duplicate json names: " + m.key)
		}
		seen[m.key] = true
		if err := specs[i].parse(m.value); err != nil {
			return err
		}
		specs[i].required = false
	}
	return nil
}

func invalidParams(msg string) *RPCError {
	return &RPCError{Code: codeInvalidParams, Message: msg}
}

// badParam is command_fail_badparam without developer mode, which
// leaves the token out of the message.
func badParam(name, msg string) *RPCError {
	return invalidParams(fmt.Sprintf("%s: %s: invalid token (see logs for details)", name, msg))
}

// pString is param_string: any token, as its text.
func pString(name string, required bool, dst **string) param {
	return param{name: name, required: required, parse: func(raw json.RawMessage) error {
		s := jsonContent(raw)
		*dst = &s
		return nil
	}}
}

// pU64 is param_u64: decimal digits, in a string or a number.
func pU64(name string, dst **uint64) param {
	return param{name: name, parse: func(raw json.RawMessage) error {
		v, err := strconv.ParseUint(jsonContent(raw), 10, 64)
		if err != nil {
			return badParam(name, "should be an unsigned 64 bit integer")
		}
		*dst = &v
		return nil
	}}
}

// pBool is param_bool: the primitives true and false.
func pBool(name string, dst *bool) param {
	return param{name: name, parse: func(raw json.RawMessage) error {
		switch string(bytes.TrimSpace(raw)) {
		case "true":
			*dst = true
		case "false":
			*dst = false
		default:
			return badParam(name, "should be 'true' or 'false'")
		}
		return nil
	}}
}

// pIgnore accepts any token.
func pIgnore(name string) param {
	return param{name: name, parse: func(json.RawMessage) error { return nil }}
}

// UnescapeJSON is ccan's json_escape_unescape, which lightningd applies to
// JSON string contents (rune parameters, plugin log messages): standard
// escapes only, no \u, as lightningd's policy is UTF-8. ok is false where
// lightningd's unescape fails.
func UnescapeJSON(s string) (string, bool) {
	i := strings.IndexByte(s, '\\')
	if i < 0 {
		return s, true
	}
	// Runs without a backslash are copied whole: the simulator unescapes
	// every batch of clnrest's access lines, so this is on its hot path.
	b := make([]byte, 0, len(s))
	for i >= 0 {
		b = append(b, s[:i]...)
		if i+1 == len(s) {
			return "", false
		}
		var c byte
		switch s[i+1] {
		case 'n':
			c = '\n'
		case 'b':
			c = '\b'
		case 'f':
			c = '\f'
		case 't':
			c = '\t'
		case 'r':
			c = '\r'
		case '/', '\\', '"':
			c = s[i+1]
		default:
			return "", false
		}
		b = append(b, c)
		s = s[i+2:]
		i = strings.IndexByte(s, '\\')
	}
	return string(append(b, s...)), true
}

// escapeJSON is ccan's json_escape: what lightningd applies to a rune
// failure before it becomes the error message.
func escapeJSON(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\n':
			sb.WriteString(`\n`)
		case '\b':
			sb.WriteString(`\b`)
		case '\f':
			sb.WriteString(`\f`)
		case '\t':
			sb.WriteString(`\t`)
		case '\r':
			sb.WriteString(`\r`)
		case '\\', '"':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		default:
			if c < ' ' || c == 127 {
				fmt.Fprintf(&sb, `\u%04X`, c)
			} else {
				sb.WriteByte(c)
			}
		}
	}
	return sb.String()
}

// ---- getinfo, help, stop ----

// getinfo follows json_getinfo in lightningd/peer_control.c for a fresh
// regtest node without peers. Nothing in it changes while the node runs,
// so it is built once (getinfoResult) and answered from memory, keeping
// the simulator cheap per call for benchmarks of what sits in front of it.
func (n *nodeState) getinfo(_ context.Context, params json.RawMessage) (json.RawMessage, error) {
	if err := parseParams(params); err != nil {
		return nil, err
	}
	return n.getinfoJSON, nil
}

// getinfoResult builds getinfo's answer for cfg.
func getinfoResult(cfg RPCConfig) (json.RawMessage, error) {
	type binding struct {
		Type    string `json:"type"`
		Address string `json:"address"`
		Port    int    `json:"port"`
	}
	type features struct {
		Init    string `json:"init"`
		Node    string `json:"node"`
		Channel string `json:"channel"`
		Invoice string `json:"invoice"`
	}
	return marshalJSON(struct {
		ID                  string    `json:"id"`
		Alias               string    `json:"alias"`
		Color               string    `json:"color"`
		NumPeers            int       `json:"num_peers"`
		NumPendingChannels  int       `json:"num_pending_channels"`
		NumActiveChannels   int       `json:"num_active_channels"`
		NumInactiveChannels int       `json:"num_inactive_channels"`
		Address             []any     `json:"address"`
		Binding             []binding `json:"binding"`
		Version             string    `json:"version"`
		Blockheight         int       `json:"blockheight"`
		Network             string    `json:"network"`
		FeesCollectedMsat   uint64    `json:"fees_collected_msat"`
		LightningDir        string    `json:"lightning-dir"`
		OurFeatures         features  `json:"our_features"`
	}{
		ID: cfg.NodeID, Alias: "SIMULATEDNODE", Color: cfg.NodeID[:6],
		Address: []any{}, Binding: []binding{{Type: "ipv4", Address: "127.0.0.1", Port: 9735}},
		Version: cfg.Version, Blockheight: 101, Network: "regtest",
		LightningDir: filepath.Dir(cfg.SocketPath),
		OurFeatures:  features{Init: "800898882a8a59a1", Node: "808898882a8a59a1", Channel: "", Invoice: "02000002024100"},
	})
}

// help follows json_help in lightningd/jsonrpc.c (v24.08 and later):
// one {"command": "<name> <usage>"} per command, sorted by name.
func (s *RPCServer) help(_ context.Context, params json.RawMessage) (json.RawMessage, error) {
	var name *string
	if err := parseParams(params, pString("command", false, &name)); err != nil {
		return nil, err
	}
	type entry struct {
		Command string `json:"command"`
	}
	var entries []entry
	if name != nil {
		usage, ok := s.usageOf(*name)
		if !ok {
			return nil, &RPCError{Code: codeMethodNotFound, Message: "Unknown command " + *name}
		}
		entries = append(entries, entry{usage})
	} else {
		for _, cmd := range s.commandNames() {
			if usage, ok := s.usageOf(cmd); ok {
				entries = append(entries, entry{usage})
			}
		}
	}
	return marshalJSON(struct {
		Help       []entry `json:"help"`
		FormatHint string  `json:"format-hint"`
	}{entries, "simple"})
}

// stop follows json_stop in lightningd/jsonrpc.c.
func stop(_ context.Context, params json.RawMessage) (json.RawMessage, error) {
	if err := parseParams(params); err != nil {
		return nil, err
	}
	return json.RawMessage(`{"result":"Shutdown complete"}`), nil
}

func (s *RPCServer) afterStop() {
	if s.cfg.OnStop != nil {
		s.cfg.OnStop()
	}
}

// ---- runes (lightningd/runes.c) ----

// readonlyRestrictions is createrune's "readonly" shorthand
// (readonly_restrictions): list*, get* or summary, but not listdatastore.
func readonlyRestrictions() []Restriction {
	return []Restriction{
		{{"method", '^', "list"}, {"method", '^', "get"}, {"method", '=', "summary"}},
		{{"method", '/', "listdatastore"}},
	}
}

// pRune is param_rune: base64 rune with a numeric unique id.
func pRune(name string, required bool, dst **Rune) param {
	return param{name: name, required: required, parse: func(raw json.RawMessage) error {
		r, err := ParseRune(jsonContent(raw))
		if err != nil {
			return badParam(name, "should be base64 string")
		}
		if _, ok := runeIDNumber(r); !ok {
			return badParam(name, "should have valid numeric unique_id")
		}
		*dst = r
		return nil
	}}
}

// runeIDNumber is unique_id_num: strtoull base 0 using the whole id,
// at most INT64_MAX.
func runeIDNumber(r *Rune) (uint64, bool) {
	id, ok := r.UniqueID()
	if !ok {
		return 0, false
	}
	s := strings.TrimLeft(id, " \t\n\v\f\r")
	s = strings.TrimPrefix(s, "+")
	base := 10
	switch {
	case strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X"):
		s, base = s[2:], 16
	case len(s) > 1 && s[0] == '0':
		s, base = s[1:], 8
	case s == "":
		return 0, true
	}
	v, err := strconv.ParseUint(s, base, 63)
	return v, err == nil
}

// pRestrictions is param_restrictions: "readonly", or an array of arrays
// of alternative strings.
func pRestrictions(name string, dst *[]Restriction) param {
	const msg = "not a valid restriction (should be array)"
	return param{name: name, parse: func(raw json.RawMessage) error {
		if jsonKind(raw) == '"' && jsonContent(raw) == "readonly" {
			*dst = readonlyRestrictions()
			return nil
		}
		outer, err := jsonArrayElements(raw)
		if err != nil {
			return badParam(name, msg)
		}
		restrs := []Restriction{}
		for _, el := range outer {
			alts, err := jsonArrayElements(el)
			if err != nil || len(alts) == 0 {
				return badParam(name, msg)
			}
			var restr Restriction
			for _, a := range alts {
				text, ok := UnescapeJSON(jsonContent(a))
				alt, err := ParseAlternative(text)
				if !ok || err != nil {
					return badParam(name, msg)
				}
				restr = append(restr, alt)
			}
			restrs = append(restrs, restr)
		}
		*dst = restrs
		return nil
	}}
}

// storeNewRune derives the next rune from the master and stores it.
func (n *nodeState) storeNewRune(restrs []Restriction) (*Rune, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	r, err := n.master.Derive(strconv.FormatUint(n.nextRuneID, 10), restrs...)
	if err != nil {
		return nil, err
	}
	n.runes[n.nextRuneID] = &storedRune{text: r.String()}
	n.nextRuneID++
	return r, nil
}

// createRune follows json_createrune: a new stored rune from the master,
// or, given a rune, that rune restricted further (neither checked
// against the master nor stored).
func (n *nodeState) createRune(_ context.Context, params json.RawMessage) (json.RawMessage, error) {
	var base *Rune
	var restrs []Restriction
	if err := parseParams(params, pRune("rune", false, &base), pRestrictions("restrictions", &restrs)); err != nil {
		return nil, err
	}
	var r *Rune
	var err error
	if base != nil {
		r, err = base.Restrict(restrs...)
	} else {
		r, err = n.storeNewRune(restrs)
	}
	if err != nil {
		return nil, err
	}
	id, _ := r.UniqueID()
	out := struct {
		Rune     string `json:"rune"`
		UniqueID string `json:"unique_id"`
		Warning  string `json:"warning_unrestricted_rune,omitempty"`
	}{Rune: r.String(), UniqueID: id}
	if len(r.restrictions) <= 1 {
		out.Warning = unrestrictedWarning
	}
	return marshalJSON(out)
}

// checkRune follows json_checkrune: blacklist first (1503), then
// derivation (1501), then the restrictions (1502); success records the
// time of use for rate= and per=.
func (n *nodeState) checkRune(_ context.Context, params json.RawMessage) (json.RawMessage, error) {
	rc := runeCheck{n: n, now: time.Now()}
	var r *Rune
	err := parseParams(params,
		pRune("rune", true, &r),
		pNodeID("nodeid", &rc.nodeID),
		pString("method", false, &rc.method),
		param{name: "params", parse: func(raw json.RawMessage) error {
			if k := jsonKind(raw); k != '{' && k != '[' {
				return badParam("params", "must be object or array")
			}
			rc.params = raw
			return nil
		}})
	if err != nil {
		return nil, err
	}
	rc.rune = r
	rc.uid, _ = runeIDNumber(r)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.blacklisted(rc.uid) {
		return nil, &RPCError{Code: codeRuneBlacklisted, Message: "Not authorized: Blacklisted rune"}
	}
	if err := n.master.Verify(r); err != nil {
		return nil, &RPCError{Code: codeRuneNotAuthorized, Message: "Not authorized: " + err.Error()}
	}
	if err := r.Evaluate(rc.check); err != nil {
		return nil, &RPCError{Code: codeRuneNotPermitted, Message: "Not permitted: " + runeEnglish(escapeJSON(err.Error()))}
	}
	if stored, ok := n.runes[rc.uid]; ok {
		stored.lastUsed = rc.now
	}
	return json.RawMessage(`{"valid":true}`), nil
}

// runeEnglish turns rune field names at the start of a failure into
// words, as json_checkrune does.
func runeEnglish(msg string) string {
	for _, p := range []struct{ prefix, words string }{
		{"pname", "parameter "}, {"parr", "parameter #"}, {"pnum", "number of parameters"}, {"pinv", "invoice parameter "},
	} {
		if strings.HasPrefix(msg, p.prefix) {
			return p.words + msg[len(p.prefix):]
		}
	}
	return msg
}

// pNodeID is param_node_id: 33 bytes of hex, kept lower-case as
// fmt_node_id prints it. The curve point itself is not checked.
func pNodeID(name string, dst **string) param {
	return param{name: name, parse: func(raw json.RawMessage) error {
		b, err := hex.DecodeString(jsonContent(raw))
		if err != nil || len(b) != 33 || (b[0] != 2 && b[0] != 3) {
			return badParam(name, "should be a node id")
		}
		s := hex.EncodeToString(b)
		*dst = &s
		return nil
	}}
}

// runeCheck is cond_info plus check_condition of lightningd/runes.c.
type runeCheck struct {
	n      *nodeState // n.mu held during check
	rune   *Rune
	uid    uint64
	nodeID *string
	method *string
	params json.RawMessage
	now    time.Time
	cache  map[string]json.RawMessage
}

func (c *runeCheck) check(a Alternative) error {
	switch a.Field {
	case "time":
		return a.TestInt(c.now.Unix())
	case "id":
		return testOptional(a, c.nodeID)
	case "method":
		return testOptional(a, c.method)
	case "pnum":
		return a.TestInt(int64(c.paramCount()))
	case "rate":
		return c.rateCheck(a)
	case "per":
		return c.perCheck(a)
	}
	c.buildCache()
	if strings.HasPrefix(a.Field, "pinv") {
		return c.invoiceCheck(a)
	}
	v, ok := c.cache[a.Field]
	if !ok {
		return a.TestMissing()
	}
	return testToken(a, v)
}

func testOptional(a Alternative, v *string) error {
	if v == nil {
		return a.TestMissing()
	}
	return a.TestString(*v)
}

// testToken passes JSON integers as integers and anything else as its
// token text, so '<' on a string fails with "is not an integer field".
func testToken(a Alternative, v json.RawMessage) error {
	if jsonKind(v) == 'p' {
		if i, err := strconv.ParseInt(jsonContent(v), 10, 64); err == nil {
			return a.TestInt(i)
		}
	}
	return a.TestString(jsonContent(v))
}

func (c *runeCheck) paramCount() int {
	switch jsonKind(c.params) {
	case '{':
		m, _ := jsonObjectMembers(c.params)
		return len(m)
	case '[':
		e, _ := jsonArrayElements(c.params)
		return len(e)
	}
	return 0
}

// buildCache maps pname<key> (as given, then with punctuation removed;
// the first of equal names wins) or parr<N> to parameter values.
func (c *runeCheck) buildCache() {
	if c.cache != nil {
		return
	}
	c.cache = map[string]json.RawMessage{}
	add := func(k string, v json.RawMessage) {
		if _, ok := c.cache[k]; !ok {
			c.cache[k] = v
		}
	}
	switch jsonKind(c.params) {
	case '{':
		members, _ := jsonObjectMembers(c.params)
		for _, m := range members {
			add("pname"+m.key, m.value)
			stripped := strings.Map(func(r rune) rune {
				if r < 128 && isCPunct(byte(r)) {
					return -1
				}
				return r
			}, m.key)
			add("pname"+stripped, m.value)
		}
	case '[':
		elems, _ := jsonArrayElements(c.params)
		for i, e := range elems {
			add("parr"+strconv.Itoa(i), e)
		}
	}
}

// rateCheck is rate_limit_check: "rate=N" allows N uses a minute.
func (c *runeCheck) rateCheck(a Alternative) error {
	if a.Cond != '=' {
		return errors.New("rate operator must be =")
	}
	r, rest, ok := parseCULong(a.Value)
	if !ok || rest != "" || r == 0 || r >= 1<<32-1 {
		return errors.New("malformed rate")
	}
	return c.lastUsedCheck(time.Minute / time.Duration(r))
}

// perCheck is per_time_check: "per=N[unit]" allows one use per period.
func (c *runeCheck) perCheck(a Alternative) error {
	if a.Cond != '=' {
		return errors.New("per operator must be =")
	}
	r, suffix, ok := parseCULong(a.Value)
	if !ok || r == 0 || r >= 1<<32-1 {
		return errors.New("malformed per")
	}
	units := map[string]uint64{"": 1e9, "sec": 1e9, "nsec": 1, "usec": 1e3, "msec": 1e6,
		"min": 60e9, "hour": 3600e9, "day": 86400e9}
	unit, ok := units[suffix]
	if !ok {
		return errors.New("malformed suffix")
	}
	if r > (1<<64-1)/unit {
		return errors.New("per overflow")
	}
	ns := r * unit
	if ns > 1<<63-1 {
		// Longer than time.Duration holds: never used again in practice.
		return c.lastUsedCheck(time.Duration(1<<63 - 1))
	}
	return c.lastUsedCheck(time.Duration(ns))
}

// parseCULong reads a leading number like C's strtoul(s, &end, 10) and
// returns the rest; ok is false when no digits were read.
func parseCULong(s string) (uint64, string, bool) {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg, s = s[0] == '-', s[1:]
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, s, false
	}
	v, err := strconv.ParseUint(s[:i], 10, 64)
	if err != nil {
		v = 1<<64 - 1
	}
	if neg {
		v = -v
	}
	return v, s[i:], true
}

// lastUsedCheck is last_time_check: only runes in the table are limited.
func (c *runeCheck) lastUsedCheck(minGap time.Duration) error {
	stored, ok := c.n.runes[c.uid]
	if !ok || stored.lastUsed.IsZero() {
		return nil
	}
	last := stored.lastUsed
	if c.now.Before(last) {
		last = c.now
	}
	if c.now.Sub(last) < minGap {
		return errors.New("too soon")
	}
	return nil
}

// invoiceCheck is check_inv_condition for pinv<param>_amount,
// _description and _node. Only this node's own invoices decode.
func (c *runeCheck) invoiceCheck(a Alternative) error {
	field := strings.TrimPrefix(a.Field, "pinv")
	var paramName, what string
	for _, suffix := range []string{"_amount", "_description", "_node"} {
		if strings.HasSuffix(field, suffix) {
			paramName, what = strings.TrimSuffix(field, suffix), suffix
			break
		}
	}
	if what == "" {
		return fmt.Errorf("Unknown invoice field %s", field)
	}
	v, ok := c.cache["pname"+paramName]
	if !ok {
		return fmt.Errorf("Unknown invoice parameter %s", paramName)
	}
	inv := c.n.findInvoiceByBolt11(canonicalInvstring(jsonContent(v)))
	if inv == nil {
		return errors.New("Invalid invoice: Bad bech32 string")
	}
	switch what {
	case "_amount":
		if inv.amountMsat == nil {
			return a.TestMissing()
		}
		return a.TestInt(int64(*inv.amountMsat))
	case "_description":
		return a.TestString(inv.description)
	}
	return a.TestString(c.n.cfg.NodeID)
}

// runeJSON is one showrunes entry (json_add_rune).
type runeJSON struct {
	Rune         string          `json:"rune"`
	Stored       *bool           `json:"stored,omitempty"`
	Blacklisted  *bool           `json:"blacklisted,omitempty"`
	OurRune      *bool           `json:"our_rune,omitempty"`
	LastUsed     json.RawMessage `json:"last_used,omitempty"`
	UniqueID     string          `json:"unique_id"`
	Restrictions []restrJSON     `json:"restrictions"`
	English      string          `json:"restrictions_as_english"`
}

type restrJSON struct {
	Alternatives []altJSON `json:"alternatives"`
	English      string    `json:"english"`
}

type altJSON struct {
	Fieldname string `json:"fieldname"`
	Value     string `json:"value"`
	Condition string `json:"condition"`
	English   string `json:"english"`
}

// showRunes follows json_showrunes: every stored rune, or the given one
// with stored/our_rune false when that is so.
func (n *nodeState) showRunes(_ context.Context, params json.RawMessage) (json.RawMessage, error) {
	var r *Rune
	if err := parseParams(params, pRune("rune", false, &r)); err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	out := []runeJSON{}
	if r != nil {
		uid, _ := runeIDNumber(r)
		stored := n.runes[uid]
		var lastUsed time.Time
		if stored != nil {
			lastUsed = stored.lastUsed
		}
		out = append(out, n.describeRune(r, stored != nil && stored.text == r.String(), lastUsed))
	} else {
		ids := make([]uint64, 0, len(n.runes))
		for id := range n.runes {
			ids = append(ids, id)
		}
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		for _, id := range ids {
			parsed, err := ParseRune(n.runes[id].text)
			if err != nil {
				return nil, fmt.Errorf("reading stored rune %d: %w", id, err)
			}
			out = append(out, n.describeRune(parsed, true, n.runes[id].lastUsed))
		}
	}
	return marshalJSON(struct {
		Runes []runeJSON `json:"runes"`
	}{out})
}

func (n *nodeState) describeRune(r *Rune, stored bool, lastUsed time.Time) runeJSON {
	f := false
	t := true
	out := runeJSON{Rune: r.String(), Restrictions: []restrJSON{}}
	out.UniqueID, _ = r.UniqueID()
	if !stored {
		out.Stored = &f
	}
	if uid, _ := runeIDNumber(r); n.blacklisted(uid) {
		out.Blacklisted = &t
	}
	if n.master.Verify(r) != nil {
		out.OurRune = &f
	}
	if !lastUsed.IsZero() {
		out.LastUsed = fmt.Appendf(nil, "%d.%09d", lastUsed.Unix(), lastUsed.Nanosecond())
	}
	var words []string
	for i, restr := range r.restrictions {
		if r.hasUniqueIDRestriction(i) {
			continue
		}
		rj := restrJSON{}
		var alts []string
		for _, a := range restr {
			rj.Alternatives = append(rj.Alternatives, altJSON{a.Field, a.Value, string(a.Cond), a.English()})
			alts = append(alts, a.English())
		}
		rj.English = strings.Join(alts, " OR ")
		out.Restrictions = append(out.Restrictions, rj)
		words = append(words, rj.English)
	}
	out.English = strings.Join(words, " AND ")
	return out
}

// idRange is an inclusive range of blacklisted unique ids.
type idRange struct {
	Start uint64 `json:"start"`
	End   uint64 `json:"end"`
}

// blacklisted reports whether uid is blacklisted; n.mu must be held.
func (n *nodeState) blacklisted(uid uint64) bool {
	for _, r := range n.blacklist {
		if uid >= r.Start && uid <= r.End {
			return true
		}
	}
	return false
}

// blacklistRune follows json_blacklistrune: without start it lists the
// blacklist; with relist it removes the range instead of adding it.
func (n *nodeState) blacklistRune(_ context.Context, params json.RawMessage) (json.RawMessage, error) {
	var start, end *uint64
	var relist bool
	if err := parseParams(params, pU64("start", &start), pU64("end", &end), pBool("relist", &relist)); err != nil {
		return nil, err
	}
	if end != nil && start == nil {
		return nil, invalidParams("Can not specify end without start")
	}
	if end == nil {
		end = start
	}
	if end != nil && *end >= maxBlacklist {
		return nil, invalidParams(fmt.Sprintf("Cannot blacklist beyond %d", maxBlacklist))
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if start != nil && *start <= *end {
		n.blacklist = updateRanges(n.blacklist, idRange{*start, *end}, !relist)
	}
	return marshalJSON(struct {
		Blacklist []idRange `json:"blacklist"`
	}{append([]idRange{}, n.blacklist...)})
}

// updateRanges adds (set) or removes r, returning sorted merged ranges
// as bitmap_to_blacklist would list them.
func updateRanges(ranges []idRange, r idRange, set bool) []idRange {
	var out []idRange
	for _, x := range ranges {
		if set || x.End < r.Start || x.Start > r.End {
			out = append(out, x)
			continue
		}
		if x.Start < r.Start {
			out = append(out, idRange{x.Start, r.Start - 1})
		}
		if x.End > r.End {
			out = append(out, idRange{r.End + 1, x.End})
		}
	}
	if set {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	var merged []idRange
	for _, x := range out {
		if k := len(merged) - 1; k >= 0 && x.Start <= merged[k].End+1 {
			merged[k].End = max(merged[k].End, x.End)
			continue
		}
		merged = append(merged, x)
	}
	return merged
}

// ---- invoices (lightningd/invoice.c) ----

// invoice is a row of the invoices table.
type invoice struct {
	label        string // JSON-escaped, as lightningd keeps labels
	bolt11       string
	paymentHash  [32]byte
	preimage     [32]byte
	amountMsat   *uint64
	description  string
	expiresAt    uint64
	createdIndex uint64
}

// invoiceParams are json_invoice's parameters.
type invoiceParams struct {
	amount      *uint64
	label       *string
	description *string
	expiry      *uint64
	preimage    *[32]byte
	cltv        *uint64
	hashOnly    bool
}

func (p *invoiceParams) specs() []param {
	return []param{
		{name: "amount_msat", required: true, parse: func(raw json.RawMessage) error {
			if jsonContent(raw) == "any" {
				return nil
			}
			v, ok := parseAmountMsat(jsonContent(raw))
			if !ok || v == 0 {
				return badParam("amount_msat", "should be positive msat or 'any'")
			}
			p.amount = &v
			return nil
		}},
		pLabel("label", true, &p.label),
		{name: "description", required: true, parse: func(raw json.RawMessage) error {
			s, ok := UnescapeJSON(jsonContent(raw))
			if jsonKind(raw) != '"' || !ok {
				return badParam("description", "should be a string (without \\u)")
			}
			p.description = &s
			return nil
		}},
		pU64("expiry", &p.expiry),
		pIgnore("fallbacks"),
		{name: "preimage", parse: func(raw json.RawMessage) error {
			b, err := hex.DecodeString(jsonContent(raw))
			if err != nil || len(b) != 32 {
				return badParam("preimage", "should be 64 hex digits")
			}
			p.preimage = (*[32]byte)(b)
			return nil
		}},
		pIgnore("exposeprivatechannels"),
		pU64("cltv", &p.cltv),
		pBool("deschashonly", &p.hashOnly),
		pIgnore("dev-routes"),
	}
}

// pLabel is param_label: a string (kept escaped) or a number.
func pLabel(name string, required bool, dst **string) param {
	return param{name: name, required: required, parse: func(raw json.RawMessage) error {
		k := jsonKind(raw)
		if _, err := strconv.ParseFloat(jsonContent(raw), 64); k != '"' && (k != 'p' || err != nil) {
			return badParam(name, "should be a string or number")
		}
		s := jsonContent(raw)
		*dst = &s
		return nil
	}}
}

// parseAmountMsat is parse_amount_msat in common/amount.c: N, Nmsat,
// Nsat or N[.D]btc; the suffix only has to start with the unit.
func parseAmountMsat(s string) (uint64, bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	whole, rest := s[:i], s[i:]
	if whole == "" {
		return 0, false
	}
	frac, hasFrac := "", false
	if strings.HasPrefix(rest, ".") {
		j := 1
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		frac, rest, hasFrac = rest[1:j], rest[j:], true
		if frac == "" && rest == "" {
			return 0, false
		}
	}
	switch {
	case !hasFrac && (rest == "" || strings.HasPrefix(rest, "msat")):
		return scaleDecimal(whole, "", 0)
	case !hasFrac && strings.HasPrefix(rest, "sat"):
		return scaleDecimal(whole, "", 3)
	case strings.HasPrefix(rest, "btc"):
		return scaleDecimal(whole, frac, 11)
	}
	return 0, false
}

// scaleDecimal returns whole.frac * 10^tens, failing on overflow or on
// more fractional digits than tens.
func scaleDecimal(whole, frac string, tens int) (uint64, bool) {
	if len(frac) > tens {
		return 0, false
	}
	digits := whole + frac + strings.Repeat("0", tens-len(frac))
	v, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return 0, false
	}
	return v, true
}

// invoice follows json_invoice and invoice_complete. The bolt11 string
// is well-formed bech32 but its signature is random.
func (n *nodeState) invoice(_ context.Context, params json.RawMessage) (json.RawMessage, error) {
	var p invoiceParams
	if err := parseParams(params, p.specs()...); err != nil {
		return nil, err
	}
	if len(*p.label) > 128 {
		return nil, invalidParams(fmt.Sprintf("Label '%s' over 128 bytes", *p.label))
	}
	if len(*p.description) > 639 && !p.hashOnly {
		return nil, invalidParams(fmt.Sprintf("Description greater than 639 bytes invalid (description length %d)", len(*p.description)))
	}
	inv, err := n.addInvoice(&p)
	if err != nil {
		return nil, err
	}
	secret := paymentSecret(inv.preimage)
	out := struct {
		PaymentHash     string `json:"payment_hash"`
		ExpiresAt       uint64 `json:"expires_at"`
		Bolt11          string `json:"bolt11"`
		PaymentSecret   string `json:"payment_secret"`
		CreatedIndex    uint64 `json:"created_index"`
		WarningCapacity string `json:"warning_capacity,omitempty"`
	}{hex.EncodeToString(inv.paymentHash[:]), inv.expiresAt, inv.bolt11, hex.EncodeToString(secret[:]), inv.createdIndex, ""}
	if inv.amountMsat != nil {
		// A node without channels can never receive a fixed amount.
		out.WarningCapacity = "Insufficient incoming channel capacity to pay invoice"
	}
	n.notifyInvoiceCreation(inv)
	return marshalJSON(out)
}

// addInvoice checks preimage and label uniqueness and stores the invoice.
func (n *nodeState) addInvoice(p *invoiceParams) (*invoice, error) {
	inv := &invoice{label: *p.label, amountMsat: p.amount, description: *p.description}
	if p.preimage != nil {
		inv.preimage = *p.preimage
	} else if _, err := rand.Read(inv.preimage[:]); err != nil {
		return nil, fmt.Errorf("creating invoice preimage: %w", err)
	}
	inv.paymentHash = sha256.Sum256(inv.preimage[:])
	expiry := uint64(7 * 24 * 3600)
	if p.expiry != nil {
		expiry = *p.expiry
	}
	now := uint64(time.Now().Unix())
	inv.expiresAt = now + expiry
	bolt11, err := encodeBolt11(inv, now, expiry)
	if err != nil {
		return nil, err
	}
	inv.bolt11 = bolt11
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, other := range n.invoices {
		if other.paymentHash == inv.paymentHash {
			return nil, &RPCError{Code: codeInvoicePreimageExists, Message: "preimage already used"}
		}
		if other.label == inv.label {
			return nil, &RPCError{Code: codeInvoiceLabelExists, Message: fmt.Sprintf("Duplicate label '%s'", inv.label)}
		}
	}
	inv.createdIndex = n.nextInvIndex
	n.nextInvIndex++
	n.invoices = append(n.invoices, inv)
	return inv, nil
}

// paymentSecret is invoice_secret: SHA-256 of the preimage with its
// first bit flipped.
func paymentSecret(preimage [32]byte) [32]byte {
	preimage[0] ^= 1
	return sha256.Sum256(preimage[:])
}

// notifyInvoiceCreation sends invoice_creation as notification.c does:
// msat (an integer, absent for "any"), preimage, label.
func (n *nodeState) notifyInvoiceCreation(inv *invoice) {
	if n.cfg.Notify == nil {
		return
	}
	var b strings.Builder
	b.WriteString(`{"invoice_creation":{`)
	if inv.amountMsat != nil {
		fmt.Fprintf(&b, `"msat":%d,`, *inv.amountMsat)
	}
	fmt.Fprintf(&b, `"preimage":"%x","label":"%s"}}`, inv.preimage[:], inv.label)
	n.cfg.Notify("invoice_creation", json.RawMessage(b.String()))
}

// findInvoiceByBolt11 returns this node's invoice with that string.
func (n *nodeState) findInvoiceByBolt11(bolt11 string) *invoice {
	for _, inv := range n.invoices {
		if inv.bolt11 == bolt11 {
			return inv
		}
	}
	return nil
}

// canonicalInvstring is to_canonical_invstr: no "lightning:" prefix,
// lower case.
func canonicalInvstring(s string) string {
	if len(s) >= 10 && strings.EqualFold(s[:10], "lightning:") {
		s = s[10:]
	}
	return strings.ToLower(s)
}

// listInvoices follows json_listinvoices.
func (n *nodeState) listInvoices(_ context.Context, params json.RawMessage) (json.RawMessage, error) {
	var label, invstring, payHash, offerID, index *string
	var start, limit *uint64
	err := parseParams(params,
		pLabel("label", false, &label),
		pString("invstring", false, &invstring),
		pHash("payment_hash", &payHash),
		pHash("offer_id", &offerID),
		pIndex("index", &index),
		pU64("start", &start),
		pU64("limit", &limit))
	if err != nil {
		return nil, err
	}
	given := 0
	for _, p := range []*string{label, invstring, payHash, offerID} {
		if p != nil {
			given++
		}
	}
	switch {
	case given > 1:
		return nil, invalidParams("Can only specify one of {label}, {invstring}, {payment_hash} or {offer_id}")
	case start != nil && *start != 0 && index == nil:
		return nil, invalidParams("Can only specify {start} with {index}")
	case limit != nil && index == nil:
		return nil, invalidParams("Can only specify {limit} with {index}")
	}
	if invstring != nil {
		h, ok := bolt11PaymentHash(canonicalInvstring(*invstring))
		if !ok {
			return nil, invalidParams("Invalid invstring")
		}
		payHash = &h
	}
	return n.invoicesJSON(label, payHash, offerID != nil, start, limit)
}

// pHash is param_sha256: 64 hex digits.
func pHash(name string, dst **string) param {
	return param{name: name, parse: func(raw json.RawMessage) error {
		b, err := hex.DecodeString(jsonContent(raw))
		if err != nil || len(b) != 32 {
			return badParam(name, "should be a 32 byte hex value")
		}
		s := hex.EncodeToString(b)
		*dst = &s
		return nil
	}}
}

// pIndex is param_index: created, updated or deleted.
func pIndex(name string, dst **string) param {
	return param{name: name, parse: func(raw json.RawMessage) error {
		s := jsonContent(raw)
		if jsonKind(raw) != '"' || (s != "created" && s != "updated" && s != "deleted") {
			return badParam(name, "unknown index")
		}
		*dst = &s
		return nil
	}}
}

type invoiceJSON struct {
	Label        string  `json:"label"`
	Bolt11       string  `json:"bolt11"`
	PaymentHash  string  `json:"payment_hash"`
	AmountMsat   *uint64 `json:"amount_msat,omitempty"`
	Status       string  `json:"status"`
	Description  string  `json:"description"`
	ExpiresAt    uint64  `json:"expires_at"`
	CreatedIndex uint64  `json:"created_index"`
}

func (n *nodeState) invoicesJSON(label, payHash *string, byOffer bool, start, limit *uint64) (json.RawMessage, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	now := uint64(time.Now().Unix())
	out := []json.RawMessage{}
	for _, inv := range n.invoices {
		switch {
		case byOffer:
			continue // no invoice here comes from an offer
		case label != nil && inv.label != *label:
			continue
		case payHash != nil && hex.EncodeToString(inv.paymentHash[:]) != *payHash:
			continue
		case start != nil && inv.createdIndex < *start:
			continue
		case limit != nil && uint64(len(out)) >= *limit:
			continue
		}
		status := "unpaid"
		if now > inv.expiresAt {
			status = "expired"
		}
		b, err := marshalJSON(invoiceJSON{"", inv.bolt11, hex.EncodeToString(inv.paymentHash[:]), inv.amountMsat,
			status, inv.description, inv.expiresAt, inv.createdIndex})
		if err != nil {
			return nil, err
		}
		// The label goes in as lightningd keeps it: already escaped.
		b = bytes.Replace(b, []byte(`"label":""`), []byte(`"label":"`+inv.label+`"`), 1)
		out = append(out, b)
	}
	return marshalJSON(struct {
		Invoices []json.RawMessage `json:"invoices"`
	}{out})
}

// ---- bolt11 encoding (BOLT #11) ----

const bech32Charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

// encodeBolt11 writes a regtest invoice with timestamp, p, s, d (or h),
// x and c fields and a random signature.
func encodeBolt11(inv *invoice, now, expiry uint64) (string, error) {
	hrp := "lnbcrt"
	if inv.amountMsat != nil {
		hrp += bolt11Amount(*inv.amountMsat)
	}
	data := uintToGroups(now, 7)
	secret := paymentSecret(inv.preimage)
	data = appendTagged(data, 1, bytesToGroups(inv.paymentHash[:]))
	data = appendTagged(data, 16, bytesToGroups(secret[:]))
	if len(inv.description) <= 639 {
		data = appendTagged(data, 13, bytesToGroups([]byte(inv.description)))
	} else {
		h := sha256.Sum256([]byte(inv.description))
		data = appendTagged(data, 23, bytesToGroups(h[:]))
	}
	data = appendTagged(data, 6, uintToGroups(expiry, 0))
	data = appendTagged(data, 24, uintToGroups(18, 0))
	sig := make([]byte, 65)
	if _, err := rand.Read(sig); err != nil {
		return "", fmt.Errorf("creating invoice signature: %w", err)
	}
	sig[64] &= 1
	data = append(data, bytesToGroups(sig)...)
	return bech32Encode(hrp, data), nil
}

// bolt11Amount writes msat with the largest BOLT #11 multiplier that
// keeps it whole; pico-bitcoin is a tenth of a msat.
func bolt11Amount(msat uint64) string {
	for _, u := range []struct {
		div    uint64
		suffix string
	}{{100000000000, ""}, {100000000, "m"}, {100000, "u"}, {100, "n"}} {
		if msat%u.div == 0 {
			return strconv.FormatUint(msat/u.div, 10) + u.suffix
		}
	}
	return strconv.FormatUint(msat, 10) + "0p"
}

// uintToGroups writes v big-endian in 5-bit groups: exactly width groups,
// or as few as needed when width is 0.
func uintToGroups(v uint64, width int) []byte {
	var g []byte
	for v > 0 || len(g) < width {
		g = append([]byte{byte(v & 31)}, g...)
		v >>= 5
		if width > 0 && len(g) == width {
			break
		}
	}
	return g
}

// bytesToGroups regroups 8-bit bytes into 5-bit groups, zero-padded.
func bytesToGroups(b []byte) []byte {
	var out []byte
	acc, bits := uint32(0), 0
	for _, c := range b {
		acc = acc<<8 | uint32(c)
		bits += 8
		for bits >= 5 {
			bits -= 5
			out = append(out, byte(acc>>bits)&31)
		}
	}
	if bits > 0 {
		out = append(out, byte(acc<<(5-bits))&31)
	}
	return out
}

func appendTagged(data []byte, tag byte, field []byte) []byte {
	data = append(data, tag, byte(len(field)>>5), byte(len(field)&31))
	return append(data, field...)
}

func bech32Polymod(values []byte) uint32 {
	gen := [5]uint32{0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3}
	chk := uint32(1)
	for _, v := range values {
		top := chk >> 25
		chk = (chk&0x1ffffff)<<5 ^ uint32(v)
		for i := 0; i < 5; i++ {
			if (top>>i)&1 == 1 {
				chk ^= gen[i]
			}
		}
	}
	return chk
}

func bech32HRPExpand(hrp string) []byte {
	var out []byte
	for i := 0; i < len(hrp); i++ {
		out = append(out, hrp[i]>>5)
	}
	out = append(out, 0)
	for i := 0; i < len(hrp); i++ {
		out = append(out, hrp[i]&31)
	}
	return out
}

func bech32Encode(hrp string, data []byte) string {
	values := append(bech32HRPExpand(hrp), data...)
	mod := bech32Polymod(append(values, 0, 0, 0, 0, 0, 0)) ^ 1
	var sb strings.Builder
	sb.WriteString(hrp)
	sb.WriteByte('1')
	for _, d := range data {
		sb.WriteByte(bech32Charset[d])
	}
	for i := 0; i < 6; i++ {
		sb.WriteByte(bech32Charset[(mod>>(5*(5-i)))&31])
	}
	return sb.String()
}

// bolt11PaymentHash checks the bech32 checksum of a bolt11 string and
// returns its p field in hex. The signature is not checked.
func bolt11PaymentHash(s string) (string, bool) {
	sep := strings.LastIndexByte(s, '1')
	if sep < 2 || !strings.HasPrefix(s, "ln") || len(s)-sep < 7 {
		return "", false
	}
	hrp := s[:sep]
	var data []byte
	for i := sep + 1; i < len(s); i++ {
		d := strings.IndexByte(bech32Charset, s[i])
		if d < 0 {
			return "", false
		}
		data = append(data, byte(d))
	}
	if bech32Polymod(append(bech32HRPExpand(hrp), data...)) != 1 {
		return "", false
	}
	fields := data[:len(data)-6]
	if len(fields) < 7+104 {
		return "", false
	}
	fields = fields[7 : len(fields)-104]
	for len(fields) >= 3 {
		tag, flen := fields[0], int(fields[1])<<5|int(fields[2])
		if len(fields) < 3+flen {
			return "", false
		}
		if tag == 1 && flen == 52 {
			return hex.EncodeToString(groupsToBytes(fields[3 : 3+52])[:32]), true
		}
		fields = fields[3+flen:]
	}
	return "", false
}

// groupsToBytes regroups 5-bit groups into bytes, dropping leftovers.
func groupsToBytes(g []byte) []byte {
	var out []byte
	acc, bits := uint32(0), 0
	for _, c := range g {
		acc = acc<<5 | uint32(c)
		bits += 5
		if bits >= 8 {
			bits -= 8
			out = append(out, byte(acc>>bits))
		}
	}
	return out
}

// ---- datastore (lightningd/datastore.c) ----

// dsEntry is a row of the datastore table.
type dsEntry struct {
	key  []string
	data []byte
	gen  uint64
}

// dsJoin is the key as the database stores and sorts it.
func dsJoin(key []string) string { return strings.Join(key, "\x00") }

func dsStartsWith(key, prefix []string) bool {
	if len(key) < len(prefix) {
		return false
	}
	for i := range prefix {
		if key[i] != prefix[i] {
			return false
		}
	}
	return true
}

// dsSorted returns the entries under prefix in key order; n.mu held.
func (n *nodeState) dsSorted(prefix []string) []*dsEntry {
	var out []*dsEntry
	for _, e := range n.dsRows {
		if dsStartsWith(e.key, prefix) {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return dsJoin(out[i].key) < dsJoin(out[j].key) })
	return out
}

// pKey is param_list_or_string.
func pKey(name string, required bool, dst *[]string) param {
	return param{name: name, required: required, parse: func(raw json.RawMessage) error {
		switch jsonKind(raw) {
		case '"', 'p':
			*dst = []string{jsonContent(raw)}
			return nil
		case '[':
			elems, _ := jsonArrayElements(raw)
			if len(elems) == 0 {
				return badParam(name, "should not be empty")
			}
			key := make([]string, len(elems))
			for i, e := range elems {
				if k := jsonKind(e); k != '"' && k != 'p' {
					return badParam(name, "should be string")
				}
				key[i] = jsonContent(e)
			}
			*dst = key
			return nil
		}
		return badParam(name, "should be string or array")
	}}
}

// dsMode values are enum ds_mode.
const (
	dsMustExist    = 1
	dsMustNotExist = 2
	dsAppend       = 4
)

func pMode(name string, dst *int) param {
	modes := map[string]int{"must-create": dsMustNotExist, "must-replace": dsMustExist,
		"create-or-replace": 0, "must-append": dsMustExist | dsAppend, "create-or-append": dsAppend}
	return param{name: name, parse: func(raw json.RawMessage) error {
		m, ok := modes[jsonContent(raw)]
		if jsonKind(raw) != '"' || !ok {
			return badParam(name, "should be 'must-create', 'must-replace', 'create-or-replace', 'must-append', or 'create-or-append'")
		}
		*dst = m
		return nil
	}}
}

// dsParams are json_datastore's parameters.
type dsParams struct {
	key        []string
	str        *string
	hex        []byte
	mode       int
	generation *uint64
}

func (p *dsParams) parse(params json.RawMessage) error {
	p.mode = dsMustNotExist
	return parseParams(params,
		pKey("key", true, &p.key),
		param{name: "string", parse: func(raw json.RawMessage) error {
			s, ok := UnescapeJSON(jsonContent(raw))
			if jsonKind(raw) != '"' || !ok {
				return badParam("string", "should be a string (without \\u)")
			}
			p.str = &s
			return nil
		}},
		// param_bin_from_hex never fails: bad hex reads as absent.
		param{name: "hex", parse: func(raw json.RawMessage) error {
			if b, err := hex.DecodeString(jsonContent(raw)); err == nil {
				p.hex = b
			}
			return nil
		}},
		pMode("mode", &p.mode),
		pU64("generation", &p.generation))
}

// datastore follows json_datastore.
func (n *nodeState) datastore(_ context.Context, params json.RawMessage) (json.RawMessage, error) {
	var p dsParams
	if err := p.parse(params); err != nil {
		return nil, err
	}
	data := p.hex
	if p.str != nil {
		if p.hex != nil {
			return nil, invalidParams("Cannot have both hex and string")
		}
		data = []byte(*p.str)
	} else if data == nil {
		return nil, invalidParams("Must have either hex or string")
	}
	if p.generation != nil && p.mode&dsMustExist == 0 {
		return nil, invalidParams("generation only valid with must-replace or must-append")
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	prev, err := n.dsExisting(p.key)
	if err != nil {
		return nil, err
	}
	switch {
	case p.mode&dsMustNotExist != 0 && prev != nil:
		return nil, &RPCError{Code: codeDatastoreExists, Message: "Key already exists"}
	case p.mode&dsMustExist != 0 && prev == nil:
		return nil, &RPCError{Code: codeDatastoreMissing, Message: "Key does not exist"}
	case p.generation != nil && prev.gen != *p.generation:
		return nil, &RPCError{Code: codeDatastoreWrongGen, Message: "generation is different"}
	}
	if prev == nil {
		prev = &dsEntry{key: p.key, data: data}
		n.dsRows[dsJoin(p.key)] = prev
	} else {
		if p.mode&dsAppend != 0 {
			data = append(append([]byte{}, prev.data...), data...)
		}
		prev.data = data
		prev.gen++
	}
	return marshalJSON(dsJSON(prev.key, prev.data, prev.gen, true))
}

// dsExisting returns the entry at key, or an error when key has
// children or a parent holds data; n.mu held.
func (n *nodeState) dsExisting(key []string) (*dsEntry, error) {
	if e, ok := n.dsRows[dsJoin(key)]; ok {
		return e, nil
	}
	if len(n.dsSorted(key)) > 0 {
		return nil, &RPCError{Code: codeDatastoreHasChildren, Message: "Key has children already"}
	}
	for i := 1; i < len(key); i++ {
		if _, ok := n.dsRows[dsJoin(key[:i])]; ok {
			return nil, &RPCError{Code: codeDatastoreNoChildren,
				Message: fmt.Sprintf("Parent key [%s] exists", strings.Join(key[:i], ","))}
		}
	}
	return nil, nil
}

// dsEntryJSON is json_add_datastore: key, then generation, hex and
// string (only valid UTF-8 without NUL) when there is data.
type dsEntryJSON struct {
	Key        []string `json:"key"`
	Generation *uint64  `json:"generation,omitempty"`
	Hex        *string  `json:"hex,omitempty"`
	String     *string  `json:"string,omitempty"`
}

func dsJSON(key []string, data []byte, gen uint64, withData bool) dsEntryJSON {
	out := dsEntryJSON{Key: key}
	if !withData {
		return out
	}
	h := hex.EncodeToString(data)
	out.Generation, out.Hex = &gen, &h
	if utf8.Valid(data) && bytes.IndexByte(data, 0) < 0 {
		s := string(data)
		out.String = &s
	}
	return out
}

// delDatastore follows json_deldatastore.
func (n *nodeState) delDatastore(_ context.Context, params json.RawMessage) (json.RawMessage, error) {
	var key []string
	var generation *uint64
	if err := parseParams(params, pKey("key", true, &key), pU64("generation", &generation)); err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	e, ok := n.dsRows[dsJoin(key)]
	if !ok {
		return nil, &RPCError{Code: codeDatastoreDelMissing, Message: "Key does not exist"}
	}
	if generation != nil && e.gen != *generation {
		return nil, &RPCError{Code: codeDatastoreDelWrongGen, Message: "generation is different"}
	}
	delete(n.dsRows, dsJoin(key))
	return marshalJSON(dsJSON(e.key, e.data, e.gen, true))
}

// listDatastore follows json_listdatastore: entries one level below key
// in full, deeper ones summarised by their first level below key.
func (n *nodeState) listDatastore(_ context.Context, params json.RawMessage) (json.RawMessage, error) {
	var key []string
	if err := parseParams(params, pKey("key", false, &key)); err != nil {
		return nil, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	out := []dsEntryJSON{}
	var prevPrefix []string
	for _, e := range n.dsSorted(key) {
		if len(e.key) > len(key)+1 {
			if prevPrefix == nil || !dsStartsWith(e.key, prevPrefix) {
				prevPrefix = e.key[:len(key)+1]
				out = append(out, dsJSON(prevPrefix, nil, 0, false))
			}
			continue
		}
		out = append(out, dsJSON(e.key, e.data, e.gen, true))
	}
	return marshalJSON(struct {
		Datastore []dsEntryJSON `json:"datastore"`
	}{out})
}
