// Package netpoll tells a server when its connections become readable,
// without a goroutine per connection: the base of pushwire's idle
// connections, which hold memory but no goroutine until their peer sends
// something or hangs up.
//
//	w, err := netpoll.Default().Watch(conn, func(ev netpoll.Event) {
//		// conn is readable, or its peer hung up: read what is there
//		// (TryRead), hand the work to a goroutine, or Arm again.
//	})
//	if err != nil {
//		// not a socket this works on (TLS, HTTP/2 stream, pipe):
//		// keep a goroutine reading instead
//	}
//	w.Arm()       // one callback, at the next readiness
//	...
//	w.Stop()      // before conn.Close
//
// # Contract
//
// A Watch is one connection, registered with Poller.Watch; it must be a
// socket whose SyscallConn gives the descriptor (*net.TCPConn,
// *net.UnixConn), else Watch returns an error wrapping ErrUnsupported. The
// watch is one-shot: Arm asks for one callback, which runs once the
// connection is readable — data arrived, the peer closed its side
// (EOF), or an error is pending, each of which a read reports — or at
// once if it already is. The callback's Event says which: Readable, and
// HangUp as well when the peer shut down its side or the connection
// failed. After the callback the watch is disarmed; call Arm again
// (from the callback or anywhere else) for the next one. A callback can be
// spurious: a read may still find nothing (ErrWouldBlock from TryRead),
// and the owner arms again.
//
// Callbacks of one watch never run concurrently with each other: an Arm
// and a readiness during a callback lead to the next callback after it
// returns. Callbacks of different watches run concurrently, on the
// poller's workers (Options.Workers, GOMAXPROCS by default). A callback
// must not block for long, since it holds a worker: read what is there
// without waiting (TryRead), decide, and hand anything that may block (a
// write to a slow peer, a call into the application) to a goroutine.
//
// Stop ends the watch: no callback starts after it returns; one that is
// running may still be running. Stop before closing the connection. If
// the connection is closed first the watch ends anyway (the kernel drops
// a closed descriptor from the set, and the watch never touches a
// descriptor number that may have been reused: every epoll_ctl runs
// inside RawConn.Control, which fails once the connection is closed);
// Stop then only releases the bookkeeping. Every Watch must be stopped.
//
// Go's own netpoller keeps the descriptor: it stays non-blocking and
// registered with the runtime, deadlines work, and every read and write
// goes through the net.Conn or its RawConn (TryRead is RawConn.Read with a
// function that never waits). This package only adds the descriptor to an
// epoll set of its own, with EPOLLONESHOT, and never reads, writes or
// closes it itself.
//
// # Implementations
//
// On Linux, one epoll instance per Poller, created when the first watch
// is made and closed when the last one stops: watches are added with
// EPOLLIN|EPOLLRDHUP|EPOLLONESHOT (re-armed with EPOLL_CTL_MOD, which
// reports a descriptor that is already readable at once), the event data
// carries a slot number and a generation (never a pointer, never the
// descriptor), and one dispatching goroutine waits for the epoll
// descriptor itself through Go's netpoller (the epoll descriptor is
// readable when it has events), so no thread is blocked in epoll_wait. It
// hands the ready watches to the workers.
//
// Elsewhere, and with Options.Portable, each armed watch has a goroutine
// waiting in RawConn.Read for the connection's readiness (Go's netpoller:
// kqueue, IOCP, epoll): its function checks readiness with a
// non-blocking one-byte MSG_PEEK, which neither consumes nor waits (the
// check is needed because RawConn.Read forgets a readiness that came
// before it was called); on Windows RawConn.Read waits with a zero-byte
// read. The goroutine ends at the readiness, or when the connection is
// closed; a watch stopped while armed keeps it until then. The callbacks
// run on the workers as on Linux.
//
// # Concurrency
//
// Poller, Watch and their methods are safe for concurrent use. A poller
// has goroutines only while it has watches: the dispatcher (Linux) and up
// to Options.Workers workers, started as needed; they end when the last
// watch stops. Default returns one poller for the process.
//
// # Limits
//
// A watch costs one 64-byte object (TestWatchSmall), the 8-byte RawConn of
// its connection and a slot in the poller's table (Linux: 12 bytes), and,
// in the kernel, one epoll item (about 160 bytes on Linux) beside the
// socket; no goroutine and no buffer. Watch's f, when it is a method value,
// is one more allocation of 16 bytes; WatchHandler with a pointer the
// caller keeps anyway avoids it. The
// dispatcher takes at most 256 events per epoll_wait. A callback queued
// behind busy workers waits for one: the queue holds each watch at most
// once.
//
// # Security
//
// Readiness says only that the peer did something; what it sent is read
// and judged by the owner. A peer that keeps sending costs one callback
// per readiness, each bounded by what the owner reads. The descriptor of
// a closed connection is never passed to epoll_ctl (see Contract), so a
// reused descriptor number cannot be misdirected.
package netpoll
