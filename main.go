// Command clnrest is a drop-in replacement for Core Lightning's REST plugin.
// lightningd starts it as a plugin; it serves POST /v1/<method> as
// lightning-rpc calls after checking the caller's rune, pushes the node's
// notifications to Socket.IO clients, and serves a Swagger UI.
//
// This file is wiring only: plugin → options → servers.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/clnrest/clnrest/config"
	"github.com/clnrest/clnrest/lnrpc"
	"github.com/clnrest/clnrest/plugin"
	"github.com/clnrest/clnrest/rest"
	"github.com/clnrest/clnrest/runeauth"
	"github.com/clnrest/clnrest/server"
	"github.com/clnrest/clnrest/swagger"
	"github.com/clnrest/clnrest/tlsident"
	"github.com/clnrest/clnrest/websocket"
)

func main() {
	// lightningd may be gone before us; a write to the closed stdout must
	// be an error we can ignore, not a SIGPIPE death.
	signal.Ignore(syscall.SIGPIPE)
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "clnrest:", err)
		os.Exit(1)
	}
}

// shutdownGrace is how long requests in flight get to finish once
// lightningd asks us to stop; lightningd itself waits 30 s. The last
// answerGrace of it is for answering the calls still waiting for
// lightningd then: they are ended (503) rather than cut off.
const (
	shutdownGrace = 3 * time.Second
	answerGrace   = 500 * time.Millisecond
)

// node is everything started at init, stopped at shutdown.
type node struct {
	log   *slog.Logger
	paths *rest.Paths // registered by other plugins; lives as long as the process

	mu      sync.Mutex // protects srv, rpc, hub, docs, counter and served
	srv     *server.Server
	rpc     *lnrpc.Client
	hub     *websocket.Hub
	docs    *swagger.Docs
	counter *requestCounter // requests in flight, for clnrest-stats
	served  chan struct{}   // closed when Serve returns and the hub has stopped
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	n := &node{paths: &rest.Paths{}}
	p := plugin.New(os.Stdin, os.Stdout, plugin.Config{
		Options:       config.Options(),
		Methods:       []plugin.Method{n.registerPathMethod(), n.statsMethod()},
		Subscriptions: []string{"*"},
		Dynamic:       true,
		Init:          n.init,
		// Called from the plugin's single dispatcher, in lightningd's order.
		OnNotification: n.notified,
	})
	n.log = slog.New(p.LogHandler(slog.LevelDebug))
	err := p.Run(ctx)
	n.stop()
	_ = p.Close() // the log lines of stopping
	return err
}

func (n *node) init(ctx context.Context, in plugin.Init) error {
	wd, err := os.Getwd()
	if err != nil {
		return &plugin.DisableError{Reason: fmt.Sprintf("cannot read the working directory: %v", err)}
	}
	cfg, err := config.Parse(in.Options, wd)
	if err != nil {
		n.log.Info(err.Error())
		return &plugin.DisableError{Reason: err.Error()}
	}
	rpc := lnrpc.New(in.Configuration.RPCPath(), lnrpc.Config{})
	// undo closes what init started, newest first, when a later step fails.
	undo := []func() error{rpc.Close}
	disable := func(what string, err error) error {
		for _, close := range slices.Backward(undo) {
			close()
		}
		n.log.Error(what, "err", err)
		return &plugin.DisableError{Reason: err.Error()}
	}
	auth := runeauth.NewChecker(rpc)
	hub, err := websocket.New(websocket.Config{Auth: auth, Logger: n.log, Recheck: cfg.WSRecheck})
	if err != nil {
		return disable("cannot start Socket.IO", fmt.Errorf("starting Socket.IO: %w", err))
	}
	undo = append(undo, hub.Close)
	docs, err := swagger.New(swagger.Config{Root: cfg.SwaggerRoot, RPC: rpc, Paths: n.dynamicPaths, Version: version(), Logger: n.log})
	if err != nil {
		return disable("cannot serve the API documentation", err)
	}
	handler := rest.NewHandler(rest.Config{
		RPC:         rpc,
		Auth:        auth,
		SocketIO:    hub,
		Docs:        docs,
		Origins:     cfg.Origins,
		CSP:         cfg.CSP,
		MaxBody:     cfg.MaxBody,
		MaxRequests: cfg.MaxRequests,
		Paths:       n.paths,
		Logger:      n.log,
	})
	counter := &requestCounter{next: handler}
	scfg := server.Config{Addr: cfg.Addr, Handler: counter, Logger: n.log}
	if cfg.TLS {
		id, err := tlsident.Load(ctx, tlsident.Config{Dir: cfg.CertsDir, Host: cfg.Host, Logger: n.log})
		if err != nil {
			return disable("cannot use the TLS certificates", err)
		}
		scfg.TLS = id.TLSConfig()
	}
	srv, err := server.Listen(scfg)
	if err != nil {
		return disable("cannot start the REST server", err)
	}
	n.mu.Lock()
	n.docs, n.counter = docs, counter
	n.mu.Unlock()
	n.start(srv, rpc, hub, cfg)
	return nil
}

func (n *node) start(srv *server.Server, rpc *lnrpc.Client, hub *websocket.Hub, cfg config.Config) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.srv, n.rpc, n.hub, n.served = srv, rpc, hub, make(chan struct{})
	hubDone := make(chan struct{})
	go func() {
		defer close(hubDone)
		hub.Run(context.Background()) // ends with hub.Close in stop
	}()
	go func() {
		defer close(n.served)
		defer func() { <-hubDone }()
		n.log.Info("REST server running at " + cfg.URL())
		if err := srv.Serve(); err != nil {
			n.log.Error("REST server stopped", "err", err)
		}
	}()
}

// notified handles every notification, from the plugin's single
// dispatcher in lightningd's order: Socket.IO clients get it, and a
// plugin starting or stopping may have changed the commands the API
// document lists.
func (n *node) notified(topic string, params json.RawMessage) {
	n.mu.Lock()
	hub, docs := n.hub, n.docs
	n.mu.Unlock()
	if hub != nil {
		hub.Publish(params)
	}
	if docs != nil && (topic == "plugin_started" || topic == "plugin_stopped") {
		docs.Invalidate()
	}
}

// dynamicPaths lists the registered paths for the API document.
func (n *node) dynamicPaths() []swagger.DynamicPath {
	regs := n.paths.List()
	out := make([]swagger.DynamicPath, len(regs))
	for i, r := range regs {
		out[i] = swagger.DynamicPath{Path: r.Path, HTTPMethod: r.HTTPMethod, RPCMethod: r.RPCMethod, RuneRequired: r.RuneRequired}
	}
	return out
}

// version is the module version built into the binary, for the API
// document.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// stop drains the server and closes the lightning-rpc pool.
func (n *node) stop() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	n.hub.Close() // hijacked WebSockets are not drained by Shutdown
	// Closing the lightning-rpc client ends the calls still in flight, so
	// that their handlers answer before Shutdown closes the connections.
	endCalls := time.AfterFunc(shutdownGrace-answerGrace, func() { n.rpc.Close() })
	if err := n.srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		n.log.Warn("shutting down the REST server", "err", err)
	}
	endCalls.Stop()
	<-n.served
	n.rpc.Close()
}

// registerPathMethod declares clnrest-register-path for other plugins.
func (n *node) registerPathMethod() plugin.Method {
	return plugin.Method{
		Name:        "clnrest-register-path",
		Usage:       "path rpc_method [http_method] [rune_required] [rune_restrictions]",
		Description: "Register a dynamic REST path for clnrest",
		Handle: func(_ context.Context, params json.RawMessage) (json.RawMessage, error) {
			reg, err := n.paths.Register(params)
			if err != nil {
				// Upstream answers every refusal with code -32700.
				return nil, &plugin.Error{Code: -32700, Message: err.Error()}
			}
			n.log.Debug("Registered path", "path", reg.Path, "http_method", reg.HTTPMethod,
				"rpc_method", reg.RPCMethod, "rune_required", reg.RuneRequired)
			n.mu.Lock()
			docs := n.docs
			n.mu.Unlock()
			if docs != nil {
				docs.Invalidate()
			}
			return json.RawMessage(`{}`), nil
		},
	}
}
