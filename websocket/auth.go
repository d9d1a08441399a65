package websocket

import (
	"context"
	"errors"
	"time"

	"github.com/clnrest/clnrest/lnrpc"
	"github.com/clnrest/clnrest/runeauth"
)

const (
	// notificationsMethod is what a rune must allow to receive
	// notifications, as in upstream clnrest: a readonly rune passes.
	notificationsMethod = "listclnrest-notifications"
	// checkTimeout bounds one checkrune call.
	checkTimeout = 30 * time.Second
	// codeInternal is the JSON-RPC code for lightningd being unreachable,
	// as the REST side uses it.
	codeInternal = -32603
)

// admission is what the hub keeps about an admitted socket.
type admission struct {
	rune   string
	runeID string // for logs, which never show the rune itself
}

// admit runs checkrune for a connecting socket on its own goroutine, so
// that a slow lightningd never holds up the transport that carried the
// CONNECT packet.
func (h *Hub) admit(hs handshake, decide func(any, *refusal)) {
	rune, r := runeOf(hs)
	if r != nil {
		h.log.Info("Socket.IO connection refused", "reason", r.Message, "code", r.Code)
		decide(nil, r)
		return
	}
	id := runeID(rune)
	started := h.spawn(func() {
		if r := h.check(rune); r != nil {
			h.log.Info("Socket.IO connection refused", "reason", r.Message, "code", r.Code, "rune_id", id)
			decide(nil, r)
			return
		}
		decide(&admission{rune: rune, runeID: id}, nil)
	})
	if !started {
		decide(nil, &refusal{Code: codeInternal, Message: "Socket.IO server is shutting down"})
	}
}

// runeOf finds a connecting socket's rune: the Rune header of the
// request that opened the session, in any letter case, as upstream reads
// it; otherwise the CONNECT auth payload {"rune": "..."}, which is all a
// browser can send over a websocket.
func runeOf(hs handshake) (string, *refusal) {
	if len(hs.Header.Values("Rune")) > 1 || hs.Header.Get("Rune") != "" {
		rune, err := runeauth.FromHeader(hs.Header)
		if err != nil {
			return "", &refusal{Code: err.Code, Message: err.Message, Data: err.Data}
		}
		return rune, nil
	}
	if rune, ok := hs.Auth["rune"].(string); ok && rune != "" {
		return rune, nil
	}
	m := runeauth.MissingRune()
	return "", &refusal{Code: m.Code, Message: m.Message}
}

// check asks lightningd whether rune may receive notifications. It
// returns nil when it may, else the refusal to send the client.
func (h *Hub) check(rune string) *refusal {
	ctx, cancel := context.WithTimeout(h.ctx, checkTimeout)
	defer cancel()
	err := h.auth.Check(ctx, runeauth.Request{Rune: rune, Method: notificationsMethod})
	if err == nil {
		return nil
	}
	var denied *runeauth.Error
	if errors.As(err, &denied) {
		return &refusal{Code: denied.Code, Message: denied.Message, Data: denied.Data}
	}
	h.log.Warn("Socket.IO: cannot check a rune", "rune_id", runeID(rune), "error", err)
	return &refusal{Code: codeInternal, Message: lnrpc.UnavailableMessage, unreachable: true}
}

// recheckAll asks lightningd again about every connected client's rune
// and disconnects those it now refuses. When lightningd cannot be
// reached the clients are kept: dropping everyone because of a restart
// of lightningd's RPC would be worse than a late revocation.
func (h *Hub) recheckAll(ctx context.Context) {
	h.mu.RLock()
	clients := make([]*client, 0, len(h.clients))
	for _, c := range h.clients {
		clients = append(clients, c)
	}
	h.mu.RUnlock()
	for _, c := range clients {
		if ctx.Err() != nil || h.ctx.Err() != nil {
			return
		}
		r := h.check(c.rune)
		switch {
		case r == nil:
		case r.unreachable:
			h.log.Warn("Socket.IO: lightningd unreachable, keeping connected clients until the next recheck", "clients", len(clients))
			return
		default:
			c.end("rune refused at recheck: "+r.Message, false)
		}
	}
}

// runeID names a rune in logs by its unique id, bounded (runeauth.LogID).
func runeID(rune string) string { return runeauth.LogID(rune) }
