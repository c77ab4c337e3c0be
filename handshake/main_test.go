package handshake

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain fails the run if a goroutine started by the tests (a fake
// server, an HTTP connection) outlives them.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 && !fuzzing() {
		if err := checkLeaks(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// fuzzing reports whether this process is a fuzzing coordinator or
// worker, where the fuzz engine's own goroutines run the targets.
func fuzzing() bool {
	for _, name := range []string{"test.fuzz", "test.fuzzworker"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" && f.Value.String() != "false" {
			return true
		}
	}
	return false
}

func checkLeaks() error {
	// The wait is a safety net for goroutines that are on their way out,
	// not a timing assertion.
	deadline := time.Now().Add(5 * time.Second)
	for {
		leaked := leakedGoroutines()
		if len(leaked) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("leaked goroutines:\n\n%s", strings.Join(leaked, "\n\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func leakedGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var leaked []string
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, "handshake.leakedGoroutines") {
			continue // this one
		}
		if strings.Contains(g, "pushwire/pushwire/handshake.") || strings.Contains(g, "net/http.(*conn).serve") {
			leaked = append(leaked, g)
		}
	}
	return leaked
}

// asType is errors.As returning the match, for tests.
func asType[T error](err error) (T, bool) {
	var t T
	ok := errors.As(err, &t)
	return t, ok
}
