// Package leakcheck finds goroutines that a test binary left behind.
//
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { leakcheck.Main(m) }
package leakcheck

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
)

// Main runs the tests and then fails the binary if goroutines other than
// the runtime's and the testing package's are still running after a grace
// period of a few seconds, printing their stacks.
func Main(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := Leaked(5 * time.Second); len(leaked) > 0 {
			fmt.Fprintf(os.Stderr, "leakcheck: %d goroutine(s) left behind:\n\n%s\n", len(leaked), strings.Join(leaked, "\n\n"))
			code = 1
		}
	}
	os.Exit(code)
}

// Leaked waits up to grace for stray goroutines to end and returns the
// stacks of those still running.
func Leaked(grace time.Duration) []string {
	deadline := time.Now().Add(grace)
	for {
		leaked := stray()
		if len(leaked) == 0 || time.Now().After(deadline) {
			return leaked
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stray returns the stacks of goroutines that are not part of the runtime
// or the test framework.
func stray() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if benign(g) {
			continue
		}
		out = append(out, g)
	}
	sort.Strings(out)
	return out
}

// benignFrames mark goroutines of the runtime and the testing package.
var benignFrames = []string{
	"leakcheck.stray(",
	"testing.(*M).",
	"testing.tRunner(",
	"testing.runTests(",
	"testing.(*T).Run(",
	"testing.(*F).Fuzz(",
	"testing.runFuzzTests(",
	"os/signal.signal_recv",
	"os/signal.loop",
	"runtime.ensureSigM",
	// net/http's idle keep-alive connections end on their own; not ours.
	"net/http.(*persistConn)",
	"net/http.(*Transport).dialConnFor",
}

func benign(stack string) bool {
	for _, s := range benignFrames {
		if strings.Contains(stack, s) {
			return true
		}
	}
	return false
}
