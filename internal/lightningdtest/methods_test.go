package lightningdtest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// nodeWithSecret starts a server with the test_runes.py master secret.
func nodeWithSecret(t *testing.T, cfg RPCConfig) (*RPCServer, *testClient) {
	t.Helper()
	secret, err := hex.DecodeString(lightningdMasterSecret)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MasterSecret = secret
	s := newTestServer(t, cfg)
	return s, dial(t, s)
}

// result calls method and fails the test on an error answer.
func (tc *testClient) result(method, params string) json.RawMessage {
	tc.t.Helper()
	a := tc.call(method, params)
	if a.Error != nil {
		tc.t.Fatalf("%s %s: got error %d %q; want result", method, params, a.Error.Code, a.Error.Message)
	}
	return a.Result
}

// runeOf creates a rune through the RPC and returns its string.
func (tc *testClient) runeOf(params string) string {
	tc.t.Helper()
	var out struct{ Rune string }
	if err := json.Unmarshal(tc.result("createrune", params), &out); err != nil {
		tc.t.Fatalf("decoding createrune: %v", err)
	}
	return out.Rune
}

// errorOf returns "code message" of an answer, or "ok" for a result.
func errorOf(a answer) string {
	if a.Error == nil {
		return "ok"
	}
	return fmt.Sprintf("%d %s", a.Error.Code, a.Error.Message)
}

// TestCreateruneMatchesLightningd replays test_createrune: the same
// calls on a node with the same master secret give the same runes.
func TestCreateruneMatchesLightningd(t *testing.T) {
	_, tc := nodeWithSecret(t, RPCConfig{})
	steps := []struct {
		name, params, want string
		warning            bool
	}{
		{"no restrictions", `{}`, `I9TZsYEWiAwThQye-gYhpWIe1h15szWEN_qNyMSBOdE9MA==`, true},
		{"readonly", `{"restrictions":"readonly"}`, `s0IEnsikGDw76tdpAiMbqzigYhlkjqSVh0ZuvJ1Np1w9MSZtZXRob2RebGlzdHxtZXRob2ReZ2V0fG1ldGhvZD1zdW1tYXJ5Jm1ldGhvZC9saXN0ZGF0YXN0b3Jl`, false},
		{"time", `{"restrictions":[["time>1656675211"]]}`, `K0c0pWvBWb3y9HF1GMy33Zx2KRg1zcEvQLr2vtWwMew9MiZ0aW1lPjE2NTY2NzUyMTE=`, false},
		{"id and method", `{"restrictions":[["id^022d223620a359a47ff7"],["method=listpeers"]]}`, `ixuStVB4oewJtVNnim1P_qEL89ZU0G8Tnxg_JZgJTUk9MyZpZF4wMjJkMjIzNjIwYTM1OWE0N2ZmNyZtZXRob2Q9bGlzdHBlZXJz`, false},
		{"restrict existing, positional", `["ixuStVB4oewJtVNnim1P_qEL89ZU0G8Tnxg_JZgJTUk9MyZpZF4wMjJkMjIzNjIwYTM1OWE0N2ZmNyZtZXRob2Q9bGlzdHBlZXJz",[["pnamelevel!","pnamelevel/io"]]]`,
			`NUPHrMs1TEdfWbRfO_KJ4rXhJSBjmSqbdcz-W0yH9J89MyZpZF4wMjJkMjIzNjIwYTM1OWE0N2ZmNyZtZXRob2Q9bGlzdHBlZXJzJnBuYW1lbGV2ZWwhfHBuYW1lbGV2ZWwvaW8=`, false},
		{"pnum gets id 4", `{"restrictions":[["pnum=0"]]}`, `k6kQt9dkGMaz75f51-PEkPk8Qovbiqz2HXconizqa-w9NCZwbnVtPTA=`, false},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			var out struct {
				Rune     string  `json:"rune"`
				UniqueID string  `json:"unique_id"`
				Warning  *string `json:"warning_unrestricted_rune"`
			}
			if err := json.Unmarshal(tc.result("createrune", st.params), &out); err != nil {
				t.Fatal(err)
			}
			if out.Rune != st.want {
				t.Errorf("got %s; want %s", out.Rune, st.want)
			}
			if (out.Warning != nil) != st.warning || (out.Warning != nil && *out.Warning != unrestrictedWarning) {
				t.Errorf("warning: got %v; want present=%v", out.Warning, st.warning)
			}
		})
	}
}

func TestCreateruneErrors(t *testing.T) {
	_, tc := nodeWithSecret(t, RPCConfig{})
	const bad = "-32602 restrictions: not a valid restriction (should be array): invalid token (see logs for details)"
	tests := []struct{ name, params, want string }{
		{"condition first", `{"restrictions":[["!method"]]}`, bad},
		{"no condition", `{"restrictions":[["method"]]}`, bad},
		{"string restriction", `{"restrictions":"method=getinfo"}`, bad},
		{"flat array", `{"restrictions":["method=getinfo"]}`, bad},
		{"unicode escape", `{"restrictions":[["method=\u0041"]]}`, bad},
		{"bad rune", `{"rune":"!!!"}`, "-32602 rune: should be base64 string: invalid token (see logs for details)"},
		{"rune without id", `{"rune":"SaQlgbzu6SGAhANReucs7P8GLuVbSlPg30QG78UzNcY="}`, "-32602 rune: should have valid numeric unique_id: invalid token (see logs for details)"},
		{"rune id zero word", `{"rune":"pX1h8z05kg0WZqe0ogo_8MHOa7-8gVZNXTckyyLKuLk9emVybw=="}`, "-32602 rune: should have valid numeric unique_id: invalid token (see logs for details)"},
		{"rune id too big", `{"rune":"cr7eQmdhPVqH3-M2g67JymP2zVKyZ_n5hhFk3IMSg5o9OTIyMzM3MjAzNjg1NDc3NTgwOQ=="}`, "-32602 rune: should have valid numeric unique_id: invalid token (see logs for details)"},
		{"unknown parameter", `{"restriction":[]}`, "-32602 unknown parameter: restriction, this may be caused by a failure to autodetect key=value-style parameters. Please try using the -k flag and explicit key=value pairs of parameters."},
		{"too many", `[null,null,null]`, "-32602 too many parameters: got 3, expected 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errorOf(tc.call("createrune", tt.params)); got != tt.want {
				t.Errorf("got %q; want %q", got, tt.want)
			}
		})
	}
}

func TestCheckrune(t *testing.T) {
	s, tc := nodeWithSecret(t, RPCConfig{})
	id := s.NodeID()
	unrestricted := tc.runeOf(`{}`)
	readonly := tc.runeOf(`{"restrictions":"readonly"}`)
	methodGetinfo := tc.runeOf(`[null,[["method=getinfo"]]]`)
	notGetinfo := tc.runeOf(`{"restrictions":[["method/getinfo"]]}`)
	noMethod := tc.runeOf(`{"restrictions":[["method!"]]}`)
	byID := tc.runeOf(`{"restrictions":[["id=` + id + `"]]}`)
	pnum := tc.runeOf(`{"restrictions":[["method=pay"],["pnum=1"]]}`)
	parr := tc.runeOf(`{"restrictions":[["method=pay"],["parr1=17"]]}`)
	pname := tc.runeOf(`{"restrictions":[["method=pay"],["pnamebolt11=xxx"]]}`)
	amount := tc.runeOf(`{"restrictions":[["method=pay"],["pnameamount_msat<10000"]]}`)
	stripped := tc.runeOf(`{"restrictions":[["pnameamountmsat=5"]]}`)
	weird := tc.runeOf(`{"restrictions":[["method=invoice"],["pnamedescription=@tipjar|jb55@sendsats.lol"]]}`)
	quoted := tc.runeOf(`{"restrictions":[["pnamex=say\"hi"]]}`)
	expired := tc.runeOf(`{"restrictions":[["time<1656675211"]]}`)
	twoAlts := tc.runeOf(`{"restrictions":[["method=a","method=b"]]}`)
	blacklisted := tc.runeOf(`{}`)
	tc.result("blacklistrune", fmt.Sprintf(`{"start":%d}`, mustID(t, blacklisted)))
	other, _ := mustMaster(t, ccanZeroSecret).Derive("0")
	tamperedRune, err := ParseRune(unrestricted)
	if err != nil {
		t.Fatal(err)
	}
	tamperedRune.state.h[5] ^= 1
	tampered := tamperedRune.String()

	ok := "ok"
	np := func(m string) string { return "1502 Not permitted: " + m }
	tests := []struct{ name, params, want string }{
		{"unrestricted", `{"rune":"` + unrestricted + `","nodeid":"` + id + `","method":"listpeers","params":{}}`, ok},
		{"positional", `["` + unrestricted + `","` + id + `","listpeers",[]]`, ok},
		{"readonly list", `{"rune":"` + readonly + `","method":"listpeers"}`, ok},
		{"readonly get", `{"rune":"` + readonly + `","method":"getinfo"}`, ok},
		{"readonly clnrest notifications", `{"rune":"` + readonly + `","method":"listclnrest-notifications"}`, ok},
		{"readonly summary", `{"rune":"` + readonly + `","method":"summary"}`, ok},
		{"readonly invoice", `{"rune":"` + readonly + `","method":"invoice","params":{"amount_msat":"1000"}}`,
			np("method does not start with list AND method does not start with get AND method is not equal to summary")},
		{"readonly listdatastore", `{"rune":"` + readonly + `","method":"listdatastore"}`, np("method is equal to listdatastore")},
		{"readonly help", `{"rune":"` + readonly + `","method":"help"}`,
			np("method does not start with list AND method does not start with get AND method is not equal to summary")},
		{"method equal", `{"rune":"` + methodGetinfo + `","method":"getinfo"}`, ok},
		{"method unequal", `{"rune":"` + methodGetinfo + `","method":"notpay"}`, np("method is not equal to getinfo")},
		{"method absent", `{"rune":"` + methodGetinfo + `"}`, np("method not present")},
		{"method negated", `{"rune":"` + notGetinfo + `","method":"getinfo"}`, np("method is equal to getinfo")},
		{"method negated absent", `{"rune":"` + notGetinfo + `"}`, np("method not present")},
		{"method must be missing", `{"rune":"` + noMethod + `","method":""}`, np("method is present")},
		{"method missing ok", `{"rune":"` + noMethod + `"}`, ok},
		{"id equal", `{"rune":"` + byID + `","nodeid":"` + strings.ToUpper(id) + `"}`, ok},
		{"id absent", `{"rune":"` + byID + `","method":"getinfo"}`, np("id not present")},
		{"id other", `{"rune":"` + byID + `","nodeid":"02` + id[2:] + `"}`, np("id is not equal to " + id)},
		{"pnum array", `{"rune":"` + pnum + `","method":"pay","params":["xxx",12000]}`, np("number of parameters is not equal to 1")},
		{"pnum object", `{"rune":"` + pnum + `","method":"pay","params":{"bolt11":"xxx","amount_msat":17}}`, np("number of parameters is not equal to 1")},
		{"parr unequal", `{"rune":"` + parr + `","method":"pay","params":["xxx",12000]}`, np("parameter #1 is not equal to 17")},
		{"parr equal", `{"rune":"` + parr + `","method":"pay","params":["xxx",17]}`, ok},
		{"parr on object", `{"rune":"` + parr + `","method":"pay","params":{"bolt11":"xxx","amount_msat":12000}}`, np("parameter #1 not present")},
		{"pname unequal", `{"rune":"` + pname + `","method":"pay","params":{"bolt11":"yyy"}}`, np("parameter bolt11 is not equal to xxx")},
		{"pname absent", `{"rune":"` + pname + `","method":"pay","params":{"amount_msat":12000}}`, np("parameter bolt11 not present")},
		{"amount string", `{"rune":"` + amount + `","method":"pay","params":{"bolt11":"x","amount_msat":"10000sat"}}`, np("parameter amount_msat is not an integer field")},
		{"amount big", `{"rune":"` + amount + `","method":"pay","params":{"bolt11":"x","amount_msat":12000}}`, np("parameter amount_msat is greater or equal to 10000")},
		{"amount ok", `{"rune":"` + amount + `","method":"pay","params":{"bolt11":"x","amount_msat":9999}}`, ok},
		{"amount positional", `{"rune":"` + amount + `","method":"pay","params":["x",12000]}`, np("parameter amount_msat not present")},
		{"punctuation stripped", `{"rune":"` + stripped + `","params":{"amount_msat":5}}`, ok},
		{"pipe in value", `{"rune":"` + weird + `","method":"invoice","params":{"amount_msat":"any","label":"lbl","description":"@tipjar|jb55@sendsats.lol"}}`, ok},
		{"escaped pipe in value", `{"rune":"` + weird + `","method":"invoice","params":{"description":"@tipjar\\|jb55@sendsats.lol"}}`,
			np("parameter description is not equal to @tipjar|jb55@sendsats.lol")},
		{"quote escaped in message", `{"rune":"` + quoted + `","params":{"x":"no"}}`, np(`parameter x is not equal to say\"hi`)},
		{"time", `{"rune":"` + expired + `"}`, np("time is greater or equal to 1656675211")},
		{"alternatives joined", `{"rune":"` + twoAlts + `","method":"c"}`, np("method is not equal to a AND method is not equal to b")},
		{"tampered", `{"rune":"` + tampered + `"}`, "1501 Not authorized: Not derived from master"},
		{"other secret", `{"rune":"` + other.String() + `"}`, "1501 Not authorized: Not derived from master"},
		{"blacklisted", `{"rune":"` + blacklisted + `","method":"getinfo"}`, "1503 Not authorized: Blacklisted rune"},
		{"missing rune", `{"method":"getinfo"}`, "-32602 missing required parameter: rune"},
		{"bad rune", `{"rune":"not a rune"}`, "-32602 rune: should be base64 string: invalid token (see logs for details)"},
		{"bad nodeid", `{"rune":"` + unrestricted + `","nodeid":"02"}`, "-32602 nodeid: should be a node id: invalid token (see logs for details)"},
		{"params string", `{"rune":"` + unrestricted + `","params":"x"}`, "-32602 params: must be object or array: invalid token (see logs for details)"},
		{"duplicate", `{"rune":"` + unrestricted + `","rune":"` + unrestricted + `"}`, "-32602 duplicate json names: rune"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tc.call("checkrune", tt.params)
			got := errorOf(a)
			if got != tt.want {
				t.Errorf("got %q; want %q", got, tt.want)
			}
			if got == ok && string(a.Result) != `{"valid":true}` {
				t.Errorf("got result %s; want {\"valid\":true}", a.Result)
			}
		})
	}
}

func mustID(t *testing.T, runeStr string) uint64 {
	t.Helper()
	r, err := ParseRune(runeStr)
	if err != nil {
		t.Fatal(err)
	}
	id, ok := runeIDNumber(r)
	if !ok {
		t.Fatalf("rune %s has no numeric id", runeStr)
	}
	return id
}

func TestCheckruneRateAndPer(t *testing.T) {
	_, tc := nodeWithSecret(t, RPCConfig{})
	rate := tc.runeOf(`{"restrictions":[["rate=1"]]}`)
	per := tc.runeOf(`{"restrictions":[["per=1min"]]}`)
	fast := tc.runeOf(`{"restrictions":[["per=50msec"]]}`)
	base := tc.runeOf(`{"restrictions":[["method^get"]]}`)
	derived := tc.runeOf(`["` + base + `",[["rate=1"]]]`)
	unstored := tc.runeOf(`["` + rate + `",[["method=getinfo"]]]`)
	steps := []struct {
		name, rune, method, want string
		sleep                    time.Duration
	}{
		{"rate first use", rate, "getinfo", "ok", 0},
		{"rate second use", rate, "getinfo", "1502 Not permitted: too soon", 0},
		{"per first use", per, "getinfo", "ok", 0},
		{"per second use", per, "listpeers", "1502 Not permitted: too soon", 0},
		{"fast per first", fast, "getinfo", "ok", 0},
		{"fast per too soon", fast, "getinfo", "1502 Not permitted: too soon", 0},
		{"fast per later", fast, "getinfo", "ok", 80 * time.Millisecond},
		{"failed check leaves no use", base, "pay", "1502 Not permitted: method does not start with get", 0},
		{"derived rune first use", derived, "getinfo", "ok", 0},
		{"base shares the last use", derived, "getinfo", "1502 Not permitted: too soon", 0},
		{"restricted copy of used rune", unstored, "getinfo", "1502 Not permitted: too soon", 0},
		{"malformed rate", tc.runeOf(`{"restrictions":[["rate=x"]]}`), "getinfo", "1502 Not permitted: malformed rate", 0},
		{"rate operator", tc.runeOf(`{"restrictions":[["rate<5"]]}`), "getinfo", "1502 Not permitted: rate operator must be =", 0},
		{"per suffix", tc.runeOf(`{"restrictions":[["per=5weeks"]]}`), "getinfo", "1502 Not permitted: malformed suffix", 0},
		{"per zero", tc.runeOf(`{"restrictions":[["per=0"]]}`), "getinfo", "1502 Not permitted: malformed per", 0},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			time.Sleep(st.sleep)
			got := errorOf(tc.call("checkrune", `{"rune":"`+st.rune+`","method":"`+st.method+`"}`))
			if got != st.want {
				t.Errorf("got %q; want %q", got, st.want)
			}
		})
	}
}

func TestShowrunes(t *testing.T) {
	_, tc := nodeWithSecret(t, RPCConfig{})
	first := tc.runeOf(`{}`)
	readonly := tc.runeOf(`{"restrictions":"readonly"}`)
	restricted := tc.runeOf(`["` + readonly + `",[["pnum=0"]]]`)
	tc.result("checkrune", `{"rune":"`+first+`","method":"getinfo"}`)
	tc.result("blacklistrune", `{"start":1}`)
	foreign := "oNJAqigqDrHBGzsm7gV3z87oGpzq-KqFlOxx2O9iEQk9MA==" // from test_showrunes, another node's
	tests := []struct {
		name, params string
		check        func(t *testing.T, runes []map[string]json.RawMessage)
	}{
		{"all", `{}`, func(t *testing.T, runes []map[string]json.RawMessage) {
			if len(runes) != 2 {
				t.Fatalf("got %d runes; want 2", len(runes))
			}
			wantKeys(t, runes[0], "rune", "last_used", "unique_id", "restrictions", "restrictions_as_english")
			wantKeys(t, runes[1], "rune", "blacklisted", "unique_id", "restrictions", "restrictions_as_english")
			wantField(t, runes[1], "restrictions_as_english",
				`"method starts with list OR method starts with get OR method equal to summary AND method unequal to listdatastore"`)
			wantField(t, runes[0], "restrictions", `[]`)
		}},
		{"restricted copy", `["` + restricted + `"]`, func(t *testing.T, runes []map[string]json.RawMessage) {
			wantKeys(t, runes[0], "rune", "stored", "blacklisted", "unique_id", "restrictions", "restrictions_as_english")
			wantField(t, runes[0], "stored", `false`)
			wantField(t, runes[0], "unique_id", `"1"`)
		}},
		{"foreign rune", `{"rune":"` + foreign + `"}`, func(t *testing.T, runes []map[string]json.RawMessage) {
			// Its id 0 is also our used rune's, so lightningd shows that
			// rune's last_used (json_showrunes looks it up by id).
			wantKeys(t, runes[0], "rune", "stored", "our_rune", "last_used", "unique_id", "restrictions", "restrictions_as_english")
			wantField(t, runes[0], "our_rune", `false`)
		}},
		{"alternative details", `{"rune":"` + readonly + `"}`, func(t *testing.T, runes []map[string]json.RawMessage) {
			want := `[{"alternatives":[{"fieldname":"method","value":"list","condition":"^","english":"method starts with list"},` +
				`{"fieldname":"method","value":"get","condition":"^","english":"method starts with get"},` +
				`{"fieldname":"method","value":"summary","condition":"=","english":"method equal to summary"}],` +
				`"english":"method starts with list OR method starts with get OR method equal to summary"},` +
				`{"alternatives":[{"fieldname":"method","value":"listdatastore","condition":"/","english":"method unequal to listdatastore"}],` +
				`"english":"method unequal to listdatastore"}]`
			wantField(t, runes[0], "restrictions", want)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out struct {
				Runes []map[string]json.RawMessage `json:"runes"`
			}
			if err := json.Unmarshal(tc.result("showrunes", tt.params), &out); err != nil {
				t.Fatal(err)
			}
			if len(out.Runes) == 0 {
				t.Fatal("got no runes")
			}
			tt.check(t, out.Runes)
		})
	}
}

func wantKeys(t *testing.T, m map[string]json.RawMessage, keys ...string) {
	t.Helper()
	if len(m) != len(keys) {
		t.Errorf("got keys %v; want %v", mapKeys(m), keys)
	}
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			t.Errorf("got keys %v; want %v", mapKeys(m), keys)
			return
		}
	}
}

func mapKeys(m map[string]json.RawMessage) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func wantField(t *testing.T, m map[string]json.RawMessage, key, want string) {
	t.Helper()
	if got := string(m[key]); got != want {
		t.Errorf("%s: got %s; want %s", key, got, want)
	}
}

// TestBlacklistrune replays the sequence of test_blacklistrune.
func TestBlacklistrune(t *testing.T) {
	_, tc := nodeWithSecret(t, RPCConfig{})
	steps := []struct{ params, want string }{
		{`{"start":1}`, `[{"start":1,"end":1}]`},
		{`{"start":2}`, `[{"start":1,"end":2}]`},
		{`{"start":6}`, `[{"start":1,"end":2},{"start":6,"end":6}]`},
		{`{"start":3,"end":5}`, `[{"start":1,"end":6}]`},
		{`{"start":9}`, `[{"start":1,"end":6},{"start":9,"end":9}]`},
		{`{"start":0}`, `[{"start":0,"end":6},{"start":9,"end":9}]`},
		{`{}`, `[{"start":0,"end":6},{"start":9,"end":9}]`},
		{`{"start":10,"relist":true}`, `[{"start":0,"end":6},{"start":9,"end":9}]`},
		{`{"start":9,"end":9,"relist":true}`, `[{"start":0,"end":6}]`},
		{`{"start":1,"end":2,"relist":true}`, `[{"start":0,"end":0},{"start":3,"end":6}]`},
		{`{"start":4,"relist":true}`, `[{"start":0,"end":0},{"start":3,"end":3},{"start":5,"end":6}]`},
		{`{"start":0,"end":3,"relist":true}`, `[{"start":5,"end":6}]`},
		{`{"start":0,"end":99999999,"relist":true}`, `[]`},
		{`{"start":100000000,"relist":true}`, `error -32602 Cannot blacklist beyond 100000000`},
		{`{"end":5}`, `error -32602 Can not specify end without start`},
		{`{"start":"x"}`, `error -32602 start: should be an unsigned 64 bit integer: invalid token (see logs for details)`},
	}
	for _, st := range steps {
		t.Run(st.params, func(t *testing.T) {
			a := tc.call("blacklistrune", st.params)
			got := "error " + errorOf(a)
			if a.Error == nil {
				var out struct{ Blacklist json.RawMessage }
				json.Unmarshal(a.Result, &out)
				got = string(out.Blacklist)
			}
			if got != st.want {
				t.Errorf("got %s; want %s", got, st.want)
			}
		})
	}
}

func TestInvoice(t *testing.T) {
	var mu sync.Mutex
	var notes []string
	_, tc := nodeWithSecret(t, RPCConfig{Notify: func(topic string, p json.RawMessage) {
		mu.Lock()
		notes = append(notes, topic+" "+string(p))
		mu.Unlock()
	}})
	preimage := strings.Repeat("ab", 32)
	tests := []struct {
		name, params string
		wantAmount   string // amount_msat in listinvoices, "" when absent
		wantPrefix   string
		wantErr      string
	}{
		{"integer", `{"amount_msat":1000,"label":"a","description":"d"}`, "1000", "lnbcrt10n1", ""},
		{"msat string", `{"amount_msat":"1500msat","label":"b","description":"d"}`, "1500", "lnbcrt15n1", ""},
		{"sat string", `{"amount_msat":"2sat","label":"c","description":"d"}`, "2000", "lnbcrt20n1", ""},
		{"btc string", `{"amount_msat":"0.001btc","label":"d","description":"d"}`, "100000000", "lnbcrt1m1", ""},
		{"odd msat", `{"amount_msat":1,"label":"e","description":"d"}`, "1", "lnbcrt10p1", ""},
		{"any, positional", `["any","f","desc",3600,null,"` + preimage + `"]`, "", "lnbcrt1", ""},
		{"numeric label", `{"amount_msat":"any","label":42,"description":"d"}`, "", "lnbcrt1", ""},
		{"zero", `{"amount_msat":0,"label":"z","description":"d"}`, "", "", "-32602 amount_msat: should be positive msat or 'any': invalid token (see logs for details)"},
		{"duplicate label", `{"amount_msat":"any","label":"a","description":"d"}`, "", "", "900 Duplicate label 'a'"},
		{"reused preimage", `{"amount_msat":"any","label":"g","description":"d","preimage":"` + preimage + `"}`, "", "", "901 preimage already used"},
		{"missing description", `{"amount_msat":"any","label":"h"}`, "", "", "-32602 missing required parameter: description"},
		{"long label", `{"amount_msat":"any","label":"` + strings.Repeat("l", 129) + `","description":"d"}`, "", "",
			"-32602 Label '" + strings.Repeat("l", 129) + "' over 128 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tc.call("invoice", tt.params)
			if tt.wantErr != "" {
				if got := errorOf(a); got != tt.wantErr {
					t.Errorf("got %q; want %q", got, tt.wantErr)
				}
				return
			}
			var inv map[string]json.RawMessage
			if err := json.Unmarshal(a.Result, &inv); err != nil || a.Error != nil {
				t.Fatalf("got %s %+v", a.Result, a.Error)
			}
			keys := []string{"payment_hash", "expires_at", "bolt11", "payment_secret", "created_index"}
			if tt.wantAmount != "" {
				keys = append(keys, "warning_capacity")
			}
			wantKeys(t, inv, keys...)
			var bolt11, hash string
			json.Unmarshal(inv["bolt11"], &bolt11)
			json.Unmarshal(inv["payment_hash"], &hash)
			if !strings.HasPrefix(bolt11, tt.wantPrefix) {
				t.Errorf("bolt11: got %s; want prefix %s", bolt11, tt.wantPrefix)
			}
			if got, ok := bolt11PaymentHash(bolt11); !ok || got != hash {
				t.Errorf("bolt11 payment hash: got %q, %v; want %s", got, ok, hash)
			}
			listed := tc.result("listinvoices", `{"invstring":"LIGHTNING:`+strings.ToUpper(bolt11)+`"}`)
			if tt.wantAmount != "" && !strings.Contains(string(listed), `"amount_msat":`+tt.wantAmount+`,"status":"unpaid"`) {
				t.Errorf("listinvoices: got %s; want amount_msat %s", listed, tt.wantAmount)
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	wantNote := `invoice_creation {"invoice_creation":{"msat":1000,"preimage":"`
	if len(notes) != 7 || !strings.HasPrefix(notes[0], wantNote) || !strings.HasSuffix(notes[0], `","label":"a"}}`) {
		t.Errorf("notifications: got %q; want 7, first like %s...\",\"label\":\"a\"}}", notes, wantNote)
	}
	if want := `invoice_creation {"invoice_creation":{"preimage":"` + preimage + `","label":"f"}}`; len(notes) > 5 && notes[5] != want {
		t.Errorf("notification for any: got %s; want %s", notes[5], want)
	}
}

func TestListinvoices(t *testing.T) {
	_, tc := nodeWithSecret(t, RPCConfig{})
	preimage := strings.Repeat("01", 32)
	tc.result("invoice", `{"amount_msat":5000,"label":"one","description":"first <&>","preimage":"`+preimage+`"}`)
	tc.result("invoice", `{"amount_msat":"any","label":"two","description":"second"}`)
	b, _ := hex.DecodeString(preimage)
	sum := sha256.Sum256(b)
	hash := hex.EncodeToString(sum[:])
	tests := []struct {
		name, params string
		wantLabels   string
		wantErr      string
	}{
		{"all", `{}`, "one,two", ""},
		{"by label", `{"label":"two"}`, "two", ""},
		{"by hash", `{"payment_hash":"` + hash + `"}`, "one", ""},
		{"no match", `{"label":"three"}`, "", ""},
		{"index and limit", `{"index":"created","start":2,"limit":1}`, "two", ""},
		{"two filters", `{"label":"one","payment_hash":"` + hash + `"}`, "", "-32602 Can only specify one of {label}, {invstring}, {payment_hash} or {offer_id}"},
		{"start without index", `{"start":1}`, "", "-32602 Can only specify {start} with {index}"},
		{"bad invstring", `{"invstring":"lnbcrt1xyz"}`, "", "-32602 Invalid invstring"},
		{"bad hash", `{"payment_hash":"zz"}`, "", "-32602 payment_hash: should be a 32 byte hex value: invalid token (see logs for details)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tc.call("listinvoices", tt.params)
			if tt.wantErr != "" || a.Error != nil {
				if got := errorOf(a); got != tt.wantErr {
					t.Errorf("got %q; want %q", got, tt.wantErr)
				}
				return
			}
			var out struct {
				Invoices []map[string]json.RawMessage `json:"invoices"`
			}
			if err := json.Unmarshal(a.Result, &out); err != nil {
				t.Fatal(err)
			}
			var labels []string
			for _, inv := range out.Invoices {
				var l string
				json.Unmarshal(inv["label"], &l)
				labels = append(labels, l)
			}
			if got := strings.Join(labels, ","); got != tt.wantLabels {
				t.Errorf("got labels %q; want %q", got, tt.wantLabels)
			}
		})
	}
	first := tc.result("listinvoices", `{"label":"one"}`)
	if !strings.HasPrefix(string(first), `{"invoices":[{"label":"one","bolt11":"lnbcrt50n1`) ||
		!strings.Contains(string(first), `"payment_hash":"`+hash+`","amount_msat":5000,"status":"unpaid","description":"first <&>","expires_at":`) {
		t.Errorf("got %s; want lightningd's field order", first)
	}
}

func TestDatastore(t *testing.T) {
	_, tc := nodeWithSecret(t, RPCConfig{})
	steps := []struct{ name, method, params, want string }{
		{"create string", "datastore", `{"key":["a","b"],"string":"hello"}`, `{"key":["a","b"],"generation":0,"hex":"68656c6c6f","string":"hello"}`},
		{"create again", "datastore", `{"key":["a","b"],"string":"x"}`, "1202 Key already exists"},
		{"replace", "datastore", `{"key":["a","b"],"string":"x","mode":"must-replace"}`, `{"key":["a","b"],"generation":1,"hex":"78","string":"x"}`},
		{"append with generation", "datastore", `{"key":["a","b"],"string":"y","mode":"must-append","generation":1}`, `{"key":["a","b"],"generation":2,"hex":"7879","string":"xy"}`},
		{"wrong generation", "datastore", `{"key":["a","b"],"string":"y","mode":"must-replace","generation":7}`, "1204 generation is different"},
		{"replace missing", "datastore", `{"key":"nope","string":"y","mode":"must-replace"}`, "1203 Key does not exist"},
		{"has children", "datastore", `{"key":"a","string":"y"}`, "1205 Key has children already"},
		{"parent exists", "datastore", `{"key":["a","b","c"],"string":"y"}`, "1206 Parent key [a,b] exists"},
		{"bad hex reads as absent", "datastore", `["a2",null,"zz"]`, "-32602 Must have either hex or string"},
		{"hex", "datastore", `{"key":"a2","hex":"ff00"}`, `{"key":["a2"],"generation":0,"hex":"ff00"}`},
		{"both", "datastore", `{"key":"a3","hex":"00","string":"s"}`, "-32602 Cannot have both hex and string"},
		{"generation with create", "datastore", `{"key":"a3","string":"s","generation":0}`, "-32602 generation only valid with must-replace or must-append"},
		{"bad mode", "datastore", `{"key":"a3","string":"s","mode":"sometimes"}`,
			"-32602 mode: should be 'must-create', 'must-replace', 'create-or-replace', 'must-append', or 'create-or-append': invalid token (see logs for details)"},
		{"empty key", "datastore", `{"key":[],"string":"s"}`, "-32602 key: should not be empty: invalid token (see logs for details)"},
		{"deep", "datastore", `{"key":["a","c","d"],"string":"deep"}`, `{"key":["a","c","d"],"generation":0,"hex":"64656570","string":"deep"}`},
		{"list all", "listdatastore", `{}`, `{"datastore":[{"key":["a"]},{"key":["a2"],"generation":0,"hex":"ff00"}]}`},
		{"list prefix", "listdatastore", `{"key":"a"}`, `{"datastore":[{"key":["a","b"],"generation":2,"hex":"7879","string":"xy"},{"key":["a","c"]}]}`},
		{"list exact", "listdatastore", `{"key":["a","b"]}`, `{"datastore":[{"key":["a","b"],"generation":2,"hex":"7879","string":"xy"}]}`},
		{"list missing", "listdatastore", `["zz"]`, `{"datastore":[]}`},
		{"delete", "deldatastore", `{"key":["a","b"]}`, `{"key":["a","b"],"generation":2,"hex":"7879","string":"xy"}`},
		{"delete again", "deldatastore", `{"key":["a","b"]}`, "1200 Key does not exist"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			a := tc.call(st.method, st.params)
			got := errorOf(a)
			if a.Error == nil {
				got = string(a.Result)
			}
			if got != st.want {
				t.Errorf("got %s; want %s", got, st.want)
			}
		})
	}
}

func TestHelpAndGetinfo(t *testing.T) {
	s, tc := nodeWithSecret(t, RPCConfig{Version: "v24.11"})
	tests := []struct {
		name, method, params, want string
	}{
		{"help invoice", "help", `{"command":"invoice"}`,
			`{"help":[{"command":"invoice amount_msat label description [expiry] [fallbacks] [preimage] [exposeprivatechannels] [cltv] [deschashonly] [dev-routes]"}],"format-hint":"simple"}`},
		{"help checkrune positional", "help", `["checkrune"]`,
			`{"help":[{"command":"checkrune rune [nodeid] [method] [params]"}],"format-hint":"simple"}`},
		{"help getinfo", "help", `{"command":"getinfo"}`, `{"help":[{"command":"getinfo "}],"format-hint":"simple"}`},
		{"help unknown", "help", `{"command":"nosuch"}`, "-32601 Unknown command nosuch"},
		{"getinfo extra param", "getinfo", `[1]`, "-32602 too many parameters: got 1, expected 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tc.call(tt.method, tt.params)
			got := errorOf(a)
			if a.Error == nil {
				got = string(a.Result)
			}
			if got != tt.want {
				t.Errorf("got %s; want %s", got, tt.want)
			}
		})
	}
	t.Run("help lists all sorted", func(t *testing.T) {
		var out struct {
			Help []struct{ Command string } `json:"help"`
		}
		json.Unmarshal(tc.result("help", `{}`), &out)
		var names []string
		for _, h := range out.Help {
			names = append(names, strings.SplitN(h.Command, " ", 2)[0])
		}
		want := "blacklistrune,checkrune,createrune,datastore,deldatastore,getinfo,help,invoice,listdatastore,listinvoices,showrunes,stop"
		if got := strings.Join(names, ","); got != want {
			t.Errorf("got %s; want %s", got, want)
		}
	})
	t.Run("getinfo shape", func(t *testing.T) {
		var info map[string]json.RawMessage
		json.Unmarshal(tc.result("getinfo", `{}`), &info)
		wantKeys(t, info, "id", "alias", "color", "num_peers", "num_pending_channels", "num_active_channels",
			"num_inactive_channels", "address", "binding", "version", "blockheight", "network", "fees_collected_msat",
			"lightning-dir", "our_features")
		wantField(t, info, "id", `"`+s.NodeID()+`"`)
		wantField(t, info, "version", `"v24.11"`)
		wantField(t, info, "network", `"regtest"`)
		wantField(t, info, "fees_collected_msat", `0`)
	})
}

func TestParseAmountMsat(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"1", 1, true}, {"1msat", 1, true}, {"1sat", 1000, true}, {"1btc", 100000000000, true},
		{"0.00000000001btc", 1, true}, {"1.5btc", 150000000000, true}, {"18446744073709551615", 18446744073709551615, true},
		{"18446744073709551616", 0, false}, {"1.5", 0, false}, {"1.5sat", 0, false}, {"msat", 0, false}, {"1usd", 0, false},
		{"0.000000000001btc", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := parseAmountMsat(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Errorf("got %d, %v; want %d, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

// TestCheckrunePinv follows test_rune_pinv: pinv fields read this
// node's own invoices.
func TestCheckrunePinv(t *testing.T) {
	s, tc := nodeWithSecret(t, RPCConfig{})
	var inv struct{ Bolt11 string }
	json.Unmarshal(tc.result("invoice", `{"amount_msat":1000,"label":"l","description":"inv"}`), &inv)
	var anyInv struct{ Bolt11 string }
	json.Unmarshal(tc.result("invoice", `{"amount_msat":"any","label":"m","description":"other"}`), &anyInv)
	amount1 := tc.runeOf(`{"restrictions":[["pinvbolt11_amount=1"]]}`)
	noAmount := tc.runeOf(`{"restrictions":[["pinvbolt11_amount!"]]}`)
	desc := tc.runeOf(`{"restrictions":[["pinvbolt11_description=inv"]]}`)
	node := tc.runeOf(`{"restrictions":[["pinvbolt11_node=` + s.NodeID() + `"]]}`)
	badField := tc.runeOf(`{"restrictions":[["pinvbolt11_colour=red"]]}`)
	np := func(m string) string { return "1502 Not permitted: " + m }
	tests := []struct{ name, rune, params, want string }{
		{"amount unequal", amount1, `{"bolt11":"` + inv.Bolt11 + `"}`, np("invoice parameter bolt11_amount is not equal to 1")},
		{"amount absent", amount1, `{"bolt11":"` + anyInv.Bolt11 + `"}`, np("invoice parameter bolt11_amount not present")},
		{"amount must be absent", noAmount, `{"bolt11":"` + inv.Bolt11 + `"}`, np("invoice parameter bolt11_amount is present")},
		{"amount absent ok", noAmount, `{"bolt11":"lightning:` + anyInv.Bolt11 + `"}`, "ok"},
		{"description", desc, `{"bolt11":"` + inv.Bolt11 + `"}`, "ok"},
		{"description unequal", desc, `{"bolt11":"` + anyInv.Bolt11 + `"}`, np("invoice parameter bolt11_description is not equal to inv")},
		{"node", node, `{"bolt11":"` + inv.Bolt11 + `"}`, "ok"},
		{"positional", amount1, `["` + inv.Bolt11 + `"]`, np("Unknown invoice parameter bolt11")},
		{"garbage", amount1, `{"bolt11":"xxx"}`, np("Invalid invoice: Bad bech32 string")},
		{"unknown field", badField, `{"bolt11":"` + inv.Bolt11 + `"}`, np("Unknown invoice field bolt11_colour")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := errorOf(tc.call("checkrune", `{"rune":"`+tt.rune+`","method":"pay","params":`+tt.params+`}`))
			if got != tt.want {
				t.Errorf("got %q; want %q", got, tt.want)
			}
		})
	}
}
