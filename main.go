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
	"sync"
	"syscall"
	"time"

	"github.com/clnrest/clnrest/config"
	"github.com/clnrest/clnrest/lnrpc"
	"github.com/clnrest/clnrest/plugin"
	"github.com/clnrest/clnrest/rest"
	"github.com/clnrest/clnrest/runeauth"
	"github.com/clnrest/clnrest/server"
	"github.com/clnrest/clnrest/tlsident"
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
// lightningd asks us to stop; lightningd itself waits 30 s.
const shutdownGrace = 3 * time.Second

// node is everything started at init, stopped at shutdown.
type node struct {
	log   *slog.Logger
	paths *rest.Paths // registered by other plugins; lives as long as the process

	mu     sync.Mutex // protects srv, rpc and served
	srv    *server.Server
	rpc    *lnrpc.Client
	served chan struct{} // closed when Serve returns
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	n := &node{paths: &rest.Paths{}}
	p := plugin.New(os.Stdin, os.Stdout, plugin.Config{
		Options:       config.Options(),
		Methods:       []plugin.Method{n.registerPathMethod()},
		Subscriptions: []string{"*"},
		Dynamic:       true,
		Init:          n.init,
	})
	n.log = slog.New(p.LogHandler(slog.LevelDebug))
	err := p.Run(ctx)
	n.stop()
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
	handler := rest.NewHandler(rest.Config{
		RPC:     rpc,
		Auth:    runeauth.NewChecker(rpc),
		Origins: cfg.Origins,
		CSP:     cfg.CSP,
		MaxBody: cfg.MaxBody,
		Paths:   n.paths,
		Logger:  n.log,
	})
	scfg := server.Config{Addr: cfg.Addr, Handler: handler, Logger: n.log}
	if cfg.TLS {
		id, err := tlsident.Load(ctx, tlsident.Config{Dir: cfg.CertsDir, Host: cfg.Host, Logger: n.log})
		if err != nil {
			rpc.Close()
			n.log.Error("cannot use the TLS certificates", "err", err)
			return &plugin.DisableError{Reason: err.Error()}
		}
		scfg.TLS = id.TLSConfig()
	}
	srv, err := server.Listen(scfg)
	if err != nil {
		rpc.Close()
		n.log.Error("cannot start the REST server", "err", err)
		return &plugin.DisableError{Reason: err.Error()}
	}
	n.start(srv, rpc, cfg)
	return nil
}

func (n *node) start(srv *server.Server, rpc *lnrpc.Client, cfg config.Config) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.srv, n.rpc, n.served = srv, rpc, make(chan struct{})
	go func() {
		defer close(n.served)
		n.log.Info("REST server running at " + cfg.URL())
		if err := srv.Serve(); err != nil {
			n.log.Error("REST server stopped", "err", err)
		}
	}()
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
	if err := n.srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		n.log.Warn("shutting down the REST server", "err", err)
	}
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
			return json.RawMessage(`{}`), nil
		},
	}
}
