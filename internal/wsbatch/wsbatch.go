// Package wsbatch turns on the coalescing of replies on a wsproto.Conn, for
// a reader that answers each message as it reads it (internal/wsecho):
// while more input is already buffered, a short reply is held back and
// sent with the next ones in one write(2), which the Conn makes before its
// reader waits for input, so a lone message is answered at once. It is
// internal so that wsproto's exported API does not grow: wsproto registers
// its side at init (wsproto/coalesce.go), and this package imports nothing
// of wsproto.
//
// # Contract
//
// Enable is called by the connection's reader before it reads. From then
// on the reader must come back to Read (or call Flush) after each message
// it was given, without waiting for anything else: replies held back go
// out at the latest when Read finds no more buffered input. Before the
// reader stops reading without calling Read (it parks the connection with
// internal/wsidle, or returns), it calls Flush. Writes from other
// goroutines, Close and CloseNow stay allowed at any time; a frame that is
// not a short data message (a close frame, a ping, a long message) is
// written at once, after what was held back.
package wsbatch

// Hooks are wsproto's side of the package: functions of a *wsproto.Conn,
// passed as any.
type Hooks struct {
	// Enable turns on the coalescing of c's replies; it does nothing on
	// a client connection or a member of a Group.
	Enable func(c any)
	// Flush writes what was held back when c has no more input
	// buffered, and returns the error that ended c if that write failed.
	Flush func(c any) error
}

var hooks Hooks

// Register sets the hooks; wsproto calls it at init.
func Register(h Hooks) { hooks = h }

// Enable turns on the coalescing of the replies of c, a *wsproto.Conn.
func Enable(c any) {
	if hooks.Enable != nil {
		hooks.Enable(c)
	}
}

// Flush sends the replies of c held back, if c has no more input
// buffered; with input buffered they wait for the reader's next Read.
func Flush(c any) error {
	if hooks.Flush != nil {
		return hooks.Flush(c)
	}
	return nil
}
