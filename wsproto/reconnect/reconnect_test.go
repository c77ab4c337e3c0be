package reconnect

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pushwire/pushwire/handshake"
	"github.com/pushwire/pushwire/internal/leakcheck"
	"github.com/pushwire/pushwire/wsproto"
	"github.com/pushwire/pushwire/wsproto/frame"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// kicker is a server that sends "hello N" on its Nth connection and then
// closes it with 1012 (service restart); the close codes it reads back are
// recorded.
type kicker struct {
	srv   *httptest.Server
	url   string
	n     atomic.Int32
	mu    sync.Mutex
	codes []frame.CloseCode
	hold  time.Duration // keep each connection open this long first
}

func newKicker(t *testing.T, hold time.Duration) *kicker {
	k := &kicker{hold: hold}
	k.srv = httptest.NewServer(wsproto.Handler(nil, func(c *wsproto.Conn, r *http.Request) {
		n := k.n.Add(1)
		c.Write(r.Context(), wsproto.MessageText, fmt.Appendf(nil, "hello %d", n))
		if k.hold > 0 {
			ctx, cancel := context.WithTimeout(r.Context(), k.hold)
			_, _, err := c.Read(ctx, nil)
			cancel()
			var ce frame.CloseError
			if errors.As(err, &ce) {
				k.mu.Lock()
				k.codes = append(k.codes, ce.Code)
				k.mu.Unlock()
				return
			}
		}
		c.Close(frame.CloseServiceRestart, "restarting")
	}))
	k.url = "ws" + strings.TrimPrefix(k.srv.URL, "http")
	t.Cleanup(k.srv.Close)
	return k
}

// TestReconnect: the client dials again after each connection the server
// ends, calls OnConnect with every connection and OnDisconnect with every
// end and its wait, and on cancel closes the open connection with 1001.
func TestReconnect(t *testing.T) {
	k := newKicker(t, 0)
	var attempts []int
	var waits []time.Duration
	var ends []error
	c, err := NewClient(k.url, &Options{
		MinDelay: 10 * time.Millisecond,
		MaxDelay: time.Minute,
		OnConnect: func(conn *wsproto.Conn, resp *http.Response, attempt int) error {
			if resp.StatusCode != http.StatusSwitchingProtocols {
				t.Errorf("OnConnect response status %d", resp.StatusCode)
			}
			attempts = append(attempts, attempt)
			return nil
		},
		OnDisconnect: func(err error, wait time.Duration) {
			ends = append(ends, err)
			waits = append(waits, wait)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	c.jitter = func() float64 { return 0 }
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second) // safety net
	defer cancel()
	var got []string
	err = c.Run(ctx, func(ctx context.Context, conn *wsproto.Conn) error {
		if c.Conn() != conn {
			t.Error("Conn() is not the connection being served")
		}
		for {
			_, msg, err := conn.Read(ctx, nil)
			if err != nil {
				return err
			}
			got = append(got, string(msg))
			if len(got) == 3 {
				cancel()
			}
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	if c.Conn() != nil {
		t.Error("Conn() after Run is not nil")
	}
	if strings.Join(got, ",") != "hello 1,hello 2,hello 3" {
		t.Errorf("messages = %q", got)
	}
	if fmt.Sprint(attempts) != "[1 2 3]" {
		t.Errorf("OnConnect attempts = %v, want [1 2 3]", attempts)
	}
	// Each connection ended by the server counts as a failure: waits grow.
	if fmt.Sprint(waits) != "[5ms 10ms]" {
		t.Errorf("waits = %v, want [5ms 10ms] (min 10ms, doubling, jitter 0 → half)", waits)
	}
	for _, e := range ends {
		var ce frame.CloseError
		if !errors.As(e, &ce) || ce.Code != frame.CloseServiceRestart {
			t.Errorf("OnDisconnect error = %v, want the server's close 1012", e)
		}
	}
}

// TestReconnectCancelClosesWith1001: a cancel while connected sends the
// server a close frame with 1001.
func TestReconnectCancelClosesWith1001(t *testing.T) {
	k := newKicker(t, 10*time.Second)
	c, _ := NewClient(k.url, nil)
	ctx, cancel := context.WithCancel(context.Background())
	err := c.Run(ctx, func(ctx context.Context, conn *wsproto.Conn) error {
		if _, _, err := conn.Read(ctx, nil); err != nil {
			return err
		}
		cancel()
		_, _, err := conn.Read(ctx, nil)
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		k.mu.Lock()
		codes := fmt.Sprint(k.codes)
		k.mu.Unlock()
		if codes == "[1001 (going away)]" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server read close codes %s, want [1001 (going away)]", codes)
		}
	}
}

// TestReconnectBackoffCap: dials that fail wait longer each time, up to
// MaxDelay; a connection that lasted MaxDelay resets the backoff.
func TestReconnectBackoffCap(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: every dial fails
	var waits []time.Duration
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _ := NewClient("ws://"+addr+"/", &Options{
		MinDelay: time.Millisecond,
		MaxDelay: 8 * time.Millisecond,
		OnDisconnect: func(err error, wait time.Duration) {
			waits = append(waits, wait)
			if len(waits) == 6 {
				cancel()
			}
		},
	})
	c.jitter = func() float64 { return 0.5 }
	c.Run(ctx, func(context.Context, *wsproto.Conn) error { return nil })
	want := "[750µs 1.5ms 3ms 6ms 6ms 6ms]"
	if got := fmt.Sprint(waits); got != want {
		t.Errorf("waits = %s, want %s (1ms doubling to 8ms, jitter 0.5 → 3/4)", got, want)
	}

	// A long connection resets the backoff: a fake clock says each one
	// lasted an hour.
	k := newKicker(t, 0)
	waits = nil
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _ = NewClient(k.url, &Options{
		MinDelay: time.Millisecond,
		MaxDelay: 8 * time.Millisecond,
		OnDisconnect: func(err error, wait time.Duration) {
			waits = append(waits, wait)
			if len(waits) == 3 {
				cancel()
			}
		},
	})
	c.jitter = func() float64 { return 0.5 }
	var clock time.Time
	c.now = func() time.Time { clock = clock.Add(time.Hour); return clock }
	c.Run(ctx, func(ctx context.Context, conn *wsproto.Conn) error {
		for {
			if _, _, err := conn.Read(ctx, nil); err != nil {
				return err
			}
		}
	})
	if got := fmt.Sprint(waits); got != "[750µs 750µs 750µs]" {
		t.Errorf("waits after long connections = %s, want [750µs 750µs 750µs]", got)
	}
}

// TestReconnectRefused: a 403 ends Run at once; a 503 is retried.
func TestReconnectRefused(t *testing.T) {
	var status atomic.Int32
	status.Store(http.StatusServiceUnavailable)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", int(status.Load()))
	}))
	defer srv.Close()
	retries := 0
	c, _ := NewClient(srv.URL, &Options{
		MinDelay: time.Millisecond,
		OnDisconnect: func(err error, wait time.Duration) {
			if retries++; retries == 3 {
				status.Store(http.StatusForbidden)
			}
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := c.Run(ctx, func(context.Context, *wsproto.Conn) error { return nil })
	var re *handshake.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusForbidden {
		t.Fatalf("Run = %v, want the 403 refusal", err)
	}
	if retries != 3 {
		t.Errorf("retried %d times, want 3 (the 503s)", retries)
	}
}

// TestReconnectOnConnectError: an OnConnect error closes the connection
// and counts as a failed attempt.
func TestReconnectOnConnectError(t *testing.T) {
	k := newKicker(t, 10*time.Second)
	var ends []error
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, _ := NewClient(k.url, &Options{
		MinDelay: time.Millisecond,
		OnConnect: func(conn *wsproto.Conn, resp *http.Response, attempt int) error {
			if attempt < 3 {
				return errors.New("not yet")
			}
			return nil
		},
		OnDisconnect: func(err error, wait time.Duration) { ends = append(ends, err) },
	})
	served := 0
	c.Run(ctx, func(ctx context.Context, conn *wsproto.Conn) error {
		served++
		cancel()
		return nil
	})
	if served != 1 || len(ends) != 2 || !strings.Contains(fmt.Sprint(ends[0]), "not yet") {
		t.Errorf("served %d, ends %v; want 1 connection served after 2 refused by OnConnect", served, ends)
	}
}

func TestNewClientBadURL(t *testing.T) {
	for _, u := range []string{"ftp://x/", "ws://", "::", "ws//x"} {
		if _, err := NewClient(u, nil); err == nil {
			t.Errorf("NewClient(%q) succeeded", u)
		}
	}
}
