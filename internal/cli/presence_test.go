package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pushwire/pushwire/hub"
)

// lastPresence returns the list of the newest presence entry of the log.
func lastPresence(t *testing.T, tp *hub.Topic) []onlineJSON {
	t.Helper()
	buf := make([]hub.Entry, 1000)
	n, _, err := tp.ReadAfter(context.Background(), hub.FromOldest(), buf)
	if err != nil {
		t.Fatal(err)
	}
	for i := n - 1; i >= 0; i-- {
		if buf[i].Type == "presence" {
			var v struct{ Online []onlineJSON }
			if err := json.Unmarshal(buf[i].Data, &v); err != nil {
				t.Fatal(err)
			}
			return v.Online
		}
	}
	return nil
}

func post(t *testing.T, url, body string, header ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// TestPresence: pages report themselves, the server adds the HTTP version
// of their streams, and every change is published; pages that leave or
// stop reporting are dropped; bad reports are refused.
func TestPresence(t *testing.T) {
	tp := newChatTopic()
	d := newDemo(tp, nil, 0)
	d.presence.expiry = 200 * time.Millisecond
	defer d.close()
	srv := httptest.NewServer(d.mux)
	defer srv.Close()

	d.presence.sawStream("page-aaaaaaaa", "HTTP/2.0")
	if code, body := post(t, srv.URL+"/presence", `{"id":"page-aaaaaaaa","nick":" alice ","transport":"websocket"}`); code != 200 || body != `{"heartbeat":10000}` {
		t.Fatalf("report: %d %s", code, body)
	}
	post(t, srv.URL+"/presence", `{"id":"page-bbbbbbbb","nick":"bob","transport":"poll"}`)
	got := lastPresence(t, tp)
	if len(got) != 2 || got[0] != (onlineJSON{"alice", "websocket", "HTTP/2.0", "page-aaaaaaaa"}) || got[1].Nick != "bob" {
		t.Fatalf("online = %+v", got)
	}
	post(t, srv.URL+"/presence", `{"id":"page-bbbbbbbb","leave":true}`)
	if got := lastPresence(t, tp); len(got) != 1 || got[0].Nick != "alice" {
		t.Errorf("after bob left: %+v", got)
	}
	for _, tc := range []struct{ body, want string }{
		{`{"id":"short","nick":"x","transport":"sse"}`, "want"},
		{`{"id":"page-cccccccc","nick":"","transport":"sse"}`, "1 to 32"},
		{`{"id":"page-cccccccc","nick":"a\u0007b","transport":"sse"}`, "printable"},
		{`{"id":"page-cccccccc","nick":"carol","transport":"pigeon"}`, "unknown transport"},
		{`not json`, "want"},
	} {
		if code, body := post(t, srv.URL+"/presence", tc.body); code != 400 || !strings.Contains(body, tc.want) {
			t.Errorf("report %s: %d %q, want 400 with %q", tc.body, code, body, tc.want)
		}
	}
	if code, _ := post(t, srv.URL+"/presence", `{"id":"page-dddddddd","nick":"eve","transport":"sse"}`, "Sec-Fetch-Site", "cross-site"); code != http.StatusForbidden {
		t.Errorf("cross-site report: %d, want 403", code)
	}
	// Alice stops reporting: the sweep drops her.
	for deadline := time.Now().Add(10 * time.Second); len(lastPresence(t, tp)) != 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("alice was not dropped: %+v", lastPresence(t, tp))
		}
	}
}

// TestChatMessages: a message is {"nick","text"}; it is published with the
// server's time; anything else is refused.
func TestChatMessages(t *testing.T) {
	tp := newChatTopic()
	d := newDemo(tp, nil, 0)
	defer d.close()
	srv := httptest.NewServer(d.mux)
	defer srv.Close()
	before := time.Now()
	if code, body := post(t, srv.URL+"/chat", `{"nick":"alice","text":"hi <all>"}`); code != http.StatusNoContent {
		t.Fatalf("POST /chat: %d %s", code, body)
	}
	buf := make([]hub.Entry, 4)
	n, _, _ := tp.ReadAfter(context.Background(), hub.FromOldest(), buf)
	var m chatMessage
	if n != 1 || buf[0].Type != "chat" || json.Unmarshal(buf[0].Data, &m) != nil || m.Nick != "alice" || m.Text != "hi <all>" {
		t.Fatalf("published %d entries: %q", n, buf[0].Data)
	}
	if ts, err := time.Parse(time.RFC3339Nano, m.Time); err != nil || ts.Before(before.Add(-time.Second)) || time.Since(ts) > time.Minute {
		t.Errorf("time %q, want now", m.Time)
	}
	for _, body := range []string{`hello`, `{"nick":"","text":"x"}`, `{"nick":"bob","text":""}`, `{"nick":"bob","text":"` + strings.Repeat("x", 2001) + `"}`} {
		if code, _ := post(t, srv.URL+"/chat", body); code != http.StatusBadRequest {
			t.Errorf("POST /chat %.40q: %d, want 400", body, code)
		}
	}
}

// TestPageHeaders: the page, its script and its style carry the security
// headers; the icon is an ICO holding a PNG.
func TestPageHeaders(t *testing.T) {
	d := newDemo(newChatTopic(), nil, 0)
	defer d.close()
	srv := httptest.NewServer(d.mux)
	defer srv.Close()
	for _, path := range []string{"/", "/demo.js", "/demo.css"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		csp := resp.Header.Get("Content-Security-Policy")
		host := strings.TrimPrefix(srv.URL, "http://")
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "connect-src 'self' ws://" + host + " wss://" + host} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: Content-Security-Policy %q lacks %q", path, csp, want)
			}
		}
		if resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: headers %v", path, resp.Header)
		}
	}
	// A Host that could break out of the policy is left out of it.
	req := httptest.NewRequest("GET", "/", nil)
	req.Host = "evil; script-src *"
	w := httptest.NewRecorder()
	d.mux.ServeHTTP(w, req)
	if csp := w.Header().Get("Content-Security-Policy"); strings.Contains(csp, "evil") {
		t.Errorf("policy with a hostile Host: %q", csp)
	}

	resp, err := http.Get(srv.URL + "/favicon.ico")
	if err != nil {
		t.Fatal(err)
	}
	ico, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/x-icon" || !bytes.HasPrefix(ico, []byte{0, 0, 1, 0, 1, 0, 32, 32}) {
		t.Fatalf("favicon: %d %q % x", resp.StatusCode, resp.Header.Get("Content-Type"), ico[:min(len(ico), 8)])
	}
	img, err := png.Decode(bytes.NewReader(ico[22:]))
	if err != nil || img.Bounds().Dx() != 32 {
		t.Errorf("favicon PNG: %v", err)
	}
}
