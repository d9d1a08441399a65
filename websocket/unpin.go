package websocket

import (
	"reflect"
	"runtime"
	"unsafe"

	"github.com/zishang520/socket.io/v3/pkg/queue"
)

// The Socket.IO library gives every socket and every transport a task
// queue (pkg/queue) with a finalizer, and the queue points to itself
// (its sync.Cond locks the queue's own mutex). Go never frees an object
// with a finalizer that is reachable from itself, so each queue, with
// its 8 KiB task array, stays in memory for ever: about 20 KB for every
// Socket.IO session that ever connected. The finalizer only closes the
// queue, which is closed already once the socket has disconnected, so
// unpinQueue removes it then and the garbage collector can free the
// queue. The fields are unexported; a library version without them is
// left alone (and TestChurnedClientsAreFreed notices the leak).
var queueType = reflect.TypeOf((*queue.Queue)(nil))

// unpinQueue clears the finalizer of the *queue.Queue in field of the
// struct v points to, if there is one.
func unpinQueue(v any, field string) {
	f := libraryField(v, field, queueType)
	if f == nil {
		return
	}
	if q := *(**queue.Queue)(f); q != nil {
		runtime.SetFinalizer(q, nil)
	}
}

// libraryField returns the address of the field named name, of type t,
// of the struct v points to; nil when v is not a pointer to a struct
// with such a field (another library version). It is how the
// workarounds here reach the library's unexported state.
func libraryField(v any, name string, t reflect.Type) unsafe.Pointer {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return nil
	}
	f := rv.Elem().FieldByName(name)
	if !f.IsValid() || f.Type() != t || !f.CanAddr() {
		return nil
	}
	return unsafe.Pointer(f.UnsafeAddr())
}
