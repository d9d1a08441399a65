package config

import (
	"encoding/json"
	"regexp"
	"strings"
)

// Origins is the clnrest-cors-origins policy: which browser origins may
// call the REST server and the Socket.IO endpoint.
//
// An entry "*" allows every origin. An entry made only of characters that
// appear in origins is an exact origin, compared byte for byte: its dots
// are dots, so "https://pay.example.com" does not also admit
// "https://payXexample.com". Any other entry is a regular expression that
// must match the whole origin, as upstream's documentation shows
// (`https?://127.0.0.1:([0-9]{1,4}|…)`).
type Origins struct {
	any      bool
	exact    map[string]bool
	patterns []*regexp.Regexp
}

// AllowAll reports whether every origin is allowed.
func (o *Origins) AllowAll() bool { return o.any }

// Allows reports whether origin may call the server.
func (o *Origins) Allows(origin string) bool {
	if o.any {
		return true
	}
	if o.exact[origin] {
		return true
	}
	for _, re := range o.patterns {
		if re.MatchString(origin) {
			return true
		}
	}
	return false
}

// originChars are the characters of a scheme://host:port origin.
const originChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:/@%!&'=,;"

// NewOrigins builds a policy from the option's entries.
func NewOrigins(entries []string) (*Origins, error) {
	if len(entries) == 0 {
		return nil, errorf("`clnrest-cors-origins` must not be empty!")
	}
	o := &Origins{exact: map[string]bool{}}
	for _, e := range entries {
		switch {
		case e == "*":
			o.any = true
		case strings.Trim(e, originChars) == "":
			o.exact[e] = true
		default:
			re, err := regexp.Compile(`^(?:` + e + `)$`)
			if err != nil {
				return nil, errorf("`clnrest-cors-origins` %q is neither an origin nor a valid regular expression: %v", e, err)
			}
			o.patterns = append(o.patterns, re)
		}
	}
	return o, nil
}

func parseOrigins(raw json.RawMessage) (*Origins, error) {
	if raw == nil {
		return NewOrigins([]string{"*"})
	}
	var entries []string
	if err := json.Unmarshal(raw, &entries); err != nil {
		var one string
		if json.Unmarshal(raw, &one) != nil {
			return nil, errorf("`clnrest-cors-origins` %s, should be a list of origins: %v", raw, err)
		}
		entries = []string{one}
	}
	return NewOrigins(entries)
}
