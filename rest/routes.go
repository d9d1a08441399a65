package rest

import (
	"encoding/json"
	"net/http"
)

// Route is a resolved REST call: the lightningd command to run and how
// to authorize it.
type Route struct {
	// Method is the lightningd command.
	Method string
	// Captures are the {name} segments of a registered path; they become
	// string params.
	Captures map[string]string
	// RuneRequired is false only for GET paths registered without a rune.
	RuneRequired bool
	// CheckNodeID, CheckMethod and CheckParams replace nodeid, method and
	// params in the checkrune call when set (a registration's
	// rune_restrictions); empty means the request's own.
	CheckNodeID string
	CheckMethod string
	CheckParams json.RawMessage
}

// Router resolves paths that other plugins registered. path is the
// request path as sent, percent-encoded (r.URL.EscapedPath()). Match reports
// ok=false when path is not registered; ok=true with an error (for
// example a 405) when it is registered but cannot serve httpMethod.
type Router interface {
	Match(path, httpMethod string) (rt Route, ok bool, err error)
}

// Docs serves the API documentation on the paths it owns.
type Docs interface {
	http.Handler
	Owns(path string) bool
}
