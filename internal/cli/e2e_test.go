package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pushwire/pushwire/hub"
	"github.com/pushwire/pushwire/wsproto"
)

const chromiumPath = "/usr/bin/chromium"

// TestBrowserChat loads the demo in headless Chromium, two pages per
// transport, sends chat messages from one page and sees them in the other,
// kills and restarts the server in between (same topic, a new handler and
// http.Server on the same address), and checks that no message is lost or
// duplicated.
func TestBrowserChat(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("no %s (install it with scripts/install-chromium.sh)", chromiumPath)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second) // safety net
	defer cancel()

	topic := newChatTopic()
	srv := startDemo(t, topic, "127.0.0.1:0")
	addr := srv.addr
	defer func() { srv.stop() }()

	b := launchChromium(t, ctx)
	for _, transport := range []string{"websocket", "sse", "poll", "iframe"} {
		t.Run(transport, func(t *testing.T) {
			url := "http://" + addr + "/?transport=" + transport
			sender, receiver := b.newPage(t, ctx, url), b.newPage(t, ctx, url)
			for _, p := range []*page{sender, receiver} {
				p.waitTrue(t, ctx, `demo.client.state === "open" && demo.client.transport === "`+transport+`"`)
			}
			send := func(text string) {
				t.Helper()
				// A send may fail while the server is away; retry until
				// the page has an open transport again.
				p := sender
				p.waitTrue(t, ctx, `demo.client.state === "open"`)
				p.eval(t, ctx, `demo.send(`+quote(text)+`).then(() => true)`)
			}
			want := []string{transport + " one", transport + " two"}
			send(want[0])
			send(want[1])
			receiver.waitMessages(t, ctx, want)

			// Kill the server; publish while it is away; start a new one
			// on the same address with the same topic.
			srv.stop()
			topic.Publish(ctx, "chat", []byte(transport+" while down"))
			srv = startDemo(t, topic, addr)
			want = append(want, transport+" while down", transport+" three")
			send(want[3])
			for _, p := range []*page{receiver, sender} {
				p.waitMessages(t, ctx, want)
				p.checkMessages(t, ctx, transport, want)
			}
			// A stream ends when the server goes: the page must have
			// reconnected. A held poll is answered by the shutdown and
			// the next poll may simply reach the new server.
			n := receiver.eval(t, ctx, `demo.reconnects + demo.client.reconnects`)
			if n == "0" && transport != "poll" {
				t.Errorf("receiver reconnected %s times, want at least once", n)
			}
			t.Logf("%s: receiver reconnected %s times", transport, n)
		})
	}
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }

// demoServer is one run of the demo server on a topic.
type demoServer struct {
	addr string
	srv  *http.Server
	d    *demo
	done chan struct{}
}

func startDemo(t *testing.T, topic *hub.Topic, addr string) *demoServer {
	t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the old socket may linger a moment
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	d := newDemo(topic, nil, 0)
	s := &demoServer{addr: ln.Addr().String(), srv: &http.Server{Handler: d.mux}, d: d, done: make(chan struct{})}
	go func() { s.srv.Serve(ln); close(s.done) }()
	return s
}

// stop kills the server: the chat streams end (WebSocket with 1001), every
// connection is closed.
func (s *demoServer) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.d.chat.Shutdown(ctx)
	s.d.close()
	s.srv.Close()
	<-s.done
}

// browser is a headless Chromium driven over the DevTools protocol, on a
// WebSocket dialed with pushwire's own client.
type browser struct {
	conn    *wsproto.Conn
	mu      sync.Mutex
	nextID  int
	pending map[int]chan cdpReply
}

type cdpReply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error"`
}

func launchChromium(t *testing.T, ctx context.Context, extraFlags ...string) *browser {
	dir := t.TempDir()
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--remote-debugging-port=0", "--user-data-dir=" + dir}
	args = append(append(args, extraFlags...), "about:blank")
	cmd := exec.Command(chromiumPath, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the whole process group
		cmd.Wait()
	})
	var port, path string
	for ctx.Err() == nil {
		if b, err := os.ReadFile(filepath.Join(dir, "DevToolsActivePort")); err == nil {
			if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); len(lines) == 2 {
				port, path = lines[0], lines[1]
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if port == "" {
		t.Fatal("chromium did not write DevToolsActivePort")
	}
	c, _, err := wsproto.Dial(ctx, "ws://127.0.0.1:"+port+path, &wsproto.DialOptions{ReadLimit: 64 << 20})
	if err != nil {
		t.Fatalf("dialing the DevTools endpoint: %v", err)
	}
	b := &browser{conn: c, pending: map[int]chan cdpReply{}}
	readDone := make(chan struct{})
	go b.readLoop(readDone)
	t.Cleanup(func() {
		c.CloseNow()
		<-readDone
	})
	return b
}

func (b *browser) readLoop(done chan struct{}) {
	defer close(done)
	var buf []byte
	for {
		_, msg, err := b.conn.Read(context.Background(), buf)
		if err != nil {
			return
		}
		buf = msg
		var r struct {
			ID int `json:"id"`
			cdpReply
		}
		if json.Unmarshal(msg, &r) != nil || r.ID == 0 {
			continue // an event
		}
		b.mu.Lock()
		ch := b.pending[r.ID]
		delete(b.pending, r.ID)
		b.mu.Unlock()
		if ch != nil {
			ch <- r.cdpReply
		}
	}
}

// call sends a DevTools command and waits for its result.
func (b *browser) call(ctx context.Context, session, method string, params any, result any) error {
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	ch := make(chan cdpReply, 1)
	b.pending[id] = ch
	b.mu.Unlock()
	msg := map[string]any{"id": id, "method": method, "params": params}
	if session != "" {
		msg["sessionId"] = session
	}
	data, _ := json.Marshal(msg)
	if err := b.conn.Write(ctx, wsproto.MessageText, data); err != nil {
		return err
	}
	select {
	case r := <-ch:
		if r.Error != nil {
			return fmt.Errorf("%s: %s", method, r.Error.Message)
		}
		if result != nil {
			return json.Unmarshal(r.Result, result)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

type page struct {
	b       *browser
	session string
	target  string
}

func (b *browser) newPage(t *testing.T, ctx context.Context, url string) *page {
	t.Helper()
	var target struct{ TargetID string }
	if err := b.call(ctx, "", "Target.createTarget", map[string]any{"url": url}, &target); err != nil {
		t.Fatal(err)
	}
	var attached struct{ SessionID string }
	if err := b.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attached); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		b.call(cctx, "", "Target.closeTarget", map[string]any{"targetId": target.TargetID}, nil)
	})
	return &page{b: b, session: attached.SessionID, target: target.TargetID}
}

// close closes the page, as a user closing the tab does.
func (p *page) close(t *testing.T, ctx context.Context) {
	t.Helper()
	if err := p.b.call(ctx, "", "Target.closeTarget", map[string]any{"targetId": p.target}, nil); err != nil {
		t.Fatal(err)
	}
}

// eval evaluates a JavaScript expression (awaiting a promise) and returns
// its value as JSON text.
func (p *page) eval(t *testing.T, ctx context.Context, expr string) string {
	t.Helper()
	s, err := p.tryEval(ctx, expr)
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return s
}

func (p *page) tryEval(ctx context.Context, expr string) (string, error) {
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	err := p.b.call(ctx, p.session, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true}, &r)
	if err != nil {
		return "", err
	}
	if r.ExceptionDetails != nil {
		return "", errors.New(r.ExceptionDetails.Text + " " + r.ExceptionDetails.Exception.Description)
	}
	return string(r.Result.Value), nil
}

// waitTrue evaluates expr until it is true; the context is the safety net.
func (p *page) waitTrue(t *testing.T, ctx context.Context, expr string) {
	t.Helper()
	var last string
	var err error
	for ctx.Err() == nil {
		last, err = p.tryEval(ctx, `(() => { try { return !!(`+expr+`); } catch (e) { return false; } })()`)
		if err == nil && last == "true" {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	state, _ := p.tryEval(context.Background(), `JSON.stringify({state: demo.client.state, transport: demo.client.transport, messages: demo.messages})`)
	t.Fatalf("waiting for %s: last %s %v; page: %s", expr, last, err, state)
}

// waitMessages waits until the page has received every text of want.
func (p *page) waitMessages(t *testing.T, ctx context.Context, want []string) {
	t.Helper()
	texts, _ := json.Marshal(want)
	p.waitTrue(t, ctx, texts2expr(string(texts)))
}

func texts2expr(texts string) string {
	return texts + `.every((w) => demo.messages.some((m) => m.data === w))`
}

// checkMessages checks that the page received each message once, in
// increasing seq order, with no duplicate dropped by the client.
func (p *page) checkMessages(t *testing.T, ctx context.Context, transport string, want []string) {
	t.Helper()
	var got []struct {
		Seq  uint64
		Data string
	}
	if err := json.Unmarshal([]byte(p.eval(t, ctx, `demo.messages`)), &got); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Seq <= got[i-1].Seq {
			t.Errorf("messages out of order or repeated: seq %d after %d", got[i].Seq, got[i-1].Seq)
		}
	}
	count := map[string]int{}
	for _, m := range got {
		count[m.Data]++
	}
	for _, w := range want {
		if count[w] != 1 {
			t.Errorf("%s: message %q received %d times, want once", transport, w, count[w])
		}
	}
	if d := p.eval(t, ctx, `demo.client.duplicates`); d != "0" {
		t.Errorf("%s: the client dropped %s duplicate entries, want 0", transport, d)
	}
}

// TestBrowserRestart: the demo restarted with the in-memory default has a
// new chat log. Each open page, on websocket, sse and poll, gets one
// reset, tells the user the server restarted, and receives a message sent
// after the restart; nothing loops on an error.
func TestBrowserRestart(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("no %s (install it with scripts/install-chromium.sh)", chromiumPath)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second) // safety net
	defer cancel()

	srv := startDemo(t, newChatTopic(), "127.0.0.1:0")
	addr := srv.addr
	defer func() { srv.stop() }()
	b := launchChromium(t, ctx)
	transports := []string{"websocket", "sse", "poll"}
	pages := map[string]*page{}
	for _, transport := range transports {
		p := b.newPage(t, ctx, "http://"+addr+"/?transport="+transport)
		p.waitTrue(t, ctx, `demo.client.state === "open" && demo.client.transport === "`+transport+`"`)
		pages[transport] = p
	}
	// Grow the first log past what the new one will hold, so that a
	// client that took its old cursor at face value would skip entries.
	for i := range 5 {
		pages["websocket"].eval(t, ctx, `demo.send(`+quote(fmt.Sprintf("before %d", i))+`).then(() => true)`)
	}
	for _, p := range pages {
		p.waitMessages(t, ctx, []string{"before 4"})
	}

	// Kill the server and start a new process's worth: a new in-memory
	// topic on the same address.
	srv.stop()
	srv = startDemo(t, newChatTopic(), addr)
	for _, transport := range transports {
		p := pages[transport]
		p.waitTrue(t, ctx, `demo.resets === 1 && demo.client.state === "open"`)
		p.eval(t, ctx, `demo.send(`+quote("after "+transport)+`).then(() => true)`)
	}
	for _, transport := range transports {
		p := pages[transport]
		var want []string
		for _, tr := range transports {
			want = append(want, "after "+tr)
		}
		p.waitMessages(t, ctx, want)
		if got := p.eval(t, ctx, `demo.resets`); got != "1" {
			t.Errorf("%s page: %s resets, want 1", transport, got)
		}
		if got := p.eval(t, ctx, `document.getElementById("restarted").hidden`); got != "false" {
			t.Errorf("%s page: the restart notice is hidden = %s, want it shown", transport, got)
		}
		// The new log's entries arrived once each, in order, after the
		// old ones.
		var msgs []struct {
			Seq  uint64
			Data string
		}
		json.Unmarshal([]byte(p.eval(t, ctx, `demo.messages`)), &msgs)
		var after []string
		for _, m := range msgs {
			if strings.HasPrefix(m.Data, "after ") {
				after = append(after, m.Data)
			}
		}
		if len(after) != len(transports) || len(msgs) != 5+len(transports) {
			t.Errorf("%s page: messages %+v, want 5 before and %d after the restart, once each", transport, msgs, len(transports))
		}
		if d := p.eval(t, ctx, `demo.client.duplicates`); d != "0" {
			t.Errorf("%s page: the client dropped %s duplicates, want 0", transport, d)
		}
		t.Logf("%s page: reset once, %d messages, cursor %s", transport, len(msgs), p.eval(t, ctx, `demo.client.cursor`))
	}
}
