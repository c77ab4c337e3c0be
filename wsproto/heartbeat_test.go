package wsproto

import (
	"context"
	"errors"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pushwire/pushwire/wsproto/frame"
)

// readUntilError reads c until a read fails and returns that error.
func readUntilError(c *Conn) <-chan error {
	errc := make(chan error, 1)
	go func() {
		var buf []byte
		for {
			_, msg, err := c.Read(context.Background(), buf)
			if err != nil {
				errc <- err
				return
			}
			buf = msg
		}
	}()
	return errc
}

// TestHeartbeatKeepsLivePeer: a server with heartbeats pings a client that
// reads (and so answers), many times over, and the connection stays open.
func TestHeartbeatKeepsLivePeer(t *testing.T) {
	var pings atomic.Int32
	server, client := pair(t,
		&AcceptOptions{PingInterval: 20 * time.Millisecond, PongTimeout: 2 * time.Second},
		&DialOptions{OnPing: func([]byte) { pings.Add(1) }})
	serverErr := readUntilError(server)
	clientErr := readUntilError(client)
	deadline := time.Now().Add(10 * time.Second) // safety net
	for pings.Load() < 10 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := pings.Load(); n < 10 {
		t.Fatalf("client saw %d pings in 10 s, want at least 10", n)
	}
	if s := server.State(); s != StateOpen {
		t.Fatalf("server state after %d answered pings = %v, want OPEN", pings.Load(), s)
	}
	server.Close(frame.CloseNormal, "")
	<-serverErr
	<-clientErr
}

// TestHeartbeatClosesDeadPeer: a peer that does not answer pings (nothing
// reads on its side, so its pongs never go out) is closed, and the reads
// of the side with heartbeats say why.
func TestHeartbeatClosesDeadPeer(t *testing.T) {
	for _, side := range []string{"server", "client"} {
		t.Run(side, func(t *testing.T) {
			hb := 30 * time.Millisecond
			var ao *AcceptOptions
			var do *DialOptions
			if side == "server" {
				ao = &AcceptOptions{PingInterval: hb, PongTimeout: hb}
			} else {
				do = &DialOptions{PingInterval: hb, PongTimeout: hb}
			}
			server, client := pair(t, ao, do)
			pinger := server
			if side == "client" {
				pinger = client
			}
			start := time.Now()
			var err error
			select {
			case err = <-readUntilError(pinger):
			case <-time.After(10 * time.Second): // safety net
				t.Fatal("the connection to a peer that answers no ping is still open after 10 s")
			}
			var ce frame.CloseError
			if !errors.As(err, &ce) || ce.Code != frame.CloseAbnormal || !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("read error = %v, want a CloseError 1006 wrapping os.ErrDeadlineExceeded", err)
			}
			if pinger.State() != StateClosed {
				t.Errorf("state = %v, want CLOSED", pinger.State())
			}
			pinger.hb.mu.Lock()
			stopped := pinger.hb.stopped
			pinger.hb.mu.Unlock()
			if !stopped {
				t.Error("the heartbeat's timer still runs after the close")
			}
			t.Logf("closed %v after the start, interval and timeout %v", time.Since(start).Round(time.Millisecond), hb)
		})
	}
}

// TestHeartbeatStopsOnClose: closing a connection stops its timer.
func TestHeartbeatStopsOnClose(t *testing.T) {
	server, _ := pair(t, &AcceptOptions{PingInterval: time.Hour}, nil)
	if server.hb == nil {
		t.Fatal("no heartbeat with PingInterval set")
	}
	if server.hb.timeout != time.Hour {
		t.Errorf("default PongTimeout = %v, want PingInterval (1h)", server.hb.timeout)
	}
	server.CloseNow()
	server.hb.mu.Lock()
	stopped := server.hb.stopped
	server.hb.mu.Unlock()
	if !stopped {
		t.Error("heartbeat not stopped by CloseNow")
	}
	if server.hb.t.Stop() {
		t.Error("heartbeat timer was still pending after CloseNow")
	}
}

// TestNoHeartbeatByDefault: without PingInterval there is no timer.
func TestNoHeartbeatByDefault(t *testing.T) {
	server, client := pair(t, nil, nil)
	if server.hb != nil || client.hb != nil {
		t.Fatal("heartbeat started without PingInterval")
	}
}
