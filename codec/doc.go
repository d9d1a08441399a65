// Package codec converts between JSON and the other wire formats that clnrest
// speaks: YAML, XML and application/x-www-form-urlencoded with bracket nesting.
//
// Request bodies are decoded into a JSON object (the method's params) by
// DecodeJSON, DecodeYAML, DecodeXML and DecodeForm; responses are encoded from a
// JSON value read from an io.Reader by EncodeYAML, EncodeXML and EncodeForm.
//
// Numbers never pass through float64: a number keeps the exact text it was
// written with in every direction, so a u64 msat amount such as
// 18446744073709551615 survives any format. Object members keep their order.
//
// Bad input is reported as *SyntaxError, which names the format and, for limit
// violations, wraps a *LimitError; errors from the reader itself (for example
// a body over the size limit) are returned wrapped but never as *SyntaxError,
// so the caller can tell a bad body (400) from a failed read.
//
// Differences from Core Lightning's clnrest, and why, are listed in
// README.md beside this file.
package codec
