package lightningdtest

// This file validates a plugin's getmanifest answer and builds init's
// "options" from it, following plugin_parse_getmanifest_response,
// plugin_opt_add and json_add_plugin_options in lightningd/plugin.c.
// Error texts are lightningd's.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// pluginOption is one manifest option as lightningd keeps it.
type pluginOption struct {
	name  string
	kind  string  // "string", "string-conceal", "int", "bool" or "flag"
	def   *string // default in config-file text form; nil if none
	multi bool
}

// pluginManifest is what the host keeps of a valid manifest.
type pluginManifest struct {
	options       []pluginOption
	methods       []string
	subscriptions []string
	notifications []string
}

func (m *pluginManifest) hasMethod(name string) bool {
	return slices.Contains(m.methods, name)
}

func (m *pluginManifest) declaresNotification(topic string) bool {
	return slices.Contains(m.notifications, topic)
}

// pluginFeaturePlaces are the featurebits keys lightningd reads
// (feature_place_names in common/features.c).
func pluginFeaturePlaces() []string {
	return []string{"init", "node", "channel", "invoice",
		"bolt12_offer", "bolt12_invreq", "bolt12_invoice", "channel_type"}
}

// validPluginOptionName reports whether name uses only the characters
// lightningd allows in option names.
func validPluginOptionName(name string) bool {
	for _, c := range name {
		if !strings.ContainsRune("0123456789abcdefghijklmnopqrstuvwxyz_-", c) {
			return false
		}
	}
	return true
}

// validPluginVersion reports whether s looks like a version number as
// "deprecated" arrays carry them ("v24.02").
func validPluginVersion(s string) bool {
	major, minor, ok := strings.Cut(strings.TrimPrefix(s, "v"), ".")
	if !ok || !strings.HasPrefix(s, "v") {
		return false
	}
	minor, _, _ = strings.Cut(minor, ".")
	_, err1 := strconv.ParseUint(major, 10, 32)
	_, err2 := strconv.ParseUint(minor, 10, 32)
	return err1 == nil && err2 == nil
}

// parsePluginManifest validates the getmanifest result. A non-nil disable
// means the plugin disabled itself with that reason.
func parsePluginManifest(result, full json.RawMessage, path string) (*pluginManifest, *string, error) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(result, &obj) != nil || obj == nil {
		return nil, nil, fmt.Errorf("Invalid/missing result tok in '%s'", full)
	}
	if raw, ok := obj["disable"]; ok {
		reason := pluginTokenText(raw)
		return nil, &reason, nil
	}
	if err := checkPluginManifestFlags(obj); err != nil {
		return nil, nil, err
	}
	m := &pluginManifest{}
	var err error
	if m.notifications, err = parsePluginNotifications(obj); err != nil {
		return nil, nil, err
	}
	if m.options, err = parsePluginOptions(obj); err != nil {
		return nil, nil, err
	}
	if m.methods, err = parsePluginMethods(obj, path); err != nil {
		return nil, nil, err
	}
	if m.subscriptions, err = parsePluginSubscriptions(obj); err != nil {
		return nil, nil, err
	}
	if err := checkPluginHooks(obj); err != nil {
		return nil, nil, err
	}
	return m, nil, nil
}

// pluginBool reads an optional JSON boolean member; ok is false when the
// member is there but not true or false.
func pluginBool(obj map[string]json.RawMessage, key string) (value, present, ok bool) {
	raw, present := obj[key]
	if !present {
		return false, false, true
	}
	switch string(bytes.TrimSpace(raw)) {
	case "true":
		return true, true, true
	case "false":
		return false, true, true
	}
	return false, true, false
}

// checkPluginManifestFlags checks dynamic, featurebits, custommessages,
// nonnumericids and cancheck.
func checkPluginManifestFlags(obj map[string]json.RawMessage) error {
	dynamic, _, ok := pluginBool(obj, "dynamic")
	if !ok {
		return fmt.Errorf("getmanifest: invalid \"dynamic\" field %s", obj["dynamic"])
	}
	if err := checkPluginFeatureBits(obj["featurebits"], dynamic); err != nil {
		return err
	}
	if raw, ok := obj["custommessages"]; ok {
		var msgs []json.RawMessage
		if json.Unmarshal(raw, &msgs) != nil {
			return fmt.Errorf("custommessages must be array, not '%s'", raw)
		}
		for i, m := range msgs {
			if _, err := strconv.ParseUint(string(m), 10, 16); err != nil {
				return fmt.Errorf("custommessages %d not a u16: '%s'", i, m)
			}
		}
	}
	nonNumeric, present, ok := pluginBool(obj, "nonnumericids")
	if !ok {
		return fmt.Errorf("Invalid nonnumericids: %s", obj["nonnumericids"])
	}
	if present && !nonNumeric {
		return errors.New("Plugin does not allow nonnumericids")
	}
	if _, _, ok := pluginBool(obj, "cancheck"); !ok {
		return fmt.Errorf("Invalid cancheck: %s", obj["cancheck"])
	}
	return nil
}

// checkPluginFeatureBits checks that feature bits are hex, and that only a
// non-dynamic plugin sets any.
func checkPluginFeatureBits(raw json.RawMessage, dynamic bool) error {
	var places map[string]json.RawMessage
	if raw == nil || json.Unmarshal(raw, &places) != nil {
		return nil
	}
	someBits := false
	for _, place := range pluginFeaturePlaces() {
		v, ok := places[place]
		if !ok {
			continue
		}
		text := pluginTokenText(v)
		if len(text)%2 != 0 || !pluginIsHex(text) {
			return fmt.Errorf("Featurebits returned by plugin is not a valid hexadecimal string: %s", text)
		}
		someBits = someBits || text != ""
	}
	if dynamic && someBits {
		return fmt.Errorf("Custom featurebits only allows for non-dynamic plugins: dynamic=1, featurebits=%s", raw)
	}
	return nil
}

func pluginIsHex(s string) bool {
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

// parsePluginNotifications reads the custom notification topics.
func parsePluginNotifications(obj map[string]json.RawMessage) ([]string, error) {
	raw, ok := obj["notifications"]
	if !ok {
		return nil, nil
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		return nil, errors.New("\"result.notifications\" is not an array")
	}
	var topics []string
	for i, item := range list {
		var n map[string]json.RawMessage
		if json.Unmarshal(item, &n) != nil || n == nil {
			return nil, fmt.Errorf("\"result.notifications[%d]\" is not an object", i)
		}
		var method string
		if json.Unmarshal(n["method"], &method) != nil {
			return nil, fmt.Errorf("\"result.notifications[%d].name\" missing or not a string.", i)
		}
		topics = append(topics, method)
	}
	return topics, nil
}

// parsePluginOptions reads "options", which every manifest must have.
func parsePluginOptions(obj map[string]json.RawMessage) ([]pluginOption, error) {
	raw, ok := obj["options"]
	if !ok {
		return nil, errors.New("\"result.options\" was not found in the manifest")
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		return nil, errors.New("\"result.options\" is not an array")
	}
	var opts []pluginOption
	for _, item := range list {
		opt, err := parsePluginOption(item)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(opts, func(o pluginOption) bool { return o.name == opt.name }) {
			return nil, fmt.Errorf("Option \"%s\" already registered", opt.name)
		}
		opts = append(opts, opt)
	}
	return opts, nil
}

// parsePluginOption is plugin_opt_add().
func parsePluginOption(item json.RawMessage) (pluginOption, error) {
	var o map[string]json.RawMessage
	json.Unmarshal(item, &o)
	if o["name"] == nil || o["type"] == nil || o["description"] == nil {
		return pluginOption{}, errors.New("An option is missing either \"name\", \"description\" or \"type\"")
	}
	opt := pluginOption{name: pluginTokenText(o["name"]), kind: pluginTokenText(o["type"])}
	if !validPluginOptionName(opt.name) {
		return opt, errors.New("Option \"name\" must be lowercase alphanumeric, plus _ or -'")
	}
	if err := checkPluginDeprecated(o["deprecated"]); err != nil {
		return opt, err
	}
	for _, key := range []string{"multi", "dynamic"} {
		v, _, ok := pluginBool(o, key)
		if !ok {
			return opt, fmt.Errorf("--%s: invalid \"%s\" field %s", opt.name, key, o[key])
		}
		if key == "multi" {
			opt.multi = v
		}
	}
	if err := checkPluginOptionKind(opt, o["default"]); err != nil {
		return opt, err
	}
	def, err := pluginOptionDefault(opt, o["default"])
	opt.def = def
	return opt, err
}

// checkPluginOptionKind checks the type against multi and, for a flag,
// its default.
func checkPluginOptionKind(opt pluginOption, def json.RawMessage) error {
	switch opt.kind {
	case "flag":
		if def != nil && string(bytes.TrimSpace(def)) != "false" {
			return fmt.Errorf("--%s type flag default must be 'false' not %s", opt.name, bytes.TrimSpace(def))
		}
		if opt.multi {
			return errors.New("flag type cannot be multi")
		}
	case "bool":
		if opt.multi {
			return errors.New("bool type cannot be multi")
		}
	case "string", "string-conceal", "int":
	default:
		return errors.New("Only \"string\", \"int\", \"bool\", and \"flag\" options are supported")
	}
	return nil
}

// pluginOptionDefault turns a default into config-file text and checks it
// parses for the option's type. null and flag defaults mean no default.
func pluginOptionDefault(opt pluginOption, raw json.RawMessage) (*string, error) {
	raw = bytes.TrimSpace(raw)
	if raw == nil || string(raw) == "null" || opt.kind == "flag" {
		return nil, nil
	}
	text := string(raw)
	var s string
	if json.Unmarshal(raw, &s) == nil {
		text = s
	}
	if _, problem := renderPluginOptionValue(opt, text); problem != "" {
		return nil, fmt.Errorf("Invalid default '%s': %s", text, problem)
	}
	return &text, nil
}

// checkPluginDeprecated accepts a bool or an array of one or two versions.
func checkPluginDeprecated(raw json.RawMessage) error {
	raw = bytes.TrimSpace(raw)
	if raw == nil || string(raw) == "true" || string(raw) == "false" {
		return nil
	}
	var versions []json.RawMessage
	if json.Unmarshal(raw, &versions) != nil || len(versions) == 0 || len(versions) > 2 {
		return fmt.Errorf("\"deprecated\" must be an array of 1 or 2 elements, not %s", raw)
	}
	for i, v := range versions {
		if text := pluginTokenText(v); !validPluginVersion(text) {
			which := "start"
			if i == 1 {
				which = "end"
			}
			return fmt.Errorf("invalid \"deprecated\" %s version %s", which, text)
		}
	}
	return nil
}

// parsePluginMethods reads "rpcmethods", which every manifest must have.
func parsePluginMethods(obj map[string]json.RawMessage, path string) ([]string, error) {
	raw, ok := obj["rpcmethods"]
	if !ok {
		return nil, errors.New("\"result.rpcmethods\" missing")
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		return nil, errors.New("\"result.rpcmethods\" is not an array")
	}
	var names []string
	for _, item := range list {
		var m map[string]json.RawMessage
		json.Unmarshal(item, &m)
		var name string
		if json.Unmarshal(m["name"], &name) != nil {
			return nil, fmt.Errorf("rpcmethod does not have a string \"name\": %s", item)
		}
		usage, ok := m["usage"]
		if ok && json.Unmarshal(usage, new(string)) != nil {
			return nil, fmt.Errorf("\"usage\" is not a string: %s", item)
		}
		if !ok {
			return nil, errors.New("\"usage\" not provided by plugin")
		}
		if err := checkPluginDeprecated(m["deprecated"]); err != nil {
			return nil, err
		}
		if slices.Contains(names, name) {
			return nil, fmt.Errorf("Could not register method \"%s\", a method with that "+
				"name is already registered by plugin %s", name, path)
		}
		names = append(names, name)
	}
	return names, nil
}

// parsePluginSubscriptions reads the optional "subscriptions" array.
func parsePluginSubscriptions(obj map[string]json.RawMessage) ([]string, error) {
	raw, ok := obj["subscriptions"]
	if !ok {
		return nil, nil
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		return nil, errors.New("\"result.subscriptions\" is not an array")
	}
	subs := make([]string, 0, len(list))
	for i, item := range list {
		var topic string
		if json.Unmarshal(item, &topic) != nil {
			return nil, fmt.Errorf("result.subscriptions[%d] is not a string: '%s'", i, item)
		}
		subs = append(subs, topic)
	}
	return subs, nil
}

// checkPluginHooks checks the optional "hooks": names, or objects with one.
func checkPluginHooks(obj map[string]json.RawMessage) error {
	raw, ok := obj["hooks"]
	if !ok {
		return nil
	}
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		return fmt.Errorf("\"result.hooks\" is not an array: %s", raw)
	}
	for _, item := range list {
		var h map[string]json.RawMessage
		if json.Unmarshal(item, &h) == nil && h != nil && h["name"] == nil {
			return fmt.Errorf("no name in hook obj %s", item)
		}
	}
	return nil
}

// pluginInitOptions builds init's "options" object: every option that is
// set or has a default, in manifest order, typed by the option's type;
// multi options as arrays (json_add_plugin_options in plugin.c).
func pluginInitOptions(opts []pluginOption, values map[string]any) (json.RawMessage, error) {
	names := make([]string, 0, len(values))
	for name := range values {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !slices.ContainsFunc(opts, func(o pluginOption) bool { return o.name == name }) {
			return nil, fmt.Errorf("option %q: the plugin has no such option", name)
		}
	}
	var out pluginJSONObject
	for _, opt := range opts {
		texts, err := pluginOptionTexts(opt, values[opt.name])
		if err != nil {
			return nil, err
		}
		if texts == nil && opt.def != nil {
			texts = []string{*opt.def}
		}
		if texts == nil {
			continue
		}
		rendered := make([]json.RawMessage, 0, len(texts))
		for _, text := range texts {
			v, problem := renderPluginOptionValue(opt, text)
			if problem != "" {
				return nil, fmt.Errorf("option --%s=%s: %s", opt.name, text, problem)
			}
			rendered = append(rendered, v)
		}
		if opt.multi {
			out.add(opt.name, append(append(json.RawMessage("["),
				bytes.Join(pluginRawSlices(rendered), []byte(","))...), ']'))
		} else {
			out.add(opt.name, rendered[len(rendered)-1])
		}
	}
	return out.bytes(), nil
}

func pluginRawSlices(values []json.RawMessage) [][]byte {
	out := make([][]byte, len(values))
	for i, v := range values {
		out[i] = v
	}
	return out
}

// pluginOptionTexts turns a Go value from PluginConfig.Options into the
// config-file texts a user would write; nil means unset.
func pluginOptionTexts(opt pluginOption, v any) ([]string, error) {
	var texts []string
	switch v := v.(type) {
	case nil:
		return nil, nil
	case string:
		texts = []string{v}
	case bool:
		if opt.kind == "flag" && !v {
			return nil, nil
		}
		texts = []string{strconv.FormatBool(v)}
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		texts = []string{fmt.Sprintf("%d", v)}
	case []string:
		if len(v) == 0 {
			return nil, nil
		}
		texts = slices.Clone(v)
	default:
		return nil, fmt.Errorf("option %q: unsupported value type %T", opt.name, v)
	}
	if len(texts) > 1 && !opt.multi {
		return nil, fmt.Errorf("option %q: several values for an option that is not multi", opt.name)
	}
	if opt.kind == "flag" && texts[0] != "true" {
		return nil, fmt.Errorf("option %q: a flag is set with true, not %q", opt.name, texts[0])
	}
	return texts, nil
}

// renderPluginOptionValue checks a config-file text for the option's type
// and returns its JSON form in init (json_add_plugin_val): ints as
// numbers, bools as booleans, flags as true, strings as strings. problem
// is lightningd's complaint for a text that does not parse.
func renderPluginOptionValue(opt pluginOption, text string) (json.RawMessage, string) {
	switch opt.kind {
	case "int":
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			var numErr *strconv.NumError
			if errors.As(err, &numErr) && errors.Is(numErr.Err, strconv.ErrRange) {
				return nil, fmt.Sprintf("'%s' is out of range", text)
			}
			return nil, fmt.Sprintf("'%s' is not a number", text)
		}
		return json.RawMessage(strconv.FormatInt(n, 10)), ""
	case "bool":
		switch strings.ToLower(text) {
		case "yes", "true":
			return json.RawMessage("true"), ""
		case "no", "false":
			return json.RawMessage("false"), ""
		}
		return nil, fmt.Sprintf("Invalid argument '%s'", text)
	case "flag":
		return json.RawMessage("true"), ""
	}
	return pluginJSONString(text), ""
}
