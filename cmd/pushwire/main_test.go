package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/pushwire/pushwire/internal/cli"
	"github.com/pushwire/pushwire/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// syncBuffer is a bytes.Buffer safe for the server's goroutine and the
// test's.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var openLine = regexp.MustCompile(`open (http://[0-9.:]+)/`)

// serve runs `pushwire serve args...` with this binary's engines until the
// test ends and returns its base URL.
func serve(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errs syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(ctx, append([]string{"serve", "-addr", "127.0.0.1:0"}, args...), &out, &errs, config)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := openLine.FindStringSubmatch(out.String()); m != nil {
			return m[1]
		}
		select {
		case code := <-done:
			t.Fatalf("serve %v exited with %d: %s", args, code, errs.String())
		default:
		}
	}
	t.Fatalf("serve %v did not start: %s %s", args, out.String(), errs.String())
	return ""
}

// TestServeEngine: two `serve -engine nats://...` processes' worth on one
// embedded nats-server share the chat log: a message posted to one is
// read from the other, with the same cursor.
func TestServeEngine(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	if !ns.ReadyForConnections(20 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	twoNodesShareChat(t, fmt.Sprintf("nats://127.0.0.1:%d", port))
}

// TestServeEngineRedis: two `serve -engine redis://...` processes' worth
// on one redis-server share the chat log.
func TestServeEngineRedis(t *testing.T) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed (apt-get install redis-server; .ci/run does)")
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir := t.TempDir()
	srv := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--logfile", filepath.Join(dir, "redis.log"), "--appendonly", "yes", "--appendfsync", "always", "--save", "")
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	engine := fmt.Sprintf("redis://127.0.0.1:%d", port)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server not ready: %v", err)
		}
	}
	twoNodesShareChat(t, engine)
}

// twoNodesShareChat runs two serve nodes on engine: a message posted to
// one is read from the other, with the same cursor EPOCH:1.
func twoNodesShareChat(t *testing.T, engine string) {
	a := serve(t, "-engine", engine)
	b := serve(t, "-engine", engine)

	// A chat message is {"nick","text"}; it is published with the time.
	req, _ := http.NewRequest("POST", a+"/chat", strings.NewReader(`{"nick":"a","text":"hello from a"}`))
	req.Header.Set("Content-Type", "text/plain")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST to a: %s", resp.Status)
	}
	poll := func(base string) (cursor string, data []string) {
		resp, err := http.Get(base + "/chat?transport=poll&cursor=oldest&timeout=0")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var a struct {
			Cursor  string
			Entries []struct{ Data string }
		}
		if err := json.Unmarshal(body, &a); err != nil {
			t.Fatalf("poll answer %q: %v", body, err)
		}
		for _, e := range a.Entries {
			data = append(data, e.Data)
		}
		return a.Cursor, data
	}
	var ca, cb string
	var da, db []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		ca, da = poll(a)
		cb, db = poll(b)
		if len(db) == 1 && len(da) == 1 {
			break
		}
	}
	var msg struct{ Nick, Text string }
	if len(da) == 1 {
		json.Unmarshal([]byte(da[0]), &msg)
	}
	if len(da) != 1 || len(db) != 1 || msg.Text != "hello from a" || msg.Nick != "a" || db[0] != da[0] || ca != cb || !strings.HasSuffix(ca, ":1") {
		t.Errorf("a has %q at %q, b has %q at %q; want the message once on both, at the same cursor EPOCH:1", da, ca, db, cb)
	}
}

// TestServeEngineUnknown: an engine this binary does not have is an error
// that names the ones it has.
func TestServeEngineUnknown(t *testing.T) {
	var out, errs syncBuffer
	code := cli.Main(context.Background(), []string{"serve", "-addr", "127.0.0.1:0", "-engine", "carrier://127.0.0.1:1"}, &out, &errs, config)
	if code != 1 || !strings.Contains(errs.String(), "no carrier engine (it has: nats://, redis://, rediss://, none)") {
		t.Errorf("serve -engine carrier:// = %d, %q; want 1 and the engines this build has", code, errs.String())
	}
}
