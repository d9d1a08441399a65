package main

import (
	"context"
	"fmt"
	"time"

	gws "github.com/gorilla/websocket"
)

// stayLoop keeps one Socket.IO client connected for the whole run,
// checking that the soak notifications arrive without a gap. A drop
// before the end is unexpected; the client then joins again.
func stayLoop(ctx context.Context, t *target, counts *counters) {
	for ctx.Err() == nil {
		s, err := t.dialSIO(ctx)
		if err != nil {
			if ctx.Err() == nil {
				counts.add("unexpected: Socket.IO connect failed", 1)
				pause(ctx, time.Second)
			}
			continue
		}
		counts.add("socket.io joins", 1)
		err = s.follow(ctx, counts)
		s.c.Close()
		if ctx.Err() == nil {
			counts.add(fmt.Sprintf("unexpected: Socket.IO client dropped: %v", err), 1)
		}
	}
}

// follow reads until the connection ends, counting soak notifications
// and reporting a gap in their numbers as lost.
func (s *sioConn) follow(ctx context.Context, counts *counters) error {
	stop := context.AfterFunc(ctx, func() { s.c.Close() })
	defer stop()
	next := -1
	for {
		p, err := s.read()
		if err != nil {
			return err
		}
		seq, ok := soakSeq(p)
		if !ok {
			continue // invoice_creation and the like
		}
		if next >= 0 && seq != next {
			counts.add("unexpected: Socket.IO notifications lost or out of order", 1)
		}
		next = seq + 1
		counts.add("notifications received", 1)
	}
}

// churnLoop connects a client every half second, waits for one
// notification and leaves: half of them say goodbye (DISCONNECT), half
// just drop the connection.
func churnLoop(ctx context.Context, t *target, counts *counters) {
	for i := 0; ctx.Err() == nil; i++ {
		pause(ctx, 500*time.Millisecond)
		if ctx.Err() != nil {
			return
		}
		s, err := t.dialSIO(ctx)
		if err != nil {
			if ctx.Err() == nil {
				counts.add("unexpected: Socket.IO connect failed", 1)
			}
			continue
		}
		counts.add("socket.io joins", 1)
		_ = s.c.SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			p, err := s.read()
			if err != nil {
				if ctx.Err() == nil {
					counts.add("unexpected: churning Socket.IO client got nothing", 1)
				}
				break
			}
			if _, ok := soakSeq(p); ok {
				break
			}
		}
		if i%2 == 0 {
			_ = s.c.WriteMessage(gws.TextMessage, []byte("41"))
		}
		s.c.Close()
	}
}
