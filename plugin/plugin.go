// Package plugin speaks lightningd's plugin protocol: JSON-RPC 2.0 over the
// plugin's stdin and stdout. It answers getmanifest and init, serves the
// plugin's rpc methods, delivers notifications in order without ever
// blocking the stdin reader, and forwards log/slog records to lightningd's
// log.
//
// Nothing but JSON-RPC messages may reach stdout: lightningd treats any
// other byte as a protocol error and kills the plugin.
package plugin

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Config describes the plugin to lightningd and receives what it sends.
type Config struct {
	// Options are declared in the manifest, in order.
	Options []Option
	// Methods are the rpc methods lightningd forwards to the plugin.
	Methods []Method
	// Subscriptions are notification topics; "*" means every topic.
	Subscriptions []string
	// Dynamic tells lightningd the plugin may be started and stopped
	// while the node runs.
	Dynamic bool
	// Init is called once with lightningd's init request. Returning a
	// *DisableError (or any error) answers {"disable": reason}. Init must
	// return promptly: lightningd waits for it before finishing start-up.
	Init func(ctx context.Context, in Init) error
	// OnNotification receives every notification except the "log" ones,
	// in the order lightningd sent them, from a single goroutine. It may
	// be nil. It must not block for long: notifications queue up (without
	// bound, so none is lost) behind a slow OnNotification.
	OnNotification func(topic string, params json.RawMessage)
}

// Plugin is one plugin process's conversation with lightningd.
type Plugin struct {
	cfg     Config
	in      io.Reader
	out     *writer
	methods map[string]MethodFunc
	queue   *queue

	// done is closed when lightningd asked the plugin to stop, by the
	// shutdown notification or by closing stdin.
	done     chan struct{}
	stopOnce sync.Once

	mu sync.Mutex // protects stopping and the Add side of calls
	// stopping is set once Run stops accepting method calls.
	stopping bool
	// calls counts method calls being served.
	calls sync.WaitGroup
}

// New returns a Plugin that reads requests from in and writes to out.
func New(in io.Reader, out io.Writer, cfg Config) *Plugin {
	p := &Plugin{
		cfg:     cfg,
		in:      in,
		out:     newWriter(out),
		methods: make(map[string]MethodFunc, len(cfg.Methods)),
		queue:   newQueue(),
		done:    make(chan struct{}),
	}
	for _, m := range cfg.Methods {
		p.methods[m.Name] = m.Handle
	}
	return p
}

// Done is closed when lightningd sends the shutdown notification or
// closes the plugin's stdin.
func (p *Plugin) Done() <-chan struct{} { return p.done }

// Run reads and serves lightningd's messages until stdin ends, shutdown
// arrives or ctx is cancelled. It returns after every method call it
// started has been answered and every queued notification delivered. A
// clean stop returns nil; a malformed stream returns the decoding error.
func (p *Plugin) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	dispatched := make(chan struct{})
	go func() {
		defer close(dispatched)
		p.dispatchNotifications()
	}()

	readErr := make(chan error, 1)
	go func() { readErr <- p.read(ctx) }()

	var err error
	select {
	case err = <-readErr:
	case <-ctx.Done():
	case <-p.done:
	}
	p.stop()
	cancel()
	// The reader may still be blocked on stdin (ctx was cancelled); it ends
	// with the process, and any call it reads from now on is refused.
	p.mu.Lock()
	p.stopping = true
	p.mu.Unlock()
	p.calls.Wait()
	p.queue.close()
	<-dispatched
	_ = p.out.flush()
	return err
}

// Close writes the log lines still waiting to go to lightningd and makes
// later ones go out at once. Call it last, before the process exits.
func (p *Plugin) Close() error { return p.out.close() }

func (p *Plugin) stop() { p.stopOnce.Do(func() { close(p.done) }) }

// message is any JSON-RPC message lightningd sends.
type message struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
}

func (p *Plugin) read(ctx context.Context) error {
	dec := json.NewDecoder(bufio.NewReaderSize(p.in, 64<<10))
	for {
		var msg message
		if err := dec.Decode(&msg); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("reading lightningd's message from stdin: %w", err)
		}
		if len(msg.ID) == 0 || string(msg.ID) == "null" {
			if msg.Method == "shutdown" {
				p.queue.push(msg.Method, msg.Params)
				p.stop()
				return nil
			}
			if msg.Method != "" {
				p.queue.push(msg.Method, msg.Params)
			}
			continue
		}
		if msg.Method == "" {
			continue // a response: the plugin sends no requests on stdout
		}
		p.serve(ctx, msg)
	}
}

// serve answers getmanifest and init in order, on the reader goroutine,
// because lightningd sends nothing else before it has their answers; rpc
// methods run concurrently.
func (p *Plugin) serve(ctx context.Context, msg message) {
	switch msg.Method {
	case "getmanifest":
		p.respond(msg.ID, buildManifest(p.cfg), nil)
	case "init":
		p.respond(msg.ID, p.init(ctx, msg.Params), nil)
	default:
		p.mu.Lock()
		if p.stopping {
			p.mu.Unlock()
			p.respond(msg.ID, nil, &Error{Code: -32603, Message: "clnrest is shutting down"})
			return
		}
		p.calls.Add(1)
		p.mu.Unlock()
		go func() {
			defer p.calls.Done()
			res, err := p.call(ctx, msg.Method, msg.Params)
			p.respond(msg.ID, res, err)
		}()
	}
}

func (p *Plugin) init(ctx context.Context, params json.RawMessage) any {
	var in Init
	if err := json.Unmarshal(params, &in); err != nil {
		return map[string]string{"disable": fmt.Sprintf("cannot parse init parameters: %v", err)}
	}
	if in.Options == nil {
		in.Options = map[string]json.RawMessage{}
	}
	if p.cfg.Init != nil {
		if err := p.cfg.Init(ctx, in); err != nil {
			reason := err.Error()
			var de *DisableError
			if errors.As(err, &de) {
				reason = de.Reason
			}
			return map[string]string{"disable": reason}
		}
	}
	return struct{}{}
}

func (p *Plugin) call(ctx context.Context, method string, params json.RawMessage) (json.RawMessage, error) {
	h, ok := p.methods[method]
	if !ok {
		return nil, &Error{Code: -32601, Message: fmt.Sprintf("Unknown method %q", method)}
	}
	if len(params) == 0 {
		params = json.RawMessage("{}")
	}
	return h(ctx, params)
}

func (p *Plugin) respond(id json.RawMessage, result any, err error) {
	if err != nil {
		var rpcErr *Error
		if !errors.As(err, &rpcErr) {
			rpcErr = &Error{Code: -32603, Message: err.Error()}
		}
		p.out.send(response{JSONRPC: "2.0", ID: id, Error: rpcErr})
		return
	}
	p.out.send(response{JSONRPC: "2.0", ID: id, Result: result})
}

type response struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  any             `json:"result,omitempty"`
	Error   *Error          `json:"error,omitempty"`
}

// Notify sends a notification to lightningd, such as a log line or a
// custom notification the plugin declared.
func (p *Plugin) Notify(method string, params any) error {
	return p.out.send(notification{JSONRPC: "2.0", Method: method, Params: params})
}

type notification struct {
	JSONRPC string `json:"jsonrpc"`
	Method  string `json:"method"`
	Params  any    `json:"params"`
}

func (p *Plugin) dispatchNotifications() {
	for {
		n, ok := p.queue.pop()
		if !ok {
			return
		}
		if p.cfg.OnNotification != nil && n.topic != "log" {
			p.cfg.OnNotification(n.topic, n.params)
		}
	}
}
