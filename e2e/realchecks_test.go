package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/clnrest/clnrest/lnrpc"
)

// TestCheckruneAnswersMatchLightningd replays against the simulator the
// checkrune calls whose answers were recorded from a real lightningd
// v26.06.6 (regtest), and expects the same answers word for word.
func TestCheckruneAnswersMatchLightningd(t *testing.T) {
	s := simRPC(t)
	c := lnrpc.New(s.SocketPath(), lnrpc.Config{})
	defer c.Close()
	ctx := context.Background()
	mk := func(restr ...string) string {
		t.Helper()
		var rs [][]string
		for _, r := range restr {
			rs = append(rs, []string{r})
		}
		raw, _ := json.Marshal(map[string]any{"restrictions": rs})
		switch {
		case len(restr) == 0:
			raw = json.RawMessage(`{}`)
		case restr[0] == "readonly":
			raw = json.RawMessage(`{"restrictions":"readonly"}`)
		}
		res, err := c.Call(ctx, "createrune", raw)
		if err != nil {
			t.Fatalf("createrune %v: %v", restr, err)
		}
		var out struct{ Rune string }
		json.Unmarshal(res, &out)
		return out.Rune
	}
	const other = "02d2a75e85ac1dfd705f95ea27f91aa3af1582c5e305e418ae099f84f9d87a1c0d"
	idRune := mk("id=" + s.NodeID())
	blacklisted := mk()
	rate := mk("rate=1")
	tests := []struct{ name, params, want string }{
		{"unrestricted", `{"rune":"` + mk() + `","method":"getinfo"}`, `valid`},
		{"not derived from master", `{"rune":"` + foreignRune(t) + `","method":"getinfo"}`, `1501 Not authorized: Not derived from master`},
		{"garbage", `{"rune":"x","method":"getinfo"}`, `-32602 rune: should be base64 string: invalid token (see logs for details)`},
		{"method=getinfo for getinfo", `{"rune":"` + mk("method=getinfo") + `","method":"getinfo"}`, `valid`},
		{"method=getinfo for invoice", `{"rune":"` + mk("method=getinfo") + `","method":"invoice"}`, `1502 Not permitted: method is not equal to getinfo`},
		{"method=notpay for getinfo", `{"rune":"` + mk("method=notpay") + `","method":"getinfo"}`, `1502 Not permitted: method is not equal to notpay`},
		{"method/getinfo for getinfo", `{"rune":"` + mk("method/getinfo") + `","method":"getinfo"}`, `1502 Not permitted: method is equal to getinfo`},
		{"method/getinfo for listinvoices", `{"rune":"` + mk("method/getinfo") + `","method":"listinvoices"}`, `valid`},
		{"id without nodeid", `{"rune":"` + idRune + `","method":"getinfo"}`, `1502 Not permitted: id not present`},
		{"id with another nodeid", `{"rune":"` + mk("id="+other) + `","nodeid":"` + s.NodeID() + `","method":"getinfo"}`, `1502 Not permitted: id is not equal to ` + other},
		{"id with its nodeid", `{"rune":"` + idRune + `","nodeid":"` + s.NodeID() + `","method":"getinfo"}`, `valid`},
		{"pname ok", `{"rune":"` + mk("pnamelabel^rest") + `","method":"invoice","params":{"label":"rest-1"}}`, `valid`},
		{"pname bad", `{"rune":"` + mk("pnamelabel^rest") + `","method":"invoice","params":{"label":"other"}}`, `1502 Not permitted: parameter label does not start with rest`},
		{"pname with array params", `{"rune":"` + mk("pnamelabel^rest") + `","method":"invoice","params":["x","rest-1"]}`, `1502 Not permitted: parameter label not present`},
		{"readonly for listclnrest-notifications", `{"rune":"` + mk("readonly") + `","method":"listclnrest-notifications"}`, `valid`},
		{"readonly for invoice", `{"rune":"` + mk("readonly") + `","method":"invoice"}`, `1502 Not permitted: method does not start with list AND method does not start with get AND method is not equal to summary`},
		{"readonly for listdatastore", `{"rune":"` + mk("readonly") + `","method":"listdatastore"}`, `1502 Not permitted: method is equal to listdatastore`},
		{"readonly without method", `{"rune":"` + mk("readonly") + `"}`, `1502 Not permitted: method not present AND method not present AND method not present`},
		{"rate first", `{"rune":"` + rate + `","method":"getinfo"}`, `valid`},
		{"rate second", `{"rune":"` + rate + `","method":"getinfo"}`, `1502 Not permitted: too soon`},
	}
	var shown struct {
		Runes []struct {
			UniqueID string `json:"unique_id"`
		} `json:"runes"`
	}
	res, _ := c.Call(ctx, "showrunes", json.RawMessage(`{"rune":"`+blacklisted+`"}`))
	json.Unmarshal(res, &shown)
	c.Call(ctx, "blacklistrune", json.RawMessage(`{"start":`+shown.Runes[0].UniqueID+`}`))
	tests = append(tests, struct{ name, params, want string }{"blacklisted", `{"rune":"` + blacklisted + `","method":"getinfo"}`, `1503 Not authorized: Blacklisted rune`})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := c.Call(ctx, "checkrune", json.RawMessage(tc.params))
			got := ""
			var rpcErr *lnrpc.Error
			switch {
			case errors.As(err, &rpcErr):
				got = fmt.Sprintf("%d %s", rpcErr.Code, rpcErr.Message)
			case err != nil:
				t.Fatal(err)
			case string(res) == `{"valid":true}`:
				got = "valid"
			default:
				got = string(res)
			}
			if got != tc.want {
				t.Errorf("got %q; want lightningd's %q", got, tc.want)
			}
		})
	}
}
