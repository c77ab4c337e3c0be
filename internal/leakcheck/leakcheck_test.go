package leakcheck

import (
	"strings"
	"testing"
	"time"
)

// Leaked sees a goroutine that does not end, and not once it has ended.
func TestLeakedSeesGoroutines(t *testing.T) {
	stop := make(chan struct{})
	started := make(chan struct{})
	go func() {
		close(started)
		<-stop
	}()
	<-started
	leaked := Leaked(0)
	if !strings.Contains(strings.Join(leaked, "\n"), "TestLeakedSeesGoroutines") {
		t.Errorf("Leaked(0) = %q, want the stack of the blocked goroutine", leaked)
	}
	close(stop)
	if leaked := Leaked(5 * time.Second); len(leaked) != 0 {
		t.Errorf("Leaked after the goroutine ended = %q, want none", leaked)
	}
}
