package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/clnrest/clnrest/internal/lightningdtest"
)

// The simulated lightningd runs in a process of its own, as lightningd
// does: this program started again with -serve-sim. That process holds
// the RPC socket and is clnrest's plugin host (so it also receives
// clnrest's log lines, as lightningd does); the benchmark process is then
// only the load generator, and the simulator's CPU is measured apart,
// like lightningd's.
//
// The two talk in lines: the child prints "ready <rune>", then answers
// "start <protocol> <port> <certs dir>" and "stop" with "ok" or
// "error <message>". It exits when its stdin closes.

// simNode is the parent's handle on the simulator process.
type simNode struct {
	bin  string
	dir  string
	proc *child
	rune string
}

// startSim starts the simulator process in a fresh lightning dir.
func startSim(bin, env string, procs int) (*simNode, error) {
	dir, err := os.MkdirTemp("", "ldb")
	if err != nil {
		return nil, fmt.Errorf("making a lightning dir: %w", err)
	}
	proc, rune, err := startChild("simulator", "-serve-sim", dir, "-bin", bin, "-clnrest-env", env, "-sim-procs", strconv.Itoa(procs))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &simNode{bin: bin, dir: dir, proc: proc, rune: rune}, nil
}

// do sends one command and waits for "ok".
func (s *simNode) do(cmd string) error {
	if _, err := fmt.Fprintln(s.proc.in, cmd); err != nil {
		return fmt.Errorf("talking to the simulator: %w", err)
	}
	line, err := s.proc.line()
	if err != nil {
		return err
	}
	if line != "ok" {
		return errors.New(strings.TrimPrefix(line, "error "))
	}
	return nil
}

func (s *simNode) Name() string {
	return "simulated lightningd (a process of its own)"
}
func (s *simNode) Socket() string  { return filepath.Join(s.dir, "regtest", "lightning-rpc") }
func (s *simNode) Rune() string    { return s.rune }
func (s *simNode) PID() int        { return s.proc.pid() }
func (s *simNode) Simulated() bool { return true }

func (s *simNode) StartREST(ctx context.Context, protocol string, port int) (*restServer, error) {
	certs, err := os.MkdirTemp(s.dir, "certs")
	if err != nil {
		return nil, fmt.Errorf("making a certificates dir: %w", err)
	}
	if err := s.do(fmt.Sprintf("start %s %d %s", protocol, port, certs)); err != nil {
		return nil, err
	}
	stop := func(context.Context) error { return s.do("stop") }
	pid, err := pidListening(port)
	if err != nil {
		_ = stop(ctx)
		return nil, err
	}
	srv := &restServer{Base: protocol + "://127.0.0.1:" + strconv.Itoa(port), PID: pid, stop: stop}
	if protocol == "https" {
		if srv.TLS, err = loadCA(certs); err != nil {
			_ = stop(ctx)
			return nil, err
		}
	}
	return srv, nil
}

// Close ends the simulator process and removes its directory.
func (s *simNode) Close() error {
	err := s.proc.stop(45 * time.Second)
	os.RemoveAll(s.dir)
	return err
}

// serveSim is the simulator process: the RPC socket in dir/regtest, the
// benchmark's commands, and clnrest (bin) started and stopped on request.
func serveSim(dir, bin, env string, procs int) error {
	if procs > 0 {
		runtime.GOMAXPROCS(procs)
	}
	if err := os.MkdirAll(filepath.Join(dir, "regtest"), 0o700); err != nil {
		return fmt.Errorf("making the network dir: %w", err)
	}
	rpc, err := lightningdtest.NewRPCServer(lightningdtest.RPCConfig{
		SocketPath:    filepath.Join(dir, "regtest", "lightning-rpc"),
		ListenBacklog: 128, // as lightningd's listen(fd, 128)
	})
	if err != nil {
		return err
	}
	defer rpc.Close()
	registerBenchCommands(rpc)
	rune, err := rpc.CreateRune()
	if err != nil {
		return err
	}
	fmt.Println("ready " + rune)
	var p *lightningdtest.Plugin
	defer func() { stopPlugin(p) }()
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 4 && f[0] == "start" && p == nil:
			p, err = startPlugin(bin, dir, env, f[1], f[2], f[3])
		case len(f) == 1 && f[0] == "stop" && p != nil:
			err = stopPlugin(p)
			p = nil
		default:
			err = fmt.Errorf("cannot do %q now", sc.Text())
		}
		if err != nil {
			fmt.Println("error " + strings.ReplaceAll(err.Error(), "\n", " "))
			continue
		}
		fmt.Println("ok")
	}
	return sc.Err()
}

// startPlugin starts clnrest as lightningd would and waits until it serves.
func startPlugin(bin, dir, env, protocol, port, certs string) (*lightningdtest.Plugin, error) {
	n, err := strconv.Atoi(port)
	if err != nil {
		return nil, fmt.Errorf("port %q: %w", port, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := lightningdtest.StartPlugin(ctx, lightningdtest.PluginConfig{
		Binary: bin, LightningDir: dir, Options: restOptions(protocol, n, certs), Stderr: os.Stderr,
		Env: strings.Fields(env), KeepLogs: 10000,
	})
	if err != nil {
		return nil, err
	}
	if reason, disabled := p.Disabled(); disabled {
		return nil, fmt.Errorf("clnrest disabled itself: %s", reason)
	}
	if _, err := p.WaitForLog(ctx, regexp.MustCompile(`REST server running at`)); err != nil {
		p.Kill()
		return nil, fmt.Errorf("waiting for clnrest to serve: %w", err)
	}
	return p, nil
}

// stopPlugin shuts clnrest down as lightningd does; nil is a no-op.
func stopPlugin(p *lightningdtest.Plugin) error {
	if p == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	code, err := p.Shutdown(ctx)
	if err == nil && code != 0 {
		err = fmt.Errorf("clnrest exited with code %d", code)
	}
	return err
}
