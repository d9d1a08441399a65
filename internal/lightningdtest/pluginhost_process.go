package lightningdtest

// This file runs the plugin process: pipes, environment, the goroutines
// that own them, writes to stdin, and the ways a plugin ends (shutdown,
// stdin EOF, kill), as lightningd/plugin.c does.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"
)

// spawn starts the process on three pipes of our own (so the host owns
// every goroutine that touches them) and starts those goroutines.
func (p *Plugin) spawn() error {
	var files []*os.File
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
	}
	pipe := func() (*os.File, *os.File, error) {
		r, w, err := os.Pipe()
		if err == nil {
			files = append(files, r, w)
		}
		return r, w, err
	}
	inR, inW, err1 := pipe()
	outR, outW, err2 := pipe()
	errR, errW, err3 := pipe()
	if err := errors.Join(err1, err2, err3); err != nil {
		closeAll()
		return fmt.Errorf("starting plugin %s: creating pipes: %w", p.path, err)
	}
	args := []string{p.path}
	if p.cfg.Developer {
		args = append(args, "--developer")
	}
	p.cmd = &exec.Cmd{
		Path:   p.path,
		Args:   args,
		Dir:    pluginNetDir(p.cfg),
		Env:    p.environment(),
		Stdin:  inR,
		Stdout: outW,
		Stderr: errW,
	}
	if err := p.cmd.Start(); err != nil {
		closeAll()
		return fmt.Errorf("starting plugin %s: %w", p.path, err)
	}
	inR.Close()
	outW.Close()
	errW.Close()
	p.stdin, p.stdout, p.stderr = inW, outR, errR
	p.stdoutOpen = true
	p.logLine("plugin-manager", pluginLevelDebug,
		fmt.Sprintf("started(%d) %s", p.cmd.Process.Pid, p.path))
	p.startGoroutines()
	return nil
}

// environment is what lightningd's plugins see: its own environment plus
// LIGHTNINGD_PLUGIN and LIGHTNINGD_VERSION (plugins_init in plugin.c).
func (p *Plugin) environment() []string {
	env := append([]string(nil), os.Environ()...)
	env = append(env, "LIGHTNINGD_PLUGIN=1", "LIGHTNINGD_VERSION="+p.cfg.Version)
	return append(env, p.cfg.Env...)
}

// startGoroutines starts the process waiter and the two readers, and one
// more goroutine that closes the pipes and p.done when all three are over.
func (p *Plugin) startGoroutines() {
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		p.waitProcess()
	}()
	go func() {
		defer wg.Done()
		p.readStdout()
	}()
	go func() {
		defer wg.Done()
		p.readStderr()
	}()
	go func() {
		wg.Wait()
		p.stdout.Close()
		p.stderr.Close()
		p.closeStdin()
		close(p.done)
	}()
}

// waitProcess reaps the process, then bounds the readers: whatever the
// pipes still hold is read, but a grandchild holding them open cannot keep
// the readers alive.
func (p *Plugin) waitProcess() {
	p.cmd.Wait()
	code := -1
	if p.cmd.ProcessState != nil {
		code = p.cmd.ProcessState.ExitCode()
	}
	p.mu.Lock()
	p.exitCode = code
	p.mu.Unlock()
	close(p.exited)
	deadline := time.Now().Add(pluginDrainGrace)
	p.stdout.SetReadDeadline(deadline)
	p.stderr.SetReadDeadline(deadline)
}

// readStderr copies the plugin's stderr to cfg.Stderr, or line by line to
// cfg.Log, or discards it.
func (p *Plugin) readStderr() {
	switch {
	case p.cfg.Stderr != nil:
		io.Copy(p.cfg.Stderr, p.stderr)
	case p.cfg.Log != nil:
		p.copyStderrLines()
	default:
		io.Copy(io.Discard, p.stderr)
	}
}

func (p *Plugin) copyStderrLines() {
	var partial []byte
	buf := make([]byte, 32*1024)
	for {
		n, err := p.stderr.Read(buf)
		partial = append(partial, buf[:n]...)
		for {
			i := bytes.IndexByte(partial, '\n')
			if i < 0 {
				break
			}
			p.writeOut(partial[:i+1])
			partial = partial[i+1:]
		}
		if err != nil {
			break
		}
	}
	if len(partial) > 0 {
		p.writeOut(append(partial, '\n'))
	}
}

func (p *Plugin) writeOut(line []byte) {
	p.outMu.Lock()
	defer p.outMu.Unlock()
	p.cfg.Log.Write(line)
}

// write sends one message followed by "\n\n", as lightningd does.
func (p *Plugin) write(msg []byte) error {
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	if p.stdinClosed {
		return errors.New("plugin stdin is closed")
	}
	if _, err := p.stdin.Write(append(msg, '\n', '\n')); err != nil {
		return fmt.Errorf("writing to plugin stdin: %w", err)
	}
	return nil
}

// CloseStdin closes the plugin's stdin, so it reads EOF.
func (p *Plugin) CloseStdin() error {
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	if p.stdinClosed {
		return nil
	}
	p.stdinClosed = true
	if err := p.stdin.Close(); err != nil {
		return fmt.Errorf("closing plugin stdin: %w", err)
	}
	return nil
}

func (p *Plugin) closeStdin() {
	p.CloseStdin()
}

// Shutdown does what lightningd does at its own shutdown
// (shutdown_plugins in lightningd/plugin.c): a plugin past init that
// subscribes to "shutdown" (or "*") gets the notification
// {"shutdown": {}} and its exit is logged at debug; any other plugin is
// dropped without a word, which closes its stdin. Then Shutdown waits up
// to cfg.ShutdownGrace (lightningd: 30 s) for the exit, and kills the
// plugin after logging "lightningd: <name>: failed to self-terminate in
// time, killing." If ctx ends first, the plugin is killed and ctx's error
// returned. The exit code is -1 for a killed plugin.
func (p *Plugin) Shutdown(ctx context.Context) (exitCode int, err error) {
	p.mu.Lock()
	p.shuttingDown = true
	notify := p.state == pluginInitComplete && p.subscribesLocked("shutdown")
	p.mu.Unlock()
	if notify {
		notify = p.sendNotification("shutdown", json.RawMessage(`{"shutdown":{}}`)) == nil
	}
	if !notify {
		p.setState(pluginGone)
		p.CloseStdin()
	}
	timer := time.NewTimer(p.cfg.ShutdownGrace)
	defer timer.Stop()
	select {
	case <-p.exited:
	case <-timer.C:
		p.logLine("lightningd", pluginLevelDebug,
			filepath.Base(p.path)+": failed to self-terminate in time, killing.")
		p.setState(pluginGone)
		p.Kill()
	case <-ctx.Done():
		p.setState(pluginGone)
		p.Kill()
		err = fmt.Errorf("shutting down plugin %s: %w", p.path, ctx.Err())
	}
	<-p.done
	return p.ExitCode(), err
}

// PID is the plugin process's id, for tests that watch its resources in
// /proc (threads, file descriptors, memory). It stays valid until the
// process has been reaped.
func (p *Plugin) PID() int { return p.cmd.Process.Pid }

// Wait waits until the plugin has exited and everything it wrote has been
// read, and returns its exit code (-1 if killed by a signal).
func (p *Plugin) Wait(ctx context.Context) (exitCode int, err error) {
	select {
	case <-p.done:
		return p.ExitCode(), nil
	case <-ctx.Done():
		return 0, fmt.Errorf("waiting for plugin %s: %w", p.path, ctx.Err())
	}
}

// ExitCode is the exit code once the plugin has exited (-1 if killed by a
// signal or still running).
func (p *Plugin) ExitCode() int {
	select {
	case <-p.exited:
	default:
		return -1
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exitCode
}

// Kill sends SIGKILL (unless the process already exited) and returns once
// the process is reaped and every goroutine of the plugin has stopped. No
// log line is added beyond what lightningd logs when a plugin dies.
func (p *Plugin) Kill() error {
	var err error
	select {
	case <-p.exited:
	default:
		if kerr := p.cmd.Process.Kill(); kerr != nil && !errors.Is(kerr, os.ErrProcessDone) {
			err = fmt.Errorf("killing plugin %s: %w", p.path, kerr)
		}
	}
	<-p.done
	return err
}

// kill is plugin_kill(): log "Killing plugin: <reason>" at level, then
// SIGKILL. The plugin is gone for lightningd from then on, so its exit is
// not logged again.
func (p *Plugin) kill(level pluginLevel, reason string) {
	p.mu.Lock()
	if p.state == pluginGone {
		p.mu.Unlock()
		return
	}
	p.state = pluginGone
	p.mu.Unlock()
	p.logLine(p.logPrefix, level, "Killing plugin: "+reason)
	// The only possible failure is a process that already exited.
	p.cmd.Process.Kill()
}
