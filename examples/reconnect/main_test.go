package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pushwire/pushwire/internal/leakcheck"
	"github.com/pushwire/pushwire/wsproto"
	"github.com/pushwire/pushwire/wsproto/frame"
	"github.com/pushwire/pushwire/wsproto/wsjson"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// TestFollow: against a server that restarts after every message, the
// client says hello on each connection and prints every message.
func TestFollow(t *testing.T) {
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(wsproto.Handler(nil, func(c *wsproto.Conn, r *http.Request) {
		var hello struct{ Text string }
		if err := wsjson.Read(r.Context(), c, &hello); err != nil || hello.Text != "hello again" {
			c.Close(frame.ClosePolicyViolation, "say hello")
			return
		}
		mu.Lock()
		n++
		msg := fmt.Sprintf("news %d", n)
		mu.Unlock()
		c.Write(r.Context(), wsproto.MessageText, []byte(msg))
		c.Close(frame.CloseServiceRestart, "restarting")
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second) // safety net
	defer cancel()
	var out bytes.Buffer
	var logs []string
	w := writerFunc(func(p []byte) (int, error) {
		out.Write(p)
		if strings.Count(out.String(), "\n") == 3 {
			cancel()
		}
		return len(p), nil
	})
	err := follow(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), w, func(f string, a ...any) { logs = append(logs, fmt.Sprintf(f, a...)) })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("follow = %v, want context.Canceled", err)
	}
	if got := out.String(); got != "news 1\nnews 2\nnews 3\n" {
		t.Errorf("printed %q, want news 1 to 3", got)
	}
	text := strings.Join(logs, "\n")
	for _, want := range []string{"connected, attempt 1", "connected, attempt 3", "disconnected (wsproto: closed: 1012 (service restart): restarting); next attempt in"} {
		if !strings.Contains(text, want) {
			t.Errorf("logs have no %q:\n%s", want, text)
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
