package codec

import (
	"errors"
	"fmt"
)

// SyntaxError reports a request body that cannot be turned into params: it is
// not well-formed in its format, is not an object, or exceeds a Limits bound
// (then Err wraps a *LimitError). Format is "JSON", "YAML", "XML" or "form",
// so that the message a client sees names what it sent.
type SyntaxError struct {
	Format string
	Err    error
}

// Error implements error.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("could not parse %s request body: %v", e.Format, e.Err)
}

// Unwrap returns the cause.
func (e *SyntaxError) Unwrap() error { return e.Err }

// LimitError reports input that is refused for its shape rather than its
// syntax: nesting deeper than Limits.MaxDepth, more values than
// Limits.MaxKeys, or more YAML alias references than Limits.MaxAliases.
type LimitError struct {
	Limit string // "depth", "keys" or "aliases"
	Max   int
}

// Error implements error.
func (e *LimitError) Error() string {
	return fmt.Sprintf("too many %s (at most %d allowed)", limitNoun(e.Limit), e.Max)
}

func limitNoun(limit string) string {
	switch limit {
	case "depth":
		return "levels of nesting"
	case "keys":
		return "keys and values"
	case "aliases":
		return "YAML aliases"
	}
	return limit
}

// notObject is the cause given when a body parses but is not an object
// (mapping, element with children) and so cannot be params.
func notObject(got string) error {
	return fmt.Errorf("the body must be an object of named params, not %s", got)
}

// syntaxErr wraps err as a *SyntaxError for format, unless it already is one.
func syntaxErr(format string, err error) error {
	if _, ok := errors.AsType[*SyntaxError](err); ok {
		return err
	}
	return &SyntaxError{Format: format, Err: err}
}
