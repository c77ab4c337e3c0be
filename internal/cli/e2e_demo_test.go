package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestBrowserDemo loads the demo in two pages of headless Chromium, with
// two nicknames and two transports, and checks what the demo shows: who is
// online, with each page's transport and HTTP version; messages with their
// sender and time; a nickname change; a page that closes leaving the list;
// the favicon; and that the Content-Security-Policy blocked nothing.
func TestBrowserDemo(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("no %s (install it with scripts/install-chromium.sh)", chromiumPath)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second) // safety net
	defer cancel()
	d := newDemo(newChatTopic(), nil, 0)
	d.presence.heartbeat = 300 * time.Millisecond
	d.presence.expiry = 3 * time.Second
	srv := httptest.NewServer(d.mux)
	defer func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		d.chat.Shutdown(sctx)
		d.close()
		srv.CloseClientConnections() // the pages' clock streams
		srv.Close()
	}()

	b := launchChromium(t, ctx)
	alice := b.newPage(t, ctx, srv.URL+"/?nick=alice")
	bob := b.newPage(t, ctx, srv.URL+"/?nick=bob&transport=sse")
	both := `demo.online.length === 2 &&
		demo.online.some((o) => o.nick === "alice" && o.transport === "websocket" && o.http === "HTTP/1.1") &&
		demo.online.some((o) => o.nick === "bob" && o.transport === "sse" && o.http === "HTTP/1.1")`
	for _, p := range []*page{alice, bob} {
		p.waitTrue(t, ctx, both)
	}
	// Each page shows its own transport and the HTTP version under it.
	alice.waitTrue(t, ctx, `$("transport").textContent === "websocket" && $("http").textContent === "HTTP/1.1" && $("page-http").textContent === "http/1.1"`)
	bob.waitTrue(t, ctx, `$("transport").textContent === "sse" && $("http").textContent === "HTTP/1.1"`)
	if got := evalString(t, ctx, alice, `[...document.querySelectorAll("#online li")].map((li) => li.textContent).join("|")`); got != "alice websocket · HTTP/1.1|bob sse · HTTP/1.1" {
		t.Errorf("alice's list of who is online reads %s", got)
	}

	// A message carries its sender and the server's time.
	alice.eval(t, ctx, `demo.send("hello bob").then(() => true)`)
	bob.waitTrue(t, ctx, `demo.messages.some((m) => m.nick === "alice" && m.data === "hello bob" && Date.now() - Date.parse(m.time) < 60000)`)
	shown := evalString(t, ctx, bob, `$("log").lastChild.textContent`)
	if !regexp.MustCompile(`^#\d+ \d\d:\d\d:\d\d (AM |PM )?alice: hello bob$`).MatchString(shown) {
		t.Errorf("bob's page shows %s, want the seq, the time, alice: hello bob", shown)
	}

	// A new nickname reaches the other page; a closed page leaves.
	bob.eval(t, ctx, `(() => { $("nick").value = "robert"; $("nick").dispatchEvent(new Event("change")); return true; })()`)
	alice.waitTrue(t, ctx, `demo.online.some((o) => o.nick === "robert") && !demo.online.some((o) => o.nick === "bob")`)
	for _, p := range []*page{alice, bob} {
		if v := p.eval(t, ctx, `JSON.stringify(demo.cspViolations)`); v != `"[]"` {
			t.Errorf("Content-Security-Policy violations: %s", v)
		}
	}
	bob.close(t, ctx)
	alice.waitTrue(t, ctx, `demo.online.length === 1 && demo.online[0].nick === "alice"`)

	if got := evalString(t, ctx, alice, `fetch("/favicon.ico").then((r) => r.status + " " + r.headers.get("content-type"))`); got != "200 image/x-icon" {
		t.Errorf("/favicon.ico: %s", got)
	}
	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("the page's Content-Security-Policy is %q", csp)
	}
}

// evalString evaluates a JavaScript expression whose value is a string.
func evalString(t *testing.T, ctx context.Context, p *page, expr string) string {
	t.Helper()
	var s string
	raw := p.eval(t, ctx, expr)
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		t.Fatalf("%s = %s, want a string", expr, raw)
	}
	return s
}
