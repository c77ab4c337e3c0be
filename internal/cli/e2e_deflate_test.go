package cli

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pushwire/pushwire/internal/wsecho"
	"github.com/pushwire/pushwire/wsproto"
)

// TestBrowserCompressedEcho opens a WebSocket from headless Chromium to
// `pushwire echo`'s handler, which accepts the permessage-deflate offer
// every Chromium makes ("permessage-deflate; client_max_window_bits", RFC
// 7692), with context takeover both ways, and checks that text and binary
// messages from empty to 1 MiB, repeated so that the window is used, come
// back intact; then the same with a server that asks Chromium for a
// 512-byte window (client_max_window_bits=9, RFC 7692 §7.1.2.2), which
// it must keep to, since the server inflates with that window.
func TestBrowserCompressedEcho(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("no %s (install it with scripts/install-chromium.sh)", chromiumPath)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second) // safety net
	defer cancel()
	mux := http.NewServeMux()
	mux.Handle("/ws", echoHandler(64<<20, true))
	small := &wsproto.AcceptOptions{ReadLimit: 64 << 20, Compression: &wsproto.CompressionOptions{ClientMaxWindowBits: 9}}
	mux.Handle("/ws9", wsproto.Handler(small, func(c *wsproto.Conn, _ *http.Request) { wsecho.Serve(c) }))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<!doctype html><title>echo</title>"))
	})
	srv := httptest.NewServer(mux)
	defer func() {
		srv.CloseClientConnections()
		srv.Close()
	}()

	b := launchChromium(t, ctx)
	p := b.newPage(t, ctx, srv.URL+"/")
	// Not about:blank, which the new page shows first.
	p.waitTrue(t, ctx, `location.href === `+quote(srv.URL+"/")+` && document.readyState === "complete"`)
	// The page sends each message, waits for its echo and compares; it
	// answers "ok EXTENSIONS" or what went wrong.
	for _, tc := range []struct{ path, ext string }{
		{"/ws", "permessage-deflate"},
		{"/ws9", "permessage-deflate; client_max_window_bits=9"},
	} {
		got := evalString(t, ctx, p, `new Promise((resolve) => {
		const ws = new WebSocket("ws://" + location.host + `+quote(tc.path)+`);
		ws.binaryType = "arraybuffer";
		const json = (n, seed) => {
			let s = "[";
			for (let i = 0; s.length < n; i++) {
				const k = seed * 7919 + i;
				s += JSON.stringify({id: k, user: "user" + (k % 977), event: ["join", "leave", "message"][k % 3], score: k % 1000, ok: k % 3 === 0}) + ",";
			}
			return s.slice(0, n);
		};
		const bytes = (n, seed) => {
			const a = new Uint8Array(n);
			let x = seed * 2654435761 >>> 0;
			for (let i = 0; i < n; i++) { x = (x * 1103515245 + 12345) >>> 0; a[i] = i % 7 === 0 ? x >>> 24 : i % 61; }
			return a.buffer;
		};
		const msgs = [];
		for (const n of [0, 1, 200, 1024, 1024, 70000, 70000, 1 << 20]) {
			msgs.push(json(n, n % 5));
			msgs.push(bytes(n, n % 3));
		}
		msgs.push("héllo wörld € 𝄞".repeat(500));
		let i = 0;
		const same = (a, b) => {
			if (typeof a === "string") return a === b;
			if (!(b instanceof ArrayBuffer) || a.byteLength !== b.byteLength) return false;
			const x = new Uint8Array(a), y = new Uint8Array(b);
			for (let j = 0; j < x.length; j++) if (x[j] !== y[j]) return false;
			return true;
		};
		ws.onopen = () => ws.send(msgs[0]);
		ws.onmessage = (e) => {
			if (!same(msgs[i], e.data)) { resolve("message " + i + " came back different"); ws.close(); return; }
			i++;
			if (i === msgs.length) { resolve("ok " + ws.extensions); ws.close(1000); return; }
			ws.send(msgs[i]);
		};
		ws.onclose = (e) => { if (i < msgs.length) resolve("closed " + e.code + " " + e.reason + " after " + i + " messages (extensions " + ws.extensions + ")"); };
	})`)
		if got != "ok "+tc.ext {
			t.Fatalf("Chromium's compressed echo on %s: %s, want ok %s", tc.path, got, tc.ext)
		}
		t.Logf("Chromium negotiated %q on %s", strings.TrimPrefix(got, "ok "), tc.path)
	}
}
