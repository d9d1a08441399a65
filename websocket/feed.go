package websocket

import "sync"

// feed is the log of encoded notifications that every client reads at
// its own cursor. A notification is held once, however many clients
// still have to send it, so that a burst which clients drain more slowly
// than lightningd produces it costs its own size rather than its size
// times the number of clients. Entries every client has passed are
// dropped; the hub bounds the rest by disconnecting clients that fall
// too far behind.
type feed struct {
	mu      sync.Mutex // protects packets, first and bytes
	packets []string   // packets[i] has sequence number first+i
	first   uint64
	bytes   int64 // total length of packets
}

// head is the sequence number the next packet will get.
func (f *feed) head() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.first + uint64(len(f.packets))
}

// append adds packet and returns the new head.
func (f *feed) append(packet string) uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.packets = append(f.packets, packet)
	f.bytes += int64(len(packet))
	return f.first + uint64(len(f.packets))
}

// read appends to dst the packets from sequence number from on, at most
// max of them, and returns the sequence number after the last one. ok is
// false when from was already dropped: the client fell behind.
func (f *feed) read(from uint64, max int, dst []string) (out []string, next uint64, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if from < f.first {
		return dst, from, false
	}
	i := int(from - f.first)
	if i > len(f.packets) {
		return dst, from, true // a cursor from before a reset; nothing to read
	}
	n := min(max, len(f.packets)-i)
	dst = append(dst, f.packets[i:i+n]...)
	return dst, from + uint64(n), true
}

// trim drops the packets before sequence number keep, and then the
// oldest ones while more than maxBytes are held. It returns the first
// sequence number still held: clients whose cursor is before it have
// lost notifications and must be ended.
func (f *feed) trim(keep uint64, maxBytes int64) uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	if keep > f.first {
		n = int(min(keep-f.first, uint64(len(f.packets))))
	}
	for _, p := range f.packets[:n] {
		f.bytes -= int64(len(p))
	}
	for n < len(f.packets) && f.bytes > maxBytes {
		f.bytes -= int64(len(f.packets[n]))
		n++
	}
	if n == 0 {
		return f.first
	}
	clear(f.packets[:n])
	f.packets = f.packets[n:]
	f.first += uint64(n)
	if len(f.packets) == 0 {
		f.packets = nil // let go of the backing array after a burst
	}
	return f.first
}
