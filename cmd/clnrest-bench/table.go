package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// row is one line of the result table; zero fields print empty.
type row struct {
	Measured bool // a load row: its rate is printed even when zero
	Test     string
	Proto    string
	Conc     int
	Rate     float64       // requests per second
	P50      time.Duration // latency
	P99      time.Duration
	CPU      time.Duration // clnrest's CPU time per request
	NodeCPU  time.Duration // lightningd's (or the simulator's) per request
	LoadCPU  time.Duration // the load generator's per request
	Ratio    float64       // against the direct pair at the same concurrency
	Errors   string
	Notes    string
}

// table is the benchmark's single output.
type table struct {
	nodeCPUHeader string
	rows          []row
}

func (t *table) add(r row) { t.rows = append(t.rows, r) }

// print writes the table as Markdown, ready for the README.
func (t *table) print(w io.Writer) {
	header := []string{"test", "proto", "conc", "req/s", "p50", "p99", "clnrest CPU/req", t.nodeCPUHeader, "load gen CPU/req", "vs direct", "errors", "notes"}
	cells := [][]string{header}
	for _, r := range t.rows {
		cells = append(cells, []string{
			r.Test, r.Proto, intCell(r.Conc), rateCell(r.Rate, r.Measured), durCell(r.P50), durCell(r.P99),
			durCell(r.CPU), durCell(r.NodeCPU), durCell(r.LoadCPU), ratioCell(r.Ratio), r.Errors, r.Notes,
		})
	}
	widths := make([]int, len(header))
	for _, line := range cells {
		for i, c := range line {
			widths[i] = max(widths[i], len(c))
		}
	}
	for n, line := range cells {
		writeLine(w, line, widths)
		if n == 0 {
			sep := make([]string, len(widths))
			for i, wd := range widths {
				sep[i] = strings.Repeat("-", wd)
			}
			writeLine(w, sep, widths)
		}
	}
}

func writeLine(w io.Writer, cells []string, widths []int) {
	var b strings.Builder
	b.WriteString("|")
	for i, c := range cells {
		fmt.Fprintf(&b, " %-*s |", widths[i], c)
	}
	fmt.Fprintln(w, b.String())
}

func intCell(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprint(n)
}

func rateCell(r float64, measured bool) string {
	if r == 0 && !measured {
		return ""
	}
	return fmt.Sprintf("%.0f", r)
}

func ratioCell(r float64) string {
	if r == 0 {
		return ""
	}
	return fmt.Sprintf("%.2f", r)
}

// durCell prints a duration with three significant digits in µs, ms or s.
func durCell(d time.Duration) string {
	switch {
	case d == 0:
		return ""
	case d < time.Millisecond:
		return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond))
	case d < time.Second:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
}

// mb prints a memory size in MB (10^6 bytes), the unit of the targets.
func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }
