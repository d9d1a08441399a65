package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// download is one large-result request: a listinvoices result of Size
// bytes (as JSON) read in Format, at most Pace bytes per second (0: as
// fast as possible).
type download struct {
	Format string // JSON, YAML, XML, form
	Size   int64
	Pace   int64
}

var acceptOf = map[string]string{
	"JSON": "application/json", "YAML": "application/yaml", "XML": "application/xml",
	"form": "application/x-www-form-urlencoded",
}

// downloadResult is what a download measured.
type downloadResult struct {
	TTFB, Total time.Duration
	Bytes       int64
	Status      int
	Tail        string // the last bytes, to check the document is whole
}

// fetch runs d against srv with client.
func fetch(ctx context.Context, client *http.Client, srv *restServer, rune string, d download) (downloadResult, error) {
	body := fmt.Sprintf(`{"limit":%d}`, invoicesFor(d.Size))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.Base+"/v1/listinvoices", strings.NewReader(body))
	if err != nil {
		return downloadResult{}, err
	}
	req.Header.Set("Rune", rune)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", acceptOf[d.Format])
	start := time.Now()
	res, err := client.Do(req)
	if err != nil {
		return downloadResult{}, fmt.Errorf("listinvoices as %s: %w", d.Format, err)
	}
	defer res.Body.Close()
	out := downloadResult{Status: res.StatusCode}
	buf := make([]byte, 64<<10)
	var tail []byte
	for {
		n, err := res.Body.Read(buf)
		if n > 0 && out.Bytes == 0 {
			out.TTFB = time.Since(start)
		}
		out.Bytes += int64(n)
		tail = append(tail, buf[:n]...)
		tail = tail[max(0, len(tail)-64):]
		if d.Pace > 0 && n > 0 {
			// Sleep until the bytes read so far are due at the pace.
			if ahead := time.Duration(float64(out.Bytes)/float64(d.Pace)*float64(time.Second)) - time.Since(start); ahead > 0 {
				time.Sleep(ahead)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return out, fmt.Errorf("reading listinvoices as %s after %d bytes: %w", d.Format, out.Bytes, err)
		}
	}
	out.Total = time.Since(start)
	out.Tail = string(bytes.TrimSpace(tail))
	if out.Status != http.StatusCreated {
		return out, fmt.Errorf("listinvoices as %s: status %d", d.Format, out.Status)
	}
	return out, nil
}

// rssSampler records the highest RSS of a process, read every 10 ms.
type rssSampler struct {
	pid  int
	stop chan struct{}
	wg   sync.WaitGroup
	peak int64 // written by the sampler, read after Stop
}

func sampleRSS(pid int) *rssSampler {
	s := &rssSampler{pid: pid, stop: make(chan struct{})}
	s.wg.Go(func() {
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			if m, err := readMemory(pid); err == nil {
				s.peak = max(s.peak, m.RSS)
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	})
	return s
}

// Stop ends sampling and returns the highest RSS seen.
func (s *rssSampler) Stop() int64 {
	close(s.stop)
	s.wg.Wait()
	return s.peak
}

// peakDuring resets pid's VmHWM, runs f, and returns the peak RSS while f
// ran: VmHWM when the kernel allows resetting it, else the sampled peak.
func peakDuring(pid int, f func()) (before, peak int64) {
	m, _ := readMemory(pid)
	before = m.RSS
	reset := resetPeak(pid) == nil
	s := sampleRSS(pid)
	f()
	peak = s.Stop()
	if m, err := readMemory(pid); reset && err == nil {
		peak = max(peak, m.HWM)
	}
	return before, peak
}

// largeResults measures big listinvoices results in each format, and a
// slow client reading a 200 MB one (simulator only: a real node has no
// such result to give).
func (b *bench) largeResults() error {
	if !b.node.Simulated() {
		b.table.add(row{Test: "large results", Notes: "simulator only (a real node has no 200 MB result to give)"})
		return nil
	}
	srv, err := b.startREST("http")
	if err != nil {
		return err
	}
	defer srv.Stop()
	client := &http.Client{Transport: srv.Transport(1), Timeout: 5 * time.Minute}
	cases := []download{
		{Format: "JSON", Size: 200e6},
		{Format: "JSON", Size: 200e6, Pace: 40e6},
		{Format: "JSON", Size: 20e6},
		{Format: "YAML", Size: 20e6},
		{Format: "XML", Size: 20e6},
		{Format: "form", Size: 20e6},
	}
	for _, d := range cases {
		var res downloadResult
		var ferr error
		before, peak := peakDuring(srv.PID, func() {
			res, ferr = fetch(context.Background(), client, srv, b.node.Rune(), d)
		})
		if ferr == nil {
			ferr = checkTail(d, res)
		}
		if ferr != nil {
			return ferr
		}
		if d.Format == "JSON" && d.Pace > 0 {
			b.slowPeakRSS = peak
		} else if d.Format == "JSON" && d.Size == 200e6 {
			b.jsonPeakRSS = peak
		}
		b.table.add(largeRow(d, res, before, peak))
		b.logf("%s: %s", largeName(d), largeRow(d, res, before, peak).Notes)
	}
	return nil
}

func largeName(d download) string {
	name := fmt.Sprintf("%d MB as %s", d.Size/1e6, d.Format)
	if d.Pace > 0 {
		name += fmt.Sprintf(", client reading %d MB/s", d.Pace/1e6)
	}
	return name
}

func largeRow(d download, res downloadResult, before, peak int64) row {
	mbps := float64(res.Bytes) / 1e6 / res.Total.Seconds()
	return row{
		Test: "listinvoices " + largeName(d), Proto: "http", Conc: 1,
		Notes: fmt.Sprintf("TTFB %s, total %s, %.1f MB sent (%.0f MB/s); clnrest RSS %s before, peak %s",
			durCell(res.TTFB), durCell(res.Total), float64(res.Bytes)/1e6, mbps, mb(before), mb(peak)),
	}
}

// checkTail checks that a document arrived whole: its last bytes are the
// ones its format ends with.
func checkTail(d download, res downloadResult) error {
	want := map[string]string{"JSON": "]}", "XML": "</listinvoices>", "YAML": "updated_index: ", "form": "[updated_index]="}[d.Format]
	if !strings.Contains(res.Tail, want) && !strings.HasSuffix(res.Tail, want) {
		return fmt.Errorf("listinvoices as %s: the document ends with %q; want it to end with %q", d.Format, res.Tail, want)
	}
	return nil
}
