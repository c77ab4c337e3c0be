package wsproto

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pushwire/pushwire/handshake"
	"github.com/pushwire/pushwire/wsproto/frame"
)

func echoServer(t *testing.T, tlsServer bool) *httptest.Server {
	h := Handler(&AcceptOptions{InsecureSkipOriginCheck: true}, func(c *Conn, _ *http.Request) { echoLoop(c) })
	var srv *httptest.Server
	if tlsServer {
		srv = httptest.NewTLSServer(h)
	} else {
		srv = httptest.NewServer(h)
	}
	t.Cleanup(srv.Close)
	return srv
}

func echoOnce(t *testing.T, c *Conn) {
	t.Helper()
	ctx := context.Background()
	if err := c.Write(ctx, MessageText, []byte("ping?")); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := c.Read(ctx, nil); err != nil || string(msg) != "ping?" {
		t.Fatalf("Read = %q, %v", msg, err)
	}
	c.Close(frame.CloseNormal, "")
}

// TestDialTLS dials a wss:// URL.
func TestDialTLS(t *testing.T) {
	srv := echoServer(t, true)
	c, resp, err := Dial(context.Background(), "wss"+strings.TrimPrefix(srv.URL, "https"), &DialOptions{
		TLSConfig: srv.Client().Transport.(*http.Transport).TLSClientConfig,
	})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d", resp.StatusCode)
	}
	echoOnce(t, c)
}

// TestDialProxy tunnels through an HTTP proxy with CONNECT.
func TestDialProxy(t *testing.T) {
	srv := echoServer(t, false)
	var connects atomic.Int32
	var auth atomic.Value
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		connects.Add(1)
		auth.Store(r.Header.Get("Proxy-Authorization"))
		up, err := net.Dial("tcp", r.Host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusOK)
		down, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			up.Close()
			return
		}
		go func() {
			io.Copy(up, brw)
			up.Close()
		}()
		io.Copy(down, up)
		down.Close()
	}))
	defer proxy.Close()
	proxyURL, _ := url.Parse(proxy.URL)
	proxyURL.User = url.UserPassword("user", "secret")
	c, _, err := Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http")+"/x", &DialOptions{
		Proxy: http.ProxyURL(proxyURL),
	})
	if err != nil {
		t.Fatalf("Dial through proxy: %v", err)
	}
	echoOnce(t, c)
	if connects.Load() != 1 {
		t.Errorf("proxy saw %d CONNECTs, want 1", connects.Load())
	}
	if got := auth.Load(); got != "Basic dXNlcjpzZWNyZXQ=" {
		t.Errorf("Proxy-Authorization = %q", got)
	}
}

// TestDialRefused: a refusal carries the status, headers and body.
func TestDialRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Why", "closed today")
		http.Error(w, "come back tomorrow", http.StatusForbidden)
	}))
	defer srv.Close()
	// An http:// URL is taken as ws://.
	_, resp, err := Dial(context.Background(), srv.URL, nil)
	var re *handshake.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("Dial error = %v, want a *handshake.ResponseError", err)
	}
	if re.StatusCode != http.StatusForbidden || re.Header.Get("X-Why") != "closed today" || !strings.Contains(string(re.Body), "come back tomorrow") {
		t.Fatalf("ResponseError = %d %v %q", re.StatusCode, re.Header, re.Body)
	}
	if resp == nil {
		t.Fatal("Dial returned no *http.Response for a refusal")
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusForbidden || resp.Status != "403 Forbidden" || resp.Header.Get("X-Why") != "closed today" || string(body) != "come back tomorrow\n" {
		t.Errorf("response = %q %v %q, want 403 Forbidden with the header and body", resp.Status, resp.Header, body)
	}
}

// TestDialBadURL checks the URL rules.
func TestDialBadURL(t *testing.T) {
	for _, u := range []string{"ftp://example.test/", "ws://", "://nope", "ws//missing"} {
		if _, _, err := Dial(context.Background(), u, nil); err == nil {
			t.Errorf("Dial(%q) succeeded", u)
		}
	}
}

// TestDialTimeout: a server that never answers the handshake.
func TestDialTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		bufio.NewReader(c).ReadString('\n')
		time.Sleep(2 * time.Second)
		c.Close()
	}()
	_, _, err = Dial(context.Background(), "ws://"+ln.Addr().String(), &DialOptions{HandshakeTimeout: 50 * time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Dial error = %v, want context.DeadlineExceeded", err)
	}
}

// TestFirstFramesBehindHandshake: frames the server sends right behind its
// 101 response arrive at the client even when they came in the same read.
func TestFirstFramesBehindHandshake(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		resp := handshake.AppendResponse(nil, req.Header.Get("Sec-WebSocket-Key"), "", "", nil)
		resp = append(resp, frame.AppendHeader(nil, frame.Header{Fin: true, Opcode: frame.OpText, Length: 5})...)
		resp = append(resp, "early"...)
		c.Write(resp)
		time.Sleep(time.Second)
	}()
	c, _, err := Dial(context.Background(), "ws://"+ln.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if _, msg, err := c.Read(context.Background(), nil); err != nil || string(msg) != "early" {
		t.Fatalf("Read = %q, %v; want \"early\"", msg, err)
	}
}
