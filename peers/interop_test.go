package peers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// testTimeout is a safety net for one interop case, not a timed assertion.
// The largest cases echo 16 MiB compressed through Python or Node while the
// package's other cases run in parallel: on a loaded 2-core machine (load
// average 36) they took more than 60 s.
const testTimeout = 3 * time.Minute

// pairing is a server implementation and a client implementation.
type pairing struct {
	name           string
	server, client *Impl
}

// pairings lists pushwire as server with every implementation as client and
// pushwire as client with every other implementation as server.
func pairings() []pairing {
	impls := Impls()
	pw := impls[0]
	var out []pairing
	for _, p := range impls {
		out = append(out, pairing{"server=pushwire/client=" + p.Name, pw, p})
		if p != pw {
			out = append(out, pairing{"server=" + p.Name + "/client=pushwire", p, pw})
		}
	}
	return out
}

func wsURL(ts *httptest.Server) string { return "ws" + strings.TrimPrefix(ts.URL, "http") }

// connect starts p.server with sopts, dials it with p.client and copts and
// returns the client's and the server's Conn. Cleanup drops both.
func connect(t *testing.T, p pairing, sopts, copts Options) (client, server Conn) {
	t.Helper()
	c, s, err := tryConnect(t, p, sopts, copts)
	if err != nil {
		t.Fatal(err)
	}
	return c, s
}

// tryConnect is connect returning the error of the handshake.
func tryConnect(t *testing.T, p pairing, sopts, copts Options) (client, server Conn, err error) {
	t.Helper()
	got := make(chan Conn, 1)
	release := make(chan struct{})
	ts := httptest.NewServer(p.server.Server(sopts, func(c Conn) {
		got <- c
		<-release
	}))
	t.Cleanup(func() {
		close(release)
		ts.Close()
	})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, err := p.client.Dial(ctx, wsURL(ts), copts)
	if err != nil {
		return nil, nil, fmt.Errorf("%s Dial(%s) = %w", p.client.Name, wsURL(ts), err)
	}
	t.Cleanup(c.CloseNow)
	select {
	case s := <-got:
		t.Cleanup(s.CloseNow)
		return c, s, nil
	case <-ctx.Done():
		return nil, nil, fmt.Errorf("%s server: no connection", p.server.Name)
	}
}

// payload returns n bytes of type typ: a byte pattern for binary, and for text
// UTF-8 of 1- to 4-byte characters, so that frame and read boundaries fall
// inside characters.
func payload(typ, n int) []byte {
	b := make([]byte, 0, n)
	if typ == Binary {
		for i := range n {
			b = append(b, byte(i*7+i>>8))
		}
		return b
	}
	runes := []string{"a", "é", "€", "𝄞", "z"}
	for i := 0; len(b) < n; i++ {
		r := runes[i%len(runes)]
		if len(b)+len(r) > n {
			r = "."
		}
		b = append(b, r...)
	}
	return b
}

// expect reads the next message from c and checks its type and data.
func expect(ctx context.Context, t *testing.T, who string, c Conn, typ int, want []byte) {
	t.Helper()
	m, err := c.Next(ctx)
	if err != nil {
		t.Fatalf("%s Next() = %v, want a %d-byte message", who, err, len(want))
	}
	if m.Type != typ || !bytes.Equal(m.Data, want) {
		t.Fatalf("%s Next() = type %d, %d bytes (%s), want type %d, %d bytes", who, m.Type, len(m.Data), diff(m.Data, want), typ, len(want))
	}
}

// diff describes where got and want first differ.
func diff(got, want []byte) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("first difference at byte %d: %#x, want %#x", i, got[i], want[i])
		}
	}
	if len(got) != len(want) {
		return fmt.Sprintf("lengths differ: %d, want %d", len(got), len(want))
	}
	return "equal"
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

func TestMessages(t *testing.T) {
	sizes := []int{0, 1, 125, 126, 127, 65535, 65536, 1 << 20, 16 << 20}
	for _, p := range pairings() {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			ctx := ctxT(t)
			c, s := connect(t, p, Options{}, Options{})
			for _, typ := range []int{Text, Binary} {
				for _, n := range sizes {
					if typ == Text && n > 1<<20 {
						continue // one 16 MiB message per direction is enough
					}
					want := payload(typ, n)
					if err := c.Write(typ, want); err != nil {
						t.Fatalf("%s Write(%d, %d bytes) = %v", p.client.Name, typ, n, err)
					}
					expect(ctx, t, "server "+p.server.Name, s, typ, want)
					if err := s.Write(typ, want); err != nil {
						t.Fatalf("%s Write(%d, %d bytes) = %v", p.server.Name, typ, n, err)
					}
					expect(ctx, t, "client "+p.client.Name, c, typ, want)
				}
			}
		})
	}
}

func TestFragmented(t *testing.T) {
	const n = 300 << 10 // more than any library's frame size
	for _, p := range pairings() {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			ctx := ctxT(t)
			c, s := connect(t, p, Options{}, Options{})
			for _, typ := range []int{Text, Binary} {
				want := payload(typ, n)
				if err := c.WriteFragmented(typ, want); err != nil {
					t.Fatalf("%s WriteFragmented(%d, %d bytes) = %v", p.client.Name, typ, n, err)
				}
				expect(ctx, t, "server "+p.server.Name, s, typ, want)
				if err := s.WriteFragmented(typ, want); err != nil {
					t.Fatalf("%s WriteFragmented(%d, %d bytes) = %v", p.server.Name, typ, n, err)
				}
				expect(ctx, t, "client "+p.client.Name, c, typ, want)
			}
		})
	}
}

func TestPingPong(t *testing.T) {
	for _, p := range pairings() {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			ctx := ctxT(t)
			c, s := connect(t, p, Options{}, Options{})
			for _, tc := range []struct {
				name     string
				from     Conn
				fromName string
				payload  string
			}{
				{"client pings", c, p.client.Name, "client ping ✓"},
				{"server pings", s, p.server.Name, "server ping"},
				{"empty ping", c, p.client.Name, ""},
				{"125-byte ping", s, p.server.Name, strings.Repeat("p", 125)},
			} {
				if err := tc.from.Ping(ctx, []byte(tc.payload)); err != nil {
					t.Fatalf("%s: %s Ping(%q) = %v, want nil", tc.name, tc.fromName, tc.payload, err)
				}
			}
			// Messages still flow after the pings.
			if err := c.Write(Text, []byte("after")); err != nil {
				t.Fatal(err)
			}
			expect(ctx, t, "server "+p.server.Name, s, Text, []byte("after"))
		})
	}
}

func TestClose(t *testing.T) {
	cases := []struct {
		name        string
		serverFirst bool
		code        int
		reason      string
	}{
		{"client 4001 with reason", false, 4001, "client bye ✓"},
		{"client 1000 no reason", false, 1000, ""},
		{"client 1001 123-byte reason", false, 1001, strings.Repeat("r", 123)},
		{"server 4002 with reason", true, 4002, "server bye ✓"},
		{"server 1000 no reason", true, 1000, ""},
		{"server 3000 123-byte reason", true, 3000, strings.Repeat("s", 123)},
	}
	for _, p := range pairings() {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					ctx := ctxT(t)
					c, s := connect(t, p, Options{}, Options{})
					closer, closerName, peer, peerName := c, "client "+p.client.Name, s, "server "+p.server.Name
					if tc.serverFirst {
						closer, closerName, peer, peerName = s, "server "+p.server.Name, c, "client "+p.client.Name
					}
					// The message before the close arrives first.
					if err := closer.Write(Binary, []byte("last")); err != nil {
						t.Fatal(err)
					}
					errc := make(chan error, 1)
					go func() { errc <- closer.Close(tc.code, tc.reason) }()
					expect(ctx, t, peerName, peer, Binary, []byte("last"))
					_, err := peer.Next(ctx)
					var ce *CloseError
					if !errors.As(err, &ce) || ce.Code != tc.code || ce.Reason != tc.reason {
						t.Errorf("%s Next() = %v, want close %d %q", peerName, err, tc.code, tc.reason)
					}
					if err := <-errc; err != nil && !isGWS(closerName) {
						t.Errorf("%s Close(%d, %q) = %v, want nil (peer answered the close)", closerName, tc.code, tc.reason, err)
					}
				})
			}
		})
	}
}

// isGWS reports whether the side is gws, whose WriteClose drops the TCP
// connection without waiting for the answer, so its Close cannot tell.
func isGWS(name string) bool { return strings.HasSuffix(name, " gws") }

func TestSubprotocol(t *testing.T) {
	cases := []struct {
		name           string
		server, client []string
		want           string
	}{
		{"one in common", []string{"chat.v2", "mqtt"}, []string{"x-unknown", "chat.v2", "x-other"}, "chat.v2"},
		{"none offered", []string{"chat.v2"}, nil, ""},
		{"none in common", []string{"chat.v2"}, []string{"x-unknown"}, ""},
	}
	for _, p := range pairings() {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					ctx := ctxT(t)
					c, s, err := tryConnect(t, p, Options{Subprotocols: tc.server}, Options{Subprotocols: tc.client})
					// gws refuses a handshake that selects no subprotocol
					// when its side has a list (documented; RFC 6455 §4.2.2
					// lets a server refuse, §4.1 lets a client fail it).
					refuses := tc.want == "" && (p.server.Name == "gws" && len(tc.server) > 0 || p.client.Name == "gws" && len(tc.client) > 0)
					if refuses {
						if err == nil {
							t.Fatalf("handshake with server %q, client %q succeeded, want gws to refuse it", tc.server, tc.client)
						}
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					if got := c.Subprotocol(); got != tc.want {
						t.Errorf("client %s Subprotocol() = %q, want %q", p.client.Name, got, tc.want)
					}
					if got := s.Subprotocol(); got != tc.want {
						t.Errorf("server %s Subprotocol() = %q, want %q", p.server.Name, got, tc.want)
					}
					if err := c.Write(Text, []byte("hi")); err != nil {
						t.Fatal(err)
					}
					expect(ctx, t, "server "+p.server.Name, s, Text, []byte("hi"))
				})
			}
		})
	}
}
