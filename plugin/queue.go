package plugin

import (
	"encoding/json"
	"sync"
)

// queue holds notifications between the stdin reader and their consumer.
// It has no bound on purpose: the reader must never wait for a slow
// consumer (lightningd would stall writing to us), and a notification
// must never be dropped. Consumers that can be slow, such as Socket.IO
// clients, bound their own queues.
type queue struct {
	mu     sync.Mutex // protects items and closed
	cond   *sync.Cond
	items  []queued
	head   int
	closed bool
}

type queued struct {
	topic  string
	params json.RawMessage
}

func newQueue() *queue {
	q := &queue{}
	q.cond = sync.NewCond(&q.mu)
	return q
}

func (q *queue) push(topic string, params json.RawMessage) {
	q.mu.Lock()
	q.items = append(q.items, queued{topic, params})
	q.mu.Unlock()
	q.cond.Signal()
}

// pop waits for the next notification. After close it still returns what
// was queued, then reports false.
func (q *queue) pop() (queued, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.head == len(q.items) && !q.closed {
		q.cond.Wait()
	}
	if q.head == len(q.items) {
		return queued{}, false
	}
	n := q.items[q.head]
	q.items[q.head] = queued{}
	q.head++
	if q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	}
	return n, true
}

func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
}
