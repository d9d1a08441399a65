package main

import (
	"fmt"
	"slices"
	"syscall"
	"time"
)

// The throughput rows are mostly system calls: a REST request makes about
// nine (the HTTP read and write, two lightning-rpc writes and reads, the
// reads that find nothing yet) and so does each process it wakes, and the
// bare relay, which does little else, is the floor of them all. What a
// system call costs differs widely between machines; on a virtual machine
// where it traps to the hypervisor it costs many times what it does on bare
// metal, and the ratios of the table move with it. measureSyscallCost
// measures it before the load starts, so that the table says which kind of
// machine it ran on. (The figures are printed to three significant digits
// rather than with the table's durCell, whose 0.1 µs steps would show a
// bare-metal getpid of a few tens of nanoseconds as 0.0 or 0.1 µs.)

// syscallCostRounds and syscallCostCalls size the probe: the median of 5
// rounds of 20,000 calls takes about a tenth of a second on a machine whose
// system calls cost 1 µs.
const (
	syscallCostRounds = 5
	syscallCostCalls  = 20000
)

// syscallCost is what the probe measured: the mean time of one getpid(2),
// the cheapest system call there is, and of one write(2) of a 200-byte
// message into a unix socket followed by the read(2) that takes it out
// (about the size of a checkrune request), each the median of its rounds.
type syscallCost struct {
	Getpid    time.Duration
	WriteRead time.Duration
}

func (c syscallCost) String() string {
	return fmt.Sprintf("a system call (getpid) takes %s, a 200-byte unix socket write and read %s",
		roundDuration(c.Getpid), roundDuration(c.WriteRead))
}

// roundDuration keeps three significant digits of d for the machine line.
func roundDuration(d time.Duration) time.Duration {
	switch {
	case d < time.Microsecond:
		return d
	case d < 10*time.Microsecond:
		return d.Round(10 * time.Nanosecond)
	default:
		return d.Round(100 * time.Nanosecond)
	}
}

// measureSyscallCost runs the probe. Its calls go through the syscall
// package as every Go program's do, the scheduler's bookkeeping around each
// included, so that they cost what clnrest's and the simulator's cost.
func measureSyscallCost() (syscallCost, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return syscallCost{}, fmt.Errorf("system call probe: socketpair: %w", err)
	}
	defer syscall.Close(fds[0])
	defer syscall.Close(fds[1])

	getpid := func() error {
		for range syscallCostCalls {
			syscall.Syscall(syscall.SYS_GETPID, 0, 0, 0)
		}
		return nil
	}
	msg := make([]byte, 200)
	in := make([]byte, len(msg))
	writeRead := func() error {
		for range syscallCostCalls {
			if n, err := syscall.Write(fds[0], msg); err != nil || n != len(msg) {
				return fmt.Errorf("system call probe: write: %d bytes, %v", n, err)
			}
			// A unix stream socket hands over what one write put in at
			// once, so a single read takes all of it.
			if n, err := syscall.Read(fds[1], in); err != nil || n != len(msg) {
				return fmt.Errorf("system call probe: read: %d bytes, %v", n, err)
			}
		}
		return nil
	}
	var c syscallCost
	if c.Getpid, err = medianPerCall(getpid); err != nil {
		return syscallCost{}, err
	}
	if c.WriteRead, err = medianPerCall(writeRead); err != nil {
		return syscallCost{}, err
	}
	return c, nil
}

// medianPerCall times syscallCostRounds runs of round and returns the
// median time per call: a round that another process's burst slowed down
// does not count.
func medianPerCall(round func() error) (time.Duration, error) {
	times := make([]time.Duration, syscallCostRounds)
	for i := range times {
		start := time.Now()
		if err := round(); err != nil {
			return 0, err
		}
		times[i] = time.Since(start) / syscallCostCalls
	}
	slices.Sort(times)
	return times[len(times)/2], nil
}
