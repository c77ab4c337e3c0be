package peers

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
)

// extPeer is a peer running in another process (testdata/ws_peer.*), which
// prints one line per event on its standard output.
type extPeer struct {
	lines chan string
	name  string
}

// externals lists the external WebSocket peers: name, command line prefix,
// and the reason to skip when the tool is absent.
func externals() []struct{ name, bin, script, skip string } {
	py, pyWhy := python()
	nd, ndWhy := node("ws")
	return []struct{ name, bin, script, skip string }{
		{"python-websockets", py, "testdata/ws_peer.py", pyWhy},
		{"node-ws", nd, "testdata/ws_peer.js", ndWhy},
	}
}

// startPeer runs bin with args until the test ends.
func startPeer(t *testing.T, name, bin string, args ...string) *extPeer {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stderr = &prefixWriter{t: t, prefix: name + " stderr: "}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s %q: %v", bin, args, err)
	}
	p := &extPeer{lines: make(chan string, 64), name: name}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return p
}

type prefixWriter struct {
	t      *testing.T
	prefix string
}

func (w *prefixWriter) Write(p []byte) (int, error) {
	w.t.Log(w.prefix + strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// line waits for the next line of the peer's output that starts with prefix.
func (p *extPeer) line(ctx context.Context, t *testing.T, prefix string) string {
	t.Helper()
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				t.Fatalf("%s exited before printing %q", p.name, prefix)
			}
			if strings.HasPrefix(l, "error") {
				t.Errorf("%s: %s", p.name, l)
			}
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-ctx.Done():
			t.Fatalf("%s printed no %q: %v", p.name, prefix, ctx.Err())
		}
	}
}

func TestExternal(t *testing.T) {
	pw := Pushwire()
	for _, ext := range externals() {
		// bits: pushwire's server asks the client for a 512-byte window
		// (client_max_window_bits=9, RFC 7692 §7.1.2.2) and inflates with
		// it, so that a client that does not keep to it fails.
		for _, mode := range []struct {
			compress bool
			bits     int
		}{{false, 0}, {true, 0}, {true, 9}} {
			compress := mode.compress
			name := fmt.Sprintf("%s/compress=%v", ext.name, compress)
			if mode.bits != 0 {
				name += fmt.Sprintf("/client_max_window_bits=%d", mode.bits)
			}
			var flags []string
			if compress {
				flags = append(flags, "--compress")
			}
			t.Run(name+"/server=pushwire", func(t *testing.T) {
				if ext.skip != "" {
					t.Skipf("%s not installed: %s", ext.name, ext.skip)
				}
				t.Parallel()
				ctx := ctxT(t)
				conns := make(chan Conn)
				release := make(chan struct{})
				ts := httptest.NewServer(pw.Server(Options{Subprotocols: []string{"chat.v2"}, Compress: compress, ClientWindowBits: mode.bits}, func(c Conn) {
					conns <- c
					<-release
				}))
				t.Cleanup(ts.Close)
				t.Cleanup(func() { close(release) })
				peer := startPeer(t, ext.name, ext.bin, append([]string{ext.script, "client", wsURL(ts), "2"}, flags...)...)
				for _, pwCloses := range []bool{true, false} {
					var c Conn
					select {
					case c = <-conns:
					case <-ctx.Done():
						t.Fatalf("%s did not connect", ext.name)
					}
					if want := fmt.Sprintf("client_max_window_bits=%d", mode.bits); mode.bits != 0 && !strings.Contains(c.Extensions(), want) {
						t.Errorf("pushwire Extensions() = %q, want %s", c.Extensions(), want)
					}
					drive(ctx, t, c, peer, compress, pwCloses)
				}
			})
			if mode.bits != 0 {
				continue // a server asks for client_max_window_bits
			}
			t.Run(name+"/client=pushwire", func(t *testing.T) {
				if ext.skip != "" {
					t.Skipf("%s not installed: %s", ext.name, ext.skip)
				}
				t.Parallel()
				ctx := ctxT(t)
				peer := startPeer(t, ext.name, ext.bin, append([]string{ext.script, "server"}, flags...)...)
				port := strings.TrimPrefix(peer.line(ctx, t, "port "), "port ")
				for _, pwCloses := range []bool{true, false} {
					c, err := pw.Dial(ctx, "ws://127.0.0.1:"+port+"/", Options{Subprotocols: []string{"x-unknown", "chat.v2"}, Compress: compress})
					if err != nil {
						t.Fatalf("pushwire Dial(%s) = %v", ext.name, err)
					}
					t.Cleanup(c.CloseNow)
					drive(ctx, t, c, peer, compress, pwCloses)
				}
			})
		}
	}
}

// drive runs one connection's script against an external peer: subprotocol,
// extension, echoes of every size and both types, fragmented messages both
// ways, pings both ways, and a close from the side pwCloses chooses.
func drive(ctx context.Context, t *testing.T, c Conn, peer *extPeer, compress, pwCloses bool) {
	t.Helper()
	// "open PROTOCOL EXTENSIONS"; the extensions may hold spaces.
	open := strings.SplitN(peer.line(ctx, t, "open "), " ", 3)
	if len(open) != 3 || open[1] != "chat.v2" {
		t.Errorf("%s opened with %q, want subprotocol chat.v2", peer.name, open)
	}
	if got := c.Subprotocol(); got != "chat.v2" {
		t.Errorf("pushwire Subprotocol() = %q, want %q", got, "chat.v2")
	}
	// Compression is used only when both sides have it; a peer that offers
	// it to a pushwire without it must fall back to none.
	wantDeflate := compress
	if got := strings.Contains(strings.ToLower(open[2]), "deflate"); got != wantDeflate {
		t.Errorf("%s extensions %q: deflate negotiated = %v, want %v", peer.name, open[2], got, wantDeflate)
	}
	if got := strings.Contains(c.Extensions(), "permessage-deflate"); got != wantDeflate {
		t.Errorf("pushwire Extensions() = %q: deflate = %v, want %v", c.Extensions(), got, wantDeflate)
	}
	for _, typ := range []int{Text, Binary} {
		for _, n := range []int{0, 1, 125, 126, 127, 65535, 65536, 1 << 20, 16 << 20} {
			if typ == Text && n > 1<<20 {
				continue
			}
			want := payload(typ, n)
			if err := c.Write(typ, want); err != nil {
				t.Fatalf("pushwire Write(%d, %d bytes) = %v", typ, n, err)
			}
			expect(ctx, t, peer.name+" echo", c, typ, want)
		}
	}
	const frag = 300 << 10
	if err := c.Write(Text, fmt.Appendf(nil, "cmd:frag:%d", frag)); err != nil {
		t.Fatal(err)
	}
	expect(ctx, t, peer.name+" fragmented", c, Binary, payload(Binary, frag))
	for _, typ := range []int{Text, Binary} {
		want := payload(typ, frag)
		if err := c.WriteFragmented(typ, want); err != nil {
			t.Fatalf("pushwire WriteFragmented(%d, %d bytes) = %v", typ, frag, err)
		}
		expect(ctx, t, peer.name+" echo of fragmented", c, typ, want)
	}
	if err := c.Write(Text, []byte("cmd:ping:peer ping")); err != nil {
		t.Fatal(err)
	}
	expect(ctx, t, peer.name+" ping", c, Text, []byte("pong:peer ping"))
	if err := c.Ping(ctx, []byte("pushwire ping")); err != nil {
		t.Errorf("pushwire Ping(%q) = %v, want nil", "pushwire ping", err)
	}
	if pwCloses {
		if err := c.Close(4001, "bye ✓"); err != nil {
			t.Errorf("pushwire Close(4001, %q) = %v, want nil", "bye ✓", err)
		}
		if got, want := peer.line(ctx, t, "closed "), "closed 4001 bye ✓"; got != want {
			t.Errorf("%s saw %q, want %q", peer.name, got, want)
		}
		return
	}
	if err := c.Write(Text, []byte("cmd:close:4002:peer bye ✓")); err != nil {
		t.Fatal(err)
	}
	_, err := c.Next(ctx)
	var ce *CloseError
	if !errors.As(err, &ce) || ce.Code != 4002 || ce.Reason != "peer bye ✓" {
		t.Errorf("pushwire Next() = %v, want close 4002 %q", err, "peer bye ✓")
	}
	// The peer reports the code pushwire echoed (RFC 6455 §5.5.1).
	if got, want := peer.line(ctx, t, "closed "), "closed 4002"; !strings.HasPrefix(got, want) {
		t.Errorf("%s saw %q, want prefix %q", peer.name, got, want)
	}
}
