package sseproto

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain fails the run if the tests leave goroutines behind: every
// goroutine that exists after the tests and did not exist before them is a
// leak, once idle HTTP keep-alive connections are closed and a few seconds
// have passed for the rest to exit.
func TestMain(m *testing.M) {
	before := goroutineIDs(allStacks())
	code := m.Run()
	if code == 0 {
		if leaked := waitForLeaks(before, 5*time.Second); leaked != "" {
			fmt.Fprintf(os.Stderr, "goroutines leaked by the tests:\n\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// waitForLeaks returns the stacks of goroutines not in before, polling
// until there are none or the time is up.
func waitForLeaks(before map[string]bool, wait time.Duration) string {
	deadline := time.Now().Add(wait)
	for {
		if t, ok := http.DefaultTransport.(*http.Transport); ok {
			t.CloseIdleConnections()
		}
		var leaked []string
		for _, g := range strings.Split(allStacks(), "\n\n") {
			id := goroutineID(g)
			// os/signal's loop is started, for good, by the fuzzing
			// coordinator's signal.Notify.
			if id == "" || before[id] || strings.Contains(g, "os/signal.loop") {
				continue
			}
			leaked = append(leaked, g)
		}
		if len(leaked) == 0 || time.Now().After(deadline) {
			return strings.Join(leaked, "\n\n")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func allStacks() string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return string(buf[:n])
		}
		buf = make([]byte, 2*len(buf))
	}
}

// goroutineID returns N from a stack that starts "goroutine N [".
func goroutineID(stack string) string {
	rest, ok := strings.CutPrefix(stack, "goroutine ")
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, " ")
	return id
}

func goroutineIDs(stacks string) map[string]bool {
	ids := make(map[string]bool)
	for _, g := range strings.Split(stacks, "\n\n") {
		if id := goroutineID(g); id != "" {
			ids[id] = true
		}
	}
	return ids
}

// The current goroutine is always in both snapshots; make sure the helper
// itself sees a goroutine that does not end.
func TestLeakCheckSeesGoroutines(t *testing.T) {
	before := goroutineIDs(allStacks())
	stop := make(chan struct{})
	started := make(chan struct{})
	go func() {
		close(started)
		<-stop
	}()
	<-started
	leaked := waitForLeaks(before, 0)
	close(stop)
	if !bytes.Contains([]byte(leaked), []byte("TestLeakCheckSeesGoroutines")) {
		t.Errorf("waitForLeaks(before, 0) = %q, want the stack of the blocked goroutine", leaked)
	}
}
