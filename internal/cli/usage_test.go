package cli

import (
	"context"
	"strings"
	"testing"
)

// TestStrayArguments checks that every command refuses arguments it does
// not take with exit code 2 and a line naming the argument, before it
// listens, dials or runs anything.
func TestStrayArguments(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "extra"},
		{"echo", "-addr", "127.0.0.1:0", "extra"},
		{"conform", "server", "extra"},
		{"conform", "client", "extra"},
		{"conform", "sse-server", "extra"},
		{"conform", "sse-client", "extra"},
	} {
		var stdout, stderr strings.Builder
		code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr, &Config{})
		if code != 2 || !strings.Contains(stderr.String(), `unexpected argument "extra"`) {
			t.Errorf("pushwire %s = %d, stderr %q; want 2 and the unexpected argument", strings.Join(args, " "), code, stderr.String())
		}
	}
	for _, args := range [][]string{{"sse"}, {"sse", "a", "b"}, {"ws"}, {"ws", "a", "b"}} {
		var stdout, stderr strings.Builder
		code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr, &Config{})
		if code != 2 || !strings.Contains(stderr.String(), "usage: pushwire "+args[0]) {
			t.Errorf("pushwire %s = %d, stderr %q; want 2 and the usage", strings.Join(args, " "), code, stderr.String())
		}
	}
}
