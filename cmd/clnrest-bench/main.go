// Command clnrest-bench measures clnrest against the simulated lightningd
// (or, with -lightning-dir, a real one) and prints one Markdown table:
// throughput and latency of POST /v1/getinfo over http and https at
// several concurrencies, next to two ceilings measured the same way (our
// design: a pooled lnrpc client making checkrune + getinfo; upstream's: a
// fresh connection per call, checkrune + showrunes + getinfo); large
// results in every format with clnrest's peak memory; isolation of getinfo
// from a blocked call and a big download; a burst of 2,000 clients; and the
// gateway's allocations per request. `make bench` runs it.
//
// All traffic stays on loopback, and every phase is bounded in time and in
// requests, so a run ends by itself in about five minutes.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "clnrest-bench:", err)
		os.Exit(1)
	}
}

// settings are the command line.
type settings struct {
	bin          string
	lightningDir string
	network      string
	duration     time.Duration
	warmup       time.Duration
	concurrency  []int
	only         string // run only the phases whose names contain it
	onlyConc     int
}

// bench is one run: the node, the settings, progress output and the table.
type bench struct {
	set      settings
	node     node
	progress io.Writer
	table    table
	syscalls syscallCost // measured before the load (see syscallCost)

	// What the targets are checked against, filled in by the phases.
	results      map[string]loadResult // throughput rows by rowKey
	idleRSS      int64
	jsonPeakRSS  int64 // 200 MB JSON, fast client
	slowPeakRSS  int64 // 200 MB JSON, slow client
	isolationP99 [2]time.Duration
	burstErrors  int
	burstRan     bool
}

// rowKey names a throughput row in bench.results.
func rowKey(test, proto string, conc int) string { return fmt.Sprintf("%s|%s|%d", test, proto, conc) }

func run() error {
	var set settings
	flag.StringVar(&set.bin, "bin", "bin/clnrest", "the clnrest binary")
	flag.StringVar(&set.lightningDir, "lightning-dir", os.Getenv("LIGHTNING_DIR"),
		"a running lightningd's directory (default $LIGHTNING_DIR; empty: the simulator)")
	flag.StringVar(&set.network, "network", envOr("LIGHTNING_NETWORK", "regtest"), "the network subdirectory of -lightning-dir")
	flag.DurationVar(&set.duration, "duration", 5*time.Second, "measured time of each throughput row")
	flag.DurationVar(&set.warmup, "warmup", time.Second, "warm-up before each throughput row")
	flag.StringVar(&set.only, "only", "", "run only the phases whose names contain this (throughput, large, isolation, burst, allocs)")
	flag.IntVar(&set.onlyConc, "c", 0, "run the throughput rows at this concurrency only")
	cpuProfile := flag.String("cpuprofile", "", "write this process's CPU profile (load generator and simulator) to this file")
	env := flag.String("clnrest-env", "", "with the simulator: extra environment for clnrest, e.g. GOMAXPROCS=1 (space-separated)")
	simProcs := flag.Int("sim-procs", 0, "GOMAXPROCS of the simulator process (0: Go's default)")
	serve := flag.String("serve-sim", "", "internal: be the simulated lightningd in this lightning dir")
	relay := flag.String("serve-relay", "", "internal: be the bare relay in front of this lightning-rpc socket")
	timeout := flag.Duration("timeout", 9*time.Minute, "give up (and exit 1) after this long")
	quick := flag.Bool("quick", false, "one-second rows, for trying the tool out")
	flag.Parse()
	if *relay != "" {
		return serveRelay(*relay)
	}
	if *serve != "" {
		return serveSim(*serve, set.bin, *env, *simProcs)
	}
	set.concurrency = []int{1, 16, 64, 256}
	if set.onlyConc > 0 {
		set.concurrency = []int{set.onlyConc}
	}
	if *quick {
		set.duration, set.warmup = time.Second, 200*time.Millisecond
	}
	bin, err := filepath.Abs(set.bin)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("no clnrest binary (run make first): %w", err)
	}
	set.bin = bin

	// The phases are bounded one by one; this bounds the whole run, so that
	// `make bench` always ends by itself. The simulator and clnrest end
	// with us: the simulator stops when its stdin closes.
	watchdog := time.AfterFunc(*timeout, func() {
		fmt.Fprintf(os.Stderr, "clnrest-bench: gave up after %s\n", *timeout)
		os.Exit(1)
	})
	defer watchdog.Stop()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b := &bench{set: set, progress: os.Stderr, results: map[string]loadResult{}}
	if set.lightningDir == "" {
		b.node, err = startSim(bin, *env, *simProcs)
		b.table.nodeCPUHeader = "simulator CPU/req"
	} else {
		b.node, err = openReal(ctx, bin, set.lightningDir, set.network)
		b.table.nodeCPUHeader = "lightningd CPU/req"
	}
	if err != nil {
		return err
	}
	defer b.node.Close()
	b.logf("node: %s", b.node.Name())
	// The probe runs before any load, on a machine as quiet as the run gets.
	if b.syscalls, err = measureSyscallCost(); err != nil {
		return err
	}
	b.logf("machine: %s", b.machine())

	if err := b.runAll(); err != nil {
		return err
	}
	fmt.Printf("\nclnrest-bench against %s\n%s\n\n", b.node.Name(), b.machine())
	b.table.print(os.Stdout)
	fmt.Println()
	b.printTargets(os.Stdout)
	return nil
}

// runAll runs every phase in turn.
func (b *bench) runAll() error {
	phases := []struct {
		name string
		run  func() error
	}{
		{"allocs", b.allocs},
		{"throughput", b.throughput},
		{"large", b.largeResults},
		{"isolation", b.isolation},
		{"burst", b.burst},
	}
	for _, p := range phases {
		if !strings.Contains(p.name, b.set.only) {
			continue
		}
		if err := p.run(); err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
	}
	return nil
}

// logf prints progress on stderr, so that stdout holds only the table.
func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.progress, "[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// machine describes the CPU and memory the run had, and what a system call
// cost on it.
func (b *bench) machine() string {
	return fmt.Sprintf("%d CPUs (%s), %s RAM, %s, %s; %s", runtime.NumCPU(), cpuModel(), totalMemory(), runtime.Version(), runtime.GOARCH, b.syscalls)
}
