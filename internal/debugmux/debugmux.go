// Package debugmux is the debug endpoint of the processes that are
// measured (pushwire serve and echo with -debug-addr, the peers'
// benchmark servers): expvar at /debug/vars, with a goroutines variable
// beside memstats and cmdline, and pprof at /debug/pprof/. Serve it on
// loopback only: profiles reveal the process.
package debugmux

import (
	"expvar"
	"net/http"
	"net/http/pprof"
	"runtime"
	"sync"
)

var publishGoroutines sync.Once

// New returns a mux with the debug endpoint; callers may add routes of
// their own. The goroutines variable is published in expvar's global set
// once per process.
func New() *http.ServeMux {
	publishGoroutines.Do(func() {
		expvar.Publish("goroutines", expvar.Func(func() any { return runtime.NumGoroutine() }))
	})
	mux := http.NewServeMux()
	mux.Handle("/debug/vars", expvar.Handler())
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
