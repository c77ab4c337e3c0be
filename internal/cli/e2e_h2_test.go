package cli

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// h2ChildEnv marks the child process that runs with GODEBUG=http2xconnect=1,
// which net/http reads only at start-up.
const h2ChildEnv = "PUSHWIRE_E2E_H2_CHILD"

// TestBrowserWebSocketOverHTTP2 loads the demo over TLS and HTTP/2 in
// headless Chromium, chats over WebSocket, and checks on the server side
// that the WebSocket arrived as an HTTP/2 extended CONNECT (RFC 8441). The
// work runs in a child process started with GODEBUG=http2xconnect=1.
func TestBrowserWebSocketOverHTTP2(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("no %s (install it with scripts/install-chromium.sh)", chromiumPath)
	}
	if os.Getenv(h2ChildEnv) != "" {
		browserH2(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestBrowserWebSocketOverHTTP2$", "-test.v", "-test.count=1", "-test.timeout=3m")
	godebug := "http2xconnect=1"
	if g := os.Getenv("GODEBUG"); g != "" {
		godebug = g + "," + godebug
	}
	cmd.Env = append(os.Environ(), h2ChildEnv+"=1", "GODEBUG="+godebug)
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: TestBrowserWebSocketOverHTTP2")) {
		t.Fatalf("child process: %v\n%s", err, out)
	}
}

func browserH2(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second) // safety net
	defer cancel()
	d := newDemo(newChatTopic(), nil, 0)
	var mu sync.Mutex
	var wsProtos []string // the protocol of each WebSocket handshake the server saw
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodConnect && r.Header.Get(":protocol") == "websocket" || r.Header.Get("Upgrade") != "" {
			mu.Lock()
			wsProtos = append(wsProtos, r.Proto)
			mu.Unlock()
		}
		d.mux.ServeHTTP(w, r)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		d.chat.Shutdown(sctx)
		d.close()
		srv.CloseClientConnections() // the page's clock stream stays open otherwise
		srv.Close()
	}()

	b := launchChromium(t, ctx, "--ignore-certificate-errors")
	url := srv.URL + "/?transport=websocket"
	sender, receiver := b.newPage(t, ctx, url), b.newPage(t, ctx, url)
	for _, p := range []*page{sender, receiver} {
		p.waitTrue(t, ctx, `demo.client.state === "open" && demo.client.transport === "websocket"`)
	}
	want := []string{"over h2, one", "over h2, two"}
	for _, text := range want {
		sender.eval(t, ctx, `demo.send(`+quote(text)+`).then(() => true)`)
	}
	// Both ways: the sender's messages went up its WebSocket, and the
	// server pushed them down the receiver's.
	receiver.waitMessages(t, ctx, want)
	receiver.checkMessages(t, ctx, "websocket", want)
	if got := sender.eval(t, ctx, `performance.getEntriesByType("navigation")[0].nextHopProtocol`); got != `"h2"` {
		t.Errorf("the page loaded over %s, want h2", got)
	}
	// The demo shows it: each page's WebSocket, and who is online, over
	// HTTP/2.
	for _, p := range []*page{sender, receiver} {
		p.waitTrue(t, ctx, `$("http").textContent === "HTTP/2.0" && $("page-http").textContent === "h2" &&
			demo.online.length === 2 && demo.online.every((o) => o.transport === "websocket" && o.http === "HTTP/2.0")`)
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("WebSocket handshakes seen by the server: %s", strings.Join(wsProtos, ", "))
	if len(wsProtos) < 2 {
		t.Fatalf("server saw %d WebSocket handshakes, want 2", len(wsProtos))
	}
	for _, p := range wsProtos {
		if p != "HTTP/2.0" {
			t.Errorf("a WebSocket arrived over %s, want HTTP/2.0 (protocols seen: %s)", p, strings.Join(wsProtos, ", "))
		}
	}
}
