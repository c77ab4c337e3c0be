package conformance

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/pushwire/pushwire/handshake"
	"github.com/pushwire/pushwire/wsproto"
)

// TestInflateRFC7692Examples inflates the examples of RFC 7692 §7.2.3.
func TestInflateRFC7692Examples(t *testing.T) {
	tests := []struct {
		name string
		msgs [][]byte
	}{
		{"7.2.3.1 one message", [][]byte{{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}}},
		{"7.2.3.2 shared window", [][]byte{{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}, {0xf2, 0x00, 0x11, 0x00, 0x00}}},
		{"7.2.3.3 no compression", [][]byte{{0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00}}},
		{"7.2.3.5 two blocks", [][]byte{{0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPMD(false, 15, false)
			for _, m := range tt.msgs {
				got, err := p.inflate(m)
				if err != nil || string(got) != "Hello" {
					t.Errorf("inflate(% x) = %q, %v, want \"Hello\", nil", m, got, err)
				}
			}
		})
	}
}

func TestDeflateRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		name   string
		noCtx  bool
		window int
	}{{"context takeover", false, 15}, {"no context takeover", true, 15}, {"window 8", false, 8}} {
		t.Run(tt.name, func(t *testing.T) {
			tx, rx := newPMD(tt.noCtx, tt.window, false), newPMD(false, 15, tt.noCtx)
			data, err := loadTestData("")
			if err != nil {
				t.Fatal(err)
			}
			for _, td := range data {
				ptr := 0
				for _, n := range []int{0, 1, 16, 1000, 70000} {
					msg := td.cut(&ptr, n)
					z := tx.deflate(msg)
					if bytes.HasSuffix(z, tail) && n > 0 {
						t.Errorf("deflate(%d units of %s) kept the 00 00 ff ff tail", n, td.src.key)
					}
					got, err := rx.inflate(z)
					if err != nil || !bytes.Equal(got, msg) {
						t.Fatalf("inflate(deflate(%d units of %s)) = %d bytes, %v; want the message", n, td.src.key, len(got), err)
					}
				}
			}
		})
	}
}

func TestInflateLimit(t *testing.T) {
	tx, rx := newPMD(false, 15, false), newPMD(false, 15, false)
	rx.limit = 1000
	if _, err := rx.inflate(tx.deflate(make([]byte, 1001))); err == nil {
		t.Errorf("inflate(1001 zero bytes) with limit 1000 = nil error, want an error")
	}
}

func TestParsePMD(t *testing.T) {
	p := func(name, value string) handshake.Param { return handshake.Param{Name: name, Value: value} }
	tests := []struct {
		name    string
		params  []handshake.Param
		offer   bool
		want    pmdParams
		wantErr bool
	}{
		{"none", nil, false, pmdParams{}, false},
		{"all", []handshake.Param{p("server_no_context_takeover", ""), p("client_no_context_takeover", ""), p("server_max_window_bits", "10"), p("client_max_window_bits", "8")}, false,
			pmdParams{serverNoCtx: true, clientNoCtx: true, serverMaxWindow: 10, clientMaxWindow: 8}, false},
		{"client window without value in offer", []handshake.Param{p("client_max_window_bits", "")}, true, pmdParams{clientMaxWindow: -1}, false},
		{"client window without value in response", []handshake.Param{p("client_max_window_bits", "")}, false, pmdParams{}, true},
		{"window 7", []handshake.Param{p("server_max_window_bits", "7")}, false, pmdParams{}, true},
		{"window 16", []handshake.Param{p("server_max_window_bits", "16")}, false, pmdParams{}, true},
		{"leading zero", []handshake.Param{p("server_max_window_bits", "09")}, false, pmdParams{}, true},
		{"value on no_context_takeover", []handshake.Param{p("server_no_context_takeover", "1")}, false, pmdParams{}, true},
		{"twice", []handshake.Param{p("server_no_context_takeover", ""), p("server_no_context_takeover", "")}, false, pmdParams{}, true},
		{"unknown", []handshake.Param{p("x_unknown", "")}, false, pmdParams{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parsePMD(handshake.Extension{Name: pmdName, Params: tt.params}, tt.offer)
			if (err != nil) != tt.wantErr || (!tt.wantErr && got != tt.want) {
				t.Errorf("parsePMD(%v) = %+v, %v, want %+v, error %v", tt.params, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// TestPushwireCompression runs the short compression cases against
// pushwire with permessage-deflate on, as server and as client.
func TestPushwireCompression(t *testing.T) {
	// The smallest messages of every test file and parameter set (1000
	// messages of 16 units each), one fragmented size, and the bomb: the
	// larger sizes move gigabytes, for the full runs, not for -race.
	short := []string{"12.1.1", "12.2.11", "13.*.1", "15.5.1"}
	t.Run("server", func(t *testing.T) {
		const limit = 4 << 20
		opts := &wsproto.AcceptOptions{ReadLimit: limit, InsecureSkipOriginCheck: true, Compression: &wsproto.CompressionOptions{}}
		srv := httptest.NewServer(wsproto.Handler(opts, func(c *wsproto.Conn, _ *http.Request) { echoConn(c) }))
		defer srv.Close()
		rep, err := RunServer(context.Background(), &Options{URL: "ws" + strings.TrimPrefix(srv.URL, "http") + "/", Cases: short, Parallel: 10, ReadLimit: limit, Timeout: testUnit})
		if err != nil {
			t.Fatal(err)
		}
		checkStrict(t, rep)
		if r := rep.Results[0]; r.ID != "12.1.1" || r.Behavior != OK {
			t.Errorf("case %s = %v (%s), want 12.1.1 OK", r.ID, r.Behavior, r.BehaviorReason)
		}
	})
	t.Run("client", func(t *testing.T) {
		fs, err := NewFuzzingServer(&Options{Cases: short, ReadLimit: 4 << 20, Timeout: testUnit})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(fs)
		defer srv.Close()
		base := "ws" + strings.TrimPrefix(srv.URL, "http")
		dopts := &wsproto.DialOptions{ReadLimit: 4 << 20, Compression: &wsproto.CompressionOptions{}}
		var wg sync.WaitGroup
		for i := 1; i <= fs.CaseCount(); i++ {
			c, _, err := wsproto.Dial(context.Background(), fmt.Sprintf("%s/runCase?case=%d&agent=pushwire", base, i), dopts)
			if err != nil {
				t.Fatal(err)
			}
			wg.Go(func() { echoConn(c) })
		}
		wg.Wait()
		rep := fs.Report("pushwire")
		checkStrict(t, rep)
		for _, r := range rep.Results {
			if r.Behavior == Unimplemented {
				t.Logf("%s: %s", r.ID, r.Events[0].Text)
			}
		}
		if r := rep.Results[0]; r.ID != "12.1.1" || r.Behavior != OK {
			t.Errorf("case %s = %v (%s), want 12.1.1 OK", r.ID, r.Behavior, r.BehaviorReason)
		}
	})
}
