package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// child is this program started again in another role (-serve-sim,
// -serve-relay), so that the role's CPU is a process's own: it prints
// "ready <value>" first, then answers on stdout line by line, and ends
// when its stdin closes.
type child struct {
	what string // for messages: "simulator", "bare relay"
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
}

// startChild starts the program with args and waits for its ready line;
// it returns the value that line carries.
func startChild(what string, args ...string) (*child, string, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, "", fmt.Errorf("finding the benchmark's executable: %w", err)
	}
	c := &child{what: what, cmd: exec.Command(self, args...)}
	c.cmd.Stderr = os.Stderr
	if c.in, err = c.cmd.StdinPipe(); err != nil {
		return nil, "", err
	}
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	c.out = bufio.NewReader(stdout)
	if err := c.cmd.Start(); err != nil {
		return nil, "", fmt.Errorf("starting the %s: %w", what, err)
	}
	line, err := c.line()
	if err == nil && !strings.HasPrefix(line, "ready ") {
		err = fmt.Errorf("the %s said %q", what, line)
	}
	if err != nil {
		c.stop(10 * time.Second)
		return nil, "", err
	}
	return c, strings.TrimPrefix(line, "ready "), nil
}

// line reads the child's next line.
func (c *child) line() (string, error) {
	line, err := c.out.ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("reading from the %s: %w", c.what, err)
	}
	return strings.TrimSpace(line), nil
}

// pid is the child's process id.
func (c *child) pid() int { return c.cmd.Process.Pid }

// stop closes the child's stdin and waits for it to exit, killing it
// after grace.
func (c *child) stop(grace time.Duration) error {
	_ = c.in.Close()
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(grace):
		_ = c.cmd.Process.Kill()
		return errors.Join(fmt.Errorf("the %s did not stop; killed", c.what), <-done)
	}
}
