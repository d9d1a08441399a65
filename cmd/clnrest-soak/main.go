// Command clnrest-soak runs clnrest under a simulated lightningd for a
// bounded time with steady mixed traffic, and judges whether it holds up:
// REST calls (successes and deliberate 401/403/404s), Socket.IO clients
// that stay, come and go, and notifications flowing to them. Every 30 s it
// prints requests served, errors by kind, and clnrest's RSS, goroutines
// and open descriptors; at the end it prints a summary and exits non-zero
// unless there were no unexpected errors and RSS and goroutines stayed
// flat after warm-up. `make soak` runs it for 10 minutes.
//
// All traffic goes to 127.0.0.1, from loops that end at the deadline.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"time"

	"github.com/clnrest/clnrest/internal/lightningdtest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "clnrest-soak:", err)
		os.Exit(1)
	}
}

// config is the soak's shape, from the flags.
type config struct {
	plugin      string
	duration    time.Duration
	report      time.Duration
	restWorkers int
	stayClients int
	notifyEvery time.Duration
}

func parseFlags() config {
	var c config
	flag.StringVar(&c.plugin, "plugin", "bin/clnrest", "the clnrest binary to soak")
	flag.DurationVar(&c.duration, "duration", 10*time.Minute, "how long to run the traffic")
	flag.DurationVar(&c.report, "report", 30*time.Second, "how often to print figures")
	flag.IntVar(&c.restWorkers, "rest-workers", 4, "concurrent REST clients")
	flag.IntVar(&c.stayClients, "sio-clients", 10, "Socket.IO clients connected for the whole run (more come and go)")
	flag.DurationVar(&c.notifyEvery, "notify-every", 20*time.Millisecond, "interval between notifications")
	flag.Parse()
	return c
}

func run() error {
	cfg := parseFlags()
	bin, err := filepath.Abs(cfg.plugin)
	if err != nil {
		return err
	}
	if _, err := exec.LookPath(bin); err != nil {
		return fmt.Errorf("no clnrest binary at %s (run make first): %w", bin, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	t, err := startTarget(ctx, bin)
	if err != nil {
		return err
	}
	fmt.Printf("soaking clnrest (pid %d) at %s for %s\n", t.node.Plugin.PID(), t.base, cfg.duration)
	counts := newCounters()
	samples := soak(ctx, cfg, t, counts)
	code, stopErr := t.stop()
	fmt.Printf("clnrest exited with code %d after the run\n", code)
	if stopErr != nil || code != 0 {
		counts.add("unexpected: clnrest did not exit cleanly", 1)
	}
	if !summarize(samples, counts) {
		return errors.New("soak failed")
	}
	return nil
}

// soak runs every traffic loop for the duration, sampling clnrest every
// report interval, and returns the samples. The traffic goes on for half
// an interval more, so that no sample is taken while it winds down.
func soak(ctx context.Context, cfg config, t *target, counts *counters) []sample {
	sampling, stopSampling := context.WithTimeout(ctx, cfg.duration)
	defer stopSampling()
	ctx, cancel := context.WithTimeout(ctx, cfg.duration+cfg.report/2)
	defer cancel()
	var wg sync.WaitGroup
	spawn := func(fn func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn()
		}()
	}
	for w := range cfg.restWorkers {
		spawn(func() { restLoop(ctx, t, counts, w) })
	}
	for range cfg.stayClients {
		spawn(func() { stayLoop(ctx, t, counts) })
	}
	spawn(func() { churnLoop(ctx, t, counts) })
	spawn(func() { notifyLoop(ctx, t, counts, cfg.notifyEvery) })

	began := time.Now()
	var samples []sample
	tick := time.NewTicker(cfg.report)
	defer tick.Stop()
	for {
		select {
		case <-sampling.Done():
			cancel()
			wg.Wait()
			return samples
		case <-tick.C:
		}
		s := t.sample(time.Since(began))
		samples = append(samples, s)
		printSample(s, counts)
	}
}

// target is the clnrest under soak and its simulated node.
type target struct {
	node   *lightningdtest.Node
	base   string
	rune   string
	caFile string
}

func startTarget(ctx context.Context, bin string) (*target, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	startCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	node, err := lightningdtest.StartNode(startCtx, lightningdtest.NodeConfig{
		Binary:  bin,
		Options: map[string]any{"clnrest-port": port},
	})
	if err != nil {
		return nil, fmt.Errorf("starting the simulated node: %w", err)
	}
	t := &target{node: node, caFile: filepath.Join(node.NetDir, "ca.pem")}
	if reason, disabled := node.Plugin.Disabled(); disabled {
		t.stop()
		return nil, errors.New("clnrest disabled itself: " + reason)
	}
	line, err := node.Plugin.WaitForLog(startCtx, regexp.MustCompile(`REST server running at \S+`))
	if err != nil {
		t.stop()
		return nil, fmt.Errorf("clnrest did not start: %w", err)
	}
	t.base = regexp.MustCompile(`https?://\S+`).FindString(line)
	if t.rune, err = node.RPC.CreateRune(); err != nil {
		t.stop()
		return nil, fmt.Errorf("createrune: %w", err)
	}
	return t, nil
}

// stop shuts clnrest down as lightningd does and returns its exit code.
func (t *target) stop() (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return t.node.Stop(ctx)
}
