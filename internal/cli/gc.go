package cli

import (
	"os"
	"runtime/debug"
)

// serverGCPercent is the collector's target (GOGC) of `pushwire echo` and
// `pushwire serve` when the environment sets neither GOGC nor GOMEMLIMIT.
// A server of mostly idle connections keeps a live heap that grows slowly
// (about 1.4 KB per parked WebSocket) while every connection's handshake
// leaves garbage behind (net/http's buffers, the request); at GOGC=100 the
// heap may grow to twice the live heap before a collection, and that
// headroom was half of the resident memory per idle connection. At 50 the
// headroom is half as large (see ARCHITECTURE.md, "Idle connections"). It
// costs collections only where the program allocates: the echo allocates
// nothing per message, so its message throughput does not change; a
// connection storm and serve's publishing run the collector more often.
const serverGCPercent = 50

// setServerGC sets the collector's target of a server command to
// serverGCPercent unless the operator chose one (GOGC) or a memory limit
// (GOMEMLIMIT, under which the collector paces itself), and returns the
// function that restores the setting before (commands run inside tests).
func setServerGC() (restore func()) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	old := debug.SetGCPercent(serverGCPercent)
	return func() { debug.SetGCPercent(old) }
}
