package conformance

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pushwire/pushwire/handshake"
	"github.com/pushwire/pushwire/wsproto"
)

// echoClient runs pushwire's client (wsproto.Dial) against a fuzzing
// server at base, the way an Autobahn client driver does: it asks for the
// case count, echoes every case, and asks for the report.
func echoClient(ctx context.Context, base, agent string, parallel int) error {
	opts := &wsproto.DialOptions{ReadLimit: 64 << 20}
	c, _, err := wsproto.Dial(ctx, base+"/getCaseCount", opts)
	if err != nil {
		return err
	}
	_, msg, err := c.Read(ctx, nil)
	c.CloseNow()
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(string(msg))
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, parallel)
	for i := 1; i <= n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			c, _, err := wsproto.Dial(ctx, fmt.Sprintf("%s/runCase?case=%d&agent=%s", base, i, agent), opts)
			if err != nil {
				return
			}
			defer c.CloseNow()
			var buf []byte
			for {
				typ, msg, err := c.Read(ctx, buf)
				if err != nil {
					return
				}
				if err := c.Write(ctx, typ, msg); err != nil {
					return
				}
				buf = msg
			}
		}()
	}
	wg.Wait()
	c, _, err = wsproto.Dial(ctx, base+"/updateReports?agent="+agent, opts)
	if err != nil {
		return err
	}
	c.Read(ctx, nil) // until the server's close
	c.CloseNow()
	return nil
}

func TestPushwireClient(t *testing.T) {
	fs, err := NewFuzzingServer(&Options{Exclude: ciExclude, Timeout: testUnit})
	if err != nil {
		t.Fatal(err)
	}
	var got *Report
	fs.OnReport = func(r *Report) error { got = r; return nil }
	srv := httptest.NewServer(fs)
	defer srv.Close()
	base := "ws" + strings.TrimPrefix(srv.URL, "http")
	if err := echoClient(context.Background(), base, "pushwire", 8); err != nil {
		t.Fatal(err)
	}
	if got == nil {
		t.Fatal("updateReports did not deliver a report")
	}
	if len(got.Results) != fs.CaseCount() {
		t.Errorf("report has %d results, want %d", len(got.Results), fs.CaseCount())
	}
	checkStrict(t, got)
}

// TestClientDeclinesCompression checks the grade of a client that refuses
// the permessage-deflate parameters the harness answered by closing the
// connection at once, as gorilla's client does when the response lacks
// client_no_context_takeover: UNIMPLEMENTED, as when nothing is agreed. A
// client that fails only after sending a frame is graded as usual.
func TestClientDeclinesCompression(t *testing.T) {
	fs, err := NewFuzzingServer(&Options{Cases: []string{"12.1.1"}, Timeout: testUnit})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(fs)
	defer srv.Close()
	for _, tt := range []struct {
		agent string
		first []byte // what the client sends before closing
		want  Outcome
	}{
		{"declines", nil, Unimplemented},
		{"garbage", []byte{0x8f, 0x80, 0, 0, 0, 0}, Failed}, // a masked frame with a reserved opcode
	} {
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "GET /runCase?case=1&agent=%s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
			"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n", tt.agent, handshake.NewKey())
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("handshake: %v, %v", resp, err)
		}
		conn.Write(tt.first)
		conn.Close()
		rep := fs.Report(tt.agent)
		if r := rep.Results[0]; r.Behavior != tt.want {
			t.Errorf("%s: behavior %v (%s), want %v", tt.agent, r.Behavior, r.BehaviorReason, tt.want)
		}
	}
}
