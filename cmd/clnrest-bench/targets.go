package main

import (
	"fmt"
	"io"
	"time"
)

// printTargets checks the targets against what the run measured;
// a target whose phase did not run is left out.
func (b *bench) printTargets(w io.Writer) {
	fmt.Fprintln(w, "Targets:")
	if b.node.Simulated() {
		b.ratioTarget(w)
		b.latencyTarget(w)
		if b.jsonPeakRSS > 0 {
			fmt.Fprintf(w, "- peak RSS streaming 200 MB of JSON ≤ 64 MB: %s (fast client), %s (slow client): %s\n",
				mb(b.jsonPeakRSS), mb(b.slowPeakRSS), verdict(max(b.jsonPeakRSS, b.slowPeakRSS) <= 64e6))
		}
		if b.isolationP99[0] > 0 {
			fmt.Fprintf(w, "- isolation: getinfo p99 %s alone, %s beside a blocked waitanyinvoice and a 200 MB download\n",
				durCell(b.isolationP99[0]), durCell(b.isolationP99[1]))
		}
	} else {
		b.realTarget(w)
	}
	if b.idleRSS > 0 {
		fmt.Fprintf(w, "- idle RSS ≤ 30 MB: %s: %s\n", mb(b.idleRSS), verdict(b.idleRSS <= 30e6))
	}
	if b.burstRan {
		fmt.Fprintf(w, "- burst of %d clients without errors: %d errors: %s\n", burstClients, b.burstErrors, verdict(b.burstErrors == 0))
	}
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

// ratioTarget: REST/direct at concurrency 64 over http ≥ 0.6.
func (b *bench) ratioTarget(w io.Writer) {
	direct, ok := b.results[rowKey(directPairRow, "unix", 64)]
	if !ok {
		return
	}
	for _, client := range []string{restNetHTTP, restRawClient} {
		if rest, ok := b.results[rowKey(client, "http", 64)]; ok {
			r := rest.Rate() / direct.Rate()
			fmt.Fprintf(w, "- REST/direct at concurrency 64 over http ≥ 0.6, %s: %.2f: %s\n", client, r, verdict(r >= 0.6))
		}
	}
	if relay, ok := b.results[rowKey(relayRow, "http", 64)]; ok {
		fmt.Fprintf(w, "  (for reference, the %s: %.2f)\n", relayRow, relay.Rate()/direct.Rate())
	}
}

// latencyTarget: p50 at concurrency 1 over http at most 100 µs above the
// direct pair's.
func (b *bench) latencyTarget(w io.Writer) {
	direct, ok := b.results[rowKey(directPairRow, "unix", 1)]
	if !ok {
		return
	}
	for _, client := range []string{restNetHTTP, restRawClient} {
		if rest, ok := b.results[rowKey(client, "http", 1)]; ok {
			added := rest.Percentile(50) - direct.Percentile(50)
			fmt.Fprintf(w, "- added p50 latency at concurrency 1 over http ≤ 100 µs, %s: %s (%s − %s): %s\n", client,
				durCell(added), durCell(rest.Percentile(50)), durCell(direct.Percentile(50)), verdict(added <= 100*time.Microsecond))
		}
	}
	if relay, ok := b.results[rowKey(relayRow, "http", 1)]; ok {
		fmt.Fprintf(w, "  (for reference, the %s: %s)\n", relayRow, durCell(relay.Percentile(50)-direct.Percentile(50)))
	}
}

// realTarget: against a real lightningd, REST ≥ 90% of the direct pair.
func (b *bench) realTarget(w io.Writer) {
	for _, c := range b.set.concurrency {
		for _, client := range []string{restNetHTTP, restRawClient} {
			for _, proto := range []string{"http", "https"} {
				directProto := "unix"
				if proto != "http" {
					directProto = "unix/" + proto
				}
				direct, ok := b.results[rowKey(directPairRow, directProto, c)]
				if !ok {
					continue
				}
				if rest, ok := b.results[rowKey(client, proto, c)]; ok {
					r := rest.Rate() / direct.Rate()
					fmt.Fprintf(w, "- REST ≥ 90%% of the direct pair, concurrency %d, %s, %s: %.0f%%: %s\n", c, proto, client, 100*r, verdict(r >= 0.9))
				}
			}
		}
	}
}
