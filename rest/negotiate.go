package rest

import (
	"mime"
	"strconv"
	"strings"
)

// format is one of the four wire formats clnrest speaks.
type format int

const (
	formatJSON format = iota
	formatYAML
	formatXML
	formatForm
)

// mediaTypes lists the media types of each format; the first is the one
// sent in Content-Type. text/yaml and text/xml are accepted as well
// because common clients send them for the same formats.
var mediaTypes = [...][]string{
	formatJSON: {"application/json"},
	formatYAML: {"application/yaml", "application/x-yaml", "text/yaml"},
	formatXML:  {"application/xml", "text/xml"},
	formatForm: {"application/x-www-form-urlencoded"},
}

func (f format) contentType() string { return mediaTypes[f][0] }

func (f format) String() string {
	return [...]string{"JSON", "YAML", "XML", "form-urlencoded"}[f]
}

// formatOf maps one media type (already lower-cased, parameters removed)
// to a format; */* and application/* mean JSON.
func formatOf(mt string) (format, bool) {
	switch mt {
	case "*/*", "application/*":
		return formatJSON, true
	}
	for f, types := range mediaTypes {
		for _, t := range types {
			if mt == t {
				return format(f), true
			}
		}
	}
	return 0, false
}

// requestFormat picks the format of a request body from Content-Type:
// absent means JSON. A value that is not a well-formed media type is
// matched the way upstream clnrest does, by substring, so that clients
// that worked there keep working.
func requestFormat(contentType string) (format, bool) {
	if strings.TrimSpace(contentType) == "" {
		return formatJSON, true
	}
	if mt, _, err := mime.ParseMediaType(contentType); err == nil {
		return formatOf(mt)
	}
	return containedFormat(contentType)
}

func containedFormat(v string) (format, bool) {
	switch v = strings.ToLower(v); {
	case strings.Contains(v, "*/*"), strings.Contains(v, "application/json"):
		return formatJSON, true
	case strings.Contains(v, "application/yaml"):
		return formatYAML, true
	case strings.Contains(v, "application/xml"):
		return formatXML, true
	case strings.Contains(v, "application/x-www-form-urlencoded"):
		return formatForm, true
	}
	return 0, false
}

// responseFormat picks the response format from Accept: the supported
// media range with the highest q-value, the earliest one on a tie.
// Absent means JSON; q=0 excludes a range. A value with no well-formed
// media range at all is matched by substring, as upstream does.
func responseFormat(accept string) (format, bool) {
	if strings.TrimSpace(accept) == "" {
		return formatJSON, true
	}
	best, bestQ, found, parsed := formatJSON, -1.0, false, false
	for _, item := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(item))
		if err != nil {
			continue
		}
		parsed = true
		f, ok := formatOf(mt)
		if !ok {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if q, err = strconv.ParseFloat(v, 64); err != nil || q < 0 || q > 1 {
				continue
			}
		}
		if q > 0 && q > bestQ {
			best, bestQ, found = f, q, true
		}
	}
	if !parsed {
		return containedFormat(accept)
	}
	return best, found
}
