// Package config declares clnrest's lightningd options as one table and
// parses init's option values into one validated Config. A bad value is
// reported with the exact reason upstream clnrest gives, so that the
// plugin can disable itself with it.
package config

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/clnrest/clnrest/plugin"
)

// Option names, as users write them in lightningd's config.
const (
	Port        = "clnrest-port"
	Protocol    = "clnrest-protocol"
	Host        = "clnrest-host"
	Certs       = "clnrest-certs"
	CORSOrigins = "clnrest-cors-origins"
	CSP         = "clnrest-csp"
	SwaggerRoot = "clnrest-swagger-root"
	MaxBody     = "clnrest-max-body"
	WSRecheck   = "clnrest-ws-recheck"
	MaxRequests = "clnrest-max-requests"
)

// DefaultCSP is upstream clnrest's Content-Security-Policy.
const DefaultCSP = "default-src 'self'; font-src 'self'; img-src 'self' data:; frame-src 'self'; " +
	"style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline';"

// DefaultMaxBody is the largest request body accepted by default: 8 MiB.
const DefaultMaxBody = 8 << 20

// DefaultMaxRequests is how many requests are served at once by default
// (Socket.IO aside): enough for a burst of 2,000 concurrent clients with
// room to spare, few enough that a flood cannot exhaust memory.
const DefaultMaxRequests = 4096

// Options returns the options clnrest declares in its manifest: upstream
// clnrest's seven, with the same names, types and defaults, then ours.
func Options() []plugin.Option {
	str := func(s string) json.RawMessage { b, _ := json.Marshal(s); return b }
	return []plugin.Option{
		{Name: Port, Type: "int", Description: "REST server port to listen"},
		{Name: Certs, Type: "string", Description: "Path for certificates (for https); default: the network directory"},
		{Name: Protocol, Type: "string", Default: str("https"), Description: "REST server protocol: http or https"},
		{Name: Host, Type: "string", Default: str("127.0.0.1"), Description: "REST server host: an IP address or localhost"},
		{Name: CORSOrigins, Type: "string", Default: str("*"), Multi: true,
			Description: "Cross origin resource sharing origins: * for any, an exact origin, or an anchored regular expression"},
		{Name: CSP, Type: "string", Default: str(DefaultCSP), Description: "Content security policy (CSP) for the server"},
		{Name: SwaggerRoot, Type: "string", Default: str("/"), Description: "Root path for Swagger UI"},
		{Name: MaxBody, Type: "int", Default: json.RawMessage(strconv.Itoa(DefaultMaxBody)),
			Description: "Largest request body in bytes; larger ones get 413"},
		{Name: WSRecheck, Type: "int", Default: json.RawMessage("60"),
			Description: "Seconds between re-checks of connected Socket.IO clients' runes (0 = never)"},
		{Name: MaxRequests, Type: "int", Default: json.RawMessage(strconv.Itoa(DefaultMaxRequests)),
			Description: "Most requests served at once (Socket.IO not counted); more get 503 with Retry-After"},
	}
}

// Config is clnrest's validated configuration.
type Config struct {
	// Port is the TCP port of the REST server.
	Port int
	// TLS is true for https, false for http.
	TLS bool
	// Host is clnrest-host as configured, used in the start-up log line.
	Host string
	// Addr is the address to listen on, "host:port" ready for net.Listen.
	Addr string
	// CertsDir holds the six PEM files for https.
	CertsDir string
	// Origins decides which browser origins may call the server.
	Origins *Origins
	// CSP is the Content-Security-Policy header sent with every response.
	CSP string
	// SwaggerRoot is where the Swagger UI is served; "/" means /swagger-ui
	// with a redirect from /.
	SwaggerRoot string
	// MaxBody is the largest request body accepted, in bytes.
	MaxBody int64
	// WSRecheck is the interval of Socket.IO rune re-checks; 0 disables them.
	WSRecheck time.Duration
	// MaxRequests is how many requests are served at once, Socket.IO
	// aside; more get 503.
	MaxRequests int
}

// URL is the server's base URL as upstream logs it: the host as configured.
func (c Config) URL() string {
	scheme := "http"
	if c.TLS {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(strings.Trim(c.Host, "[]"), strconv.Itoa(c.Port))
}

// Error is a configuration problem; its message is the reason given to
// lightningd when the plugin disables itself.
type Error struct{ Reason string }

func (e *Error) Error() string { return e.Reason }

func errorf(format string, args ...any) error { return &Error{Reason: fmt.Sprintf(format, args...)} }

// Parse validates init's options, in upstream clnrest's order so that the
// first problem reported is the one upstream reports. workDir is the
// plugin's working directory (<lightning-dir>/<network>), the default
// certificates directory.
func Parse(opts map[string]json.RawMessage, workDir string) (Config, error) {
	var c Config
	port, ok, err := intOption(opts, Port)
	if err != nil {
		return c, err
	}
	if !ok {
		return c, errorf("`clnrest-port` option is not configured")
	}
	if port < 1024 || port > 65535 {
		return c, errorf("`clnrest-port` %d, should be a valid available port between 1024 and 65535.", port)
	}
	c.Port = int(port)

	switch proto := stringOption(opts, Protocol, "https"); {
	case strings.EqualFold(proto, "https"):
		c.TLS = true
	case strings.EqualFold(proto, "http"):
	default:
		return c, errorf("`clnrest-protocol` can either be http or https.")
	}

	c.Host = stringOption(opts, Host, "127.0.0.1")
	if c.Addr, err = listenAddr(c.Host, c.Port); err != nil {
		return c, err
	}

	if c.Origins, err = parseOrigins(opts[CORSOrigins]); err != nil {
		return c, err
	}
	c.CertsDir = stringOption(opts, Certs, workDir)
	c.CSP = stringOption(opts, CSP, DefaultCSP)
	if c.SwaggerRoot = stringOption(opts, SwaggerRoot, "/"); !strings.HasPrefix(c.SwaggerRoot, "/") {
		return c, errorf("`clnrest-swagger-root` must start with `/`")
	}
	return c, c.parseOurs(opts)
}

// parseOurs validates the options upstream clnrest does not have.
func (c *Config) parseOurs(opts map[string]json.RawMessage) error {
	maxBody, ok, err := intOption(opts, MaxBody)
	if err != nil {
		return err
	}
	c.MaxBody = DefaultMaxBody
	if ok {
		if maxBody < 1 {
			return errorf("`clnrest-max-body` %d, should be a positive number of bytes.", maxBody)
		}
		c.MaxBody = maxBody
	}
	recheck, ok, err := intOption(opts, WSRecheck)
	if err != nil {
		return err
	}
	c.WSRecheck = 60 * time.Second
	if ok {
		if recheck < 0 {
			return errorf("`clnrest-ws-recheck` %d, should be 0 (off) or a number of seconds.", recheck)
		}
		c.WSRecheck = time.Duration(recheck) * time.Second
	}
	maxRequests, ok, err := intOption(opts, MaxRequests)
	if err != nil {
		return err
	}
	c.MaxRequests = DefaultMaxRequests
	if ok {
		if maxRequests < 1 || maxRequests > 1<<20 {
			return errorf("`clnrest-max-requests` %d, should be between 1 and 1048576.", maxRequests)
		}
		c.MaxRequests = int(maxRequests)
	}
	return nil
}

// listenAddr accepts an IPv4 or IPv6 literal (bare or in brackets) or
// "localhost", and rejects anything else with upstream's reason.
func listenAddr(host string, port int) (string, error) {
	if host == "localhost" {
		return net.JoinHostPort(host, strconv.Itoa(port)), nil
	}
	ip, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	if err != nil || (strings.HasPrefix(host, "[") && !ip.Is6()) {
		return "", errorf("`clnrest-host` should be a valid IP.")
	}
	return net.JoinHostPort(ip.String(), strconv.Itoa(port)), nil
}

func intOption(opts map[string]json.RawMessage, name string) (int64, bool, error) {
	raw, ok := opts[name]
	if !ok || string(raw) == "null" {
		return 0, false, nil
	}
	text := string(raw)
	var s string
	if json.Unmarshal(raw, &s) == nil {
		text = s // tolerate a quoted number
	}
	n, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64)
	if err != nil {
		return 0, false, errorf("`%s` %s, should be an integer.", name, text)
	}
	return n, true, nil
}

func stringOption(opts map[string]json.RawMessage, name, def string) string {
	raw, ok := opts[name]
	if !ok {
		return def
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return string(raw) // lightningd sends strings; keep anything else verbatim
	}
	return s
}
