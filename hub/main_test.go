package hub

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain fails the run if goroutines started by the tests (readers,
// publishers, benchmark subscribers) are still alive when all tests end.
func TestMain(m *testing.M) {
	before := len(goroutines())
	code := m.Run()
	if code == 0 {
		if err := checkGoroutines(before, 5*time.Second); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// goroutines returns the stacks of the running goroutines, without the
// caller's and those that the runtime and the testing package keep for
// themselves (the signal handler the fuzzing coordinator installs).
func goroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var gs []string
	for i, g := range strings.Split(string(buf), "\n\n") {
		if i == 0 || strings.Contains(g, "os/signal.signal_recv") {
			continue
		}
		gs = append(gs, g)
	}
	return gs
}

// checkGoroutines polls until no more than want goroutines run, or gives
// up after patience with an error that lists them.
func checkGoroutines(want int, patience time.Duration) error {
	deadline := time.Now().Add(patience)
	for {
		gs := goroutines()
		if len(gs) <= want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("goroutine leak: %d goroutines, want at most %d:\n\n%s", len(gs), want, strings.Join(gs, "\n\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
