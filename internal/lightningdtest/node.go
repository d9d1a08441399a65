package lightningdtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// NodeConfig describes a simulated node running one plugin.
type NodeConfig struct {
	// Binary is the plugin to start, such as the built clnrest.
	Binary string
	// Dir is the lightning dir; "" makes a fresh short temporary one
	// (unix socket paths are limited to 108 bytes), removed by Stop.
	Dir string
	// Network defaults to "regtest".
	Network string
	// Options are the plugin's options as a user would set them.
	Options map[string]any
	// MasterSecret makes runes reproducible; nil means random.
	MasterSecret []byte
	// Log receives every lightningd-style log line; may be nil.
	Log io.Writer
	// Env is added to the plugin's environment.
	Env []string
	// StartupTimeout bounds getmanifest and init; 0 means lightningd's.
	StartupTimeout time.Duration
}

// Node is a simulated lightningd with one plugin: its RPC server is
// listening in <Dir>/<network>/lightning-rpc, notifications the RPC
// server produces (such as invoice_creation) reach the plugin, and the
// plugin's rpc methods can be called through the RPC socket, as other
// plugins and lightning-cli call them on a real node.
type Node struct {
	RPC    *RPCServer
	Plugin *Plugin
	// Dir is the lightning dir, NetDir the network directory (the
	// plugin's working directory and the home of lightning-rpc).
	Dir, NetDir string

	ownsDir bool
	mu      sync.Mutex // protects plugin, the target of notifications
	plugin  *Plugin
}

// StartNode starts the RPC server, then the plugin. It returns with the
// plugin initialized or disabled (see Plugin.Disabled).
func StartNode(ctx context.Context, cfg NodeConfig) (*Node, error) {
	n := &Node{Dir: cfg.Dir}
	if n.Dir == "" {
		dir, err := os.MkdirTemp("", "ld")
		if err != nil {
			return nil, fmt.Errorf("making a lightning dir: %w", err)
		}
		n.Dir, n.ownsDir = dir, true
	}
	network := cfg.Network
	if network == "" {
		network = "regtest"
	}
	n.NetDir = filepath.Join(n.Dir, network)
	if err := os.MkdirAll(n.NetDir, 0o700); err != nil {
		return nil, fmt.Errorf("making %s: %w", n.NetDir, err)
	}
	rpc, err := NewRPCServer(RPCConfig{
		SocketPath:   filepath.Join(n.NetDir, "lightning-rpc"),
		MasterSecret: cfg.MasterSecret,
		Notify:       n.notify,
	})
	if err != nil {
		n.cleanup()
		return nil, err
	}
	n.RPC = rpc
	p, err := StartPlugin(ctx, PluginConfig{
		Binary: cfg.Binary, LightningDir: n.Dir, Network: network, Options: cfg.Options,
		Log: cfg.Log, Env: cfg.Env, StartupTimeout: cfg.StartupTimeout,
	})
	if err != nil {
		rpc.Close()
		n.cleanup()
		return nil, err
	}
	n.Plugin = p
	n.mu.Lock()
	n.plugin = p
	n.mu.Unlock()
	n.forwardMethods(p)
	return n, nil
}

// notify delivers a notification from the RPC server to the plugin, as
// lightningd does for subscribed plugins.
func (n *Node) notify(topic string, params json.RawMessage) {
	n.mu.Lock()
	p := n.plugin
	n.mu.Unlock()
	if p == nil {
		return
	}
	if err := p.Notify(topic, params); err != nil && !errors.Is(err, ErrNotSubscribed) && !errors.Is(err, ErrPluginNotRunning) {
		fmt.Fprintf(os.Stderr, "lightningdtest: notifying %s: %v\n", topic, err)
	}
}

// Notify sends a notification to the plugin, wrapped like lightningd's
// built-in topics: params {"<topic>": body}.
func (n *Node) Notify(topic string, body json.RawMessage) error {
	params, err := json.Marshal(map[string]json.RawMessage{topic: body})
	if err != nil {
		return fmt.Errorf("wrapping %s notification: %w", topic, err)
	}
	return n.Plugin.Notify(topic, params)
}

// forwardMethods makes the plugin's rpc methods callable on the RPC
// socket, with the usage strings of its manifest.
func (n *Node) forwardMethods(p *Plugin) {
	var m struct {
		RPCMethods []struct {
			Name  string `json:"name"`
			Usage string `json:"usage"`
		} `json:"rpcmethods"`
	}
	if json.Unmarshal(p.Manifest(), &m) != nil {
		return
	}
	for _, md := range m.RPCMethods {
		name := md.Name
		n.RPC.Handle(name, md.Usage, func(ctx context.Context, params json.RawMessage) (json.RawMessage, error) {
			res, err := p.Call(ctx, name, params)
			var pe *PluginError
			if errors.As(err, &pe) {
				return nil, &RPCError{Code: pe.Code, Message: pe.Message, Data: pe.Data}
			}
			return res, err
		})
	}
}

// Stop sends the plugin lightningd's shutdown notification, waits for it
// to exit, and closes the RPC server. It returns the plugin's exit code.
func (n *Node) Stop(ctx context.Context) (int, error) {
	code := 0
	var err error
	if n.Plugin != nil {
		if _, disabled := n.Plugin.Disabled(); !disabled {
			code, err = n.Plugin.Shutdown(ctx)
		}
	}
	if cerr := n.RPC.Close(); err == nil {
		err = cerr
	}
	n.cleanup()
	return code, err
}

func (n *Node) cleanup() {
	if n.ownsDir {
		os.RemoveAll(n.Dir)
	}
}
