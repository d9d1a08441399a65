package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// isolationConc is the concurrency of the getinfo clients in the
// isolation phase: a steady load well below saturation, so that their
// latency shows interference rather than queueing.
const isolationConc = 4

// isolation measures getinfo latency alone, then while one client waits
// in a 30 s waitanyinvoice and another downloads a 200 MB result at a
// slow client's pace (simulator only).
func (b *bench) isolation() error {
	if !b.node.Simulated() {
		b.table.add(row{Test: "isolation", Notes: "simulator only (needs the simulator's blocking waitanyinvoice and 200 MB listinvoices)"})
		return nil
	}
	srv, err := b.startREST("http")
	if err != nil {
		return err
	}
	defer srv.Stop()
	measure := func(test, notes string) loadResult {
		tr := srv.Transport(isolationConc)
		defer tr.CloseIdleConnections()
		client := &http.Client{Transport: tr, Timeout: time.Minute}
		res := runLoad(loadSpec{Concurrency: isolationConc, Warmup: b.set.warmup, Duration: b.set.duration,
			MaxRequests: maxRowRequests, PIDs: b.pids(srv.PID),
			NewClient: func(int) request { return restGetinfo(client, srv.Base, b.node.Rune()) }})
		b.table.add(row{Measured: true, Test: test, Proto: "http", Conc: isolationConc, Rate: res.Rate(), P50: res.Percentile(50),
			P99: res.Percentile(99), CPU: res.CPUPerRequest(0), NodeCPU: b.nodeCPU(res), LoadCPU: loadCPU(res), Errors: res.errorSummary(), Notes: notes})
		b.logf("%s: p50 %s p99 %s", test, durCell(res.Percentile(50)), durCell(res.Percentile(99)))
		return res
	}
	alone := measure("isolation: getinfo alone", "")
	bg := b.startBackground(srv)
	time.Sleep(500 * time.Millisecond) // both background requests under way
	loaded := measure("isolation: getinfo + background", "")
	waited, dl := bg.wait()
	b.table.rows[len(b.table.rows)-1].Notes = fmt.Sprintf("meanwhile: waitanyinvoice %s; 200 MB download at 20 MB/s %s", waited, dl)
	b.isolationP99 = [2]time.Duration{alone.Percentile(99), loaded.Percentile(99)}
	return nil
}

// background is the two long requests of the isolation phase.
type background struct {
	wg       sync.WaitGroup
	cancel   context.CancelFunc
	waitNote string
	dlNote   string
}

// startBackground starts waitanyinvoice (30 s) and a paced 200 MB
// download, each on its own connection.
func (b *bench) startBackground(srv *restServer) *background {
	ctx, cancel := context.WithCancel(context.Background())
	bg := &background{cancel: cancel}
	bg.wg.Go(func() {
		client := &http.Client{Transport: srv.Transport(1), Timeout: time.Minute}
		start := time.Now()
		req, _ := http.NewRequest(http.MethodPost, srv.Base+"/v1/waitanyinvoice", strings.NewReader(`{"timeout":30}`))
		req.Header.Set("Rune", b.node.Rune())
		res, err := client.Do(req)
		if err != nil {
			bg.waitNote = "failed: " + err.Error()
			return
		}
		res.Body.Close()
		bg.waitNote = fmt.Sprintf("answered %d after %s", res.StatusCode, durCell(time.Since(start)))
	})
	bg.wg.Go(func() {
		client := &http.Client{Transport: srv.Transport(1), Timeout: 5 * time.Minute}
		res, err := fetch(ctx, client, srv, b.node.Rune(), download{Format: "JSON", Size: 200e6, Pace: 20e6})
		switch {
		case ctx.Err() != nil:
			bg.dlNote = fmt.Sprintf("still running at the end of the measurement (%.0f MB read)", float64(res.Bytes)/1e6)
		case err != nil:
			bg.dlNote = "failed: " + err.Error()
		default:
			bg.dlNote = fmt.Sprintf("complete (%.0f MB in %s)", float64(res.Bytes)/1e6, durCell(res.Total))
		}
	})
	return bg
}

// wait stops the download and waits for waitanyinvoice to answer.
func (bg *background) wait() (waitNote, dlNote string) {
	bg.cancel()
	bg.wg.Wait()
	return bg.waitNote, bg.dlNote
}
