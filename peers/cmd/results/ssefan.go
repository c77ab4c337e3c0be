package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	sse "github.com/tmaxmax/go-sse"

	"github.com/pushwire/pushwire/peers/internal/dialn"
	"github.com/pushwire/pushwire/sseproto"
)

// sseServers are the SSE fan-out servers, by name; each runs in a child
// process started as "-child sse-<name>".
var sseServers = []string{"pushwire", "go-sse"}

// fanEvent is the event sent to every stream: id, type and one line of
// JSON data, about 90 bytes on the wire.
const (
	fanID   = "42"
	fanType = "tick"
	fanData = `{"seq":42,"symbol":"PUSH","price":101.25,"qty":17,"venue":"loopback"}`
)

// sseFanHandler returns the server of one SSE implementation: a handler
// whose streams join a group, a function that sends one event to every
// stream of the group, and the group's size.
//
// pushwire: the handler opens an sseproto.Stream and runs Stream.Run on a
// channel of its own (the package's documented pattern); send puts the
// event on every channel. go-sse: its Server with the default provider,
// Joe, which writes each published message to every subscriber in turn;
// send is Server.Publish.
func sseFanHandler(name string) (http.Handler, func(int) error, func() int) {
	switch name {
	case "pushwire":
		var mu sync.Mutex
		chans := map[chan sseproto.Event]struct{}{}
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, err := sseproto.NewStream(w, r, nil)
			if err != nil {
				return
			}
			ch := make(chan sseproto.Event, 1)
			mu.Lock()
			chans[ch] = struct{}{}
			mu.Unlock()
			defer func() {
				mu.Lock()
				delete(chans, ch)
				mu.Unlock()
			}()
			s.Run(r.Context(), ch)
		})
		send := func(seq int) error {
			ev := sseproto.Event{ID: fanID, Type: fanType, Data: fanData}
			mu.Lock()
			defer mu.Unlock()
			for ch := range chans {
				ch <- ev
			}
			return nil
		}
		count := func() int {
			mu.Lock()
			defer mu.Unlock()
			return len(chans)
		}
		return h, send, count
	case "go-sse":
		p := &countingJoe{Joe: &sse.Joe{}}
		srv := &sse.Server{Provider: p}
		send := func(seq int) error {
			m := &sse.Message{ID: sse.ID(fanID), Type: sse.Type(fanType)}
			m.AppendData(fanData)
			return srv.Publish(m)
		}
		return srv, send, func() int { return int(p.n.Load()) }
	}
	check(fmt.Errorf("unknown SSE implementation %q", name))
	return nil, nil, nil
}

// countingJoe is go-sse's Joe, counting the subscriptions in progress.
type countingJoe struct {
	*sse.Joe
	n atomic.Int64
}

func (j *countingJoe) Subscribe(ctx context.Context, sub sse.Subscription) error {
	j.n.Add(1)
	defer j.n.Add(-1)
	return j.Joe.Subscribe(ctx, sub)
}

// runSSEChild serves one SSE implementation on /sse and answers commands on
// stdin: mem, count, send (the allocation counters are read before the
// event is sent), stat (mallocs and bytes allocated since send).
func runSSEChild(name string) {
	h, send, count := sseFanHandler(name)
	mux := http.NewServeMux()
	mux.Handle("/sse", h)
	addr, _ := serve(mux)
	fmt.Println("addr", addr)
	var a runtime.MemStats
	seq := 0
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		switch sc.Text() {
		case "count":
			fmt.Println("count", count())
		case "send":
			runtime.ReadMemStats(&a)
			seq++
			if err := send(seq); err != nil {
				fmt.Fprintln(os.Stderr, "send:", err)
			}
			fmt.Println("sent")
		case "stat":
			var b runtime.MemStats
			runtime.ReadMemStats(&b)
			fmt.Println("stat", b.Mallocs-a.Mallocs, b.TotalAlloc-a.TotalAlloc)
		}
	}
}

// sseClient is one raw event-stream client.
type sseClient struct {
	c    net.Conn
	br   *bufio.Reader // the connection
	body *bufio.Reader // the response body, once the headers are read
}

// dialSSE opens n connections to addr and sends a GET for /sse on each,
// without waiting for the response (go-sse sends its headers with the
// first event).
func dialSSE(addr string, n, spread int) ([]*sseClient, error) {
	return dialn.All(n, func(i int) (*sseClient, error) {
		d := net.Dialer{Timeout: 10 * time.Second, LocalAddr: localAddr(spread + i/20000)}
		c, err := d.Dial("tcp", addr)
		if err == nil {
			_, err = fmt.Fprintf(c, "GET /sse HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\nCache-Control: no-store\r\n\r\n", addr)
		}
		if err != nil {
			if c != nil {
				c.Close()
			}
			return nil, err
		}
		return &sseClient{c: c, br: bufio.NewReaderSize(c, 1024)}, nil
	}, func(c *sseClient) { c.c.Close() })
}

func closeSSE(cs []*sseClient) {
	for _, c := range cs {
		if c != nil {
			c.c.Close()
		}
	}
}

// next reads the response headers if not yet read, then one event: lines
// up to a blank line. It checks that the event carries fanData.
func (s *sseClient) next() error {
	s.c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if s.body == nil {
		resp, err := http.ReadResponse(s.br, nil)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
			return fmt.Errorf("response %s, Content-Type %q", resp.Status, resp.Header.Get("Content-Type"))
		}
		s.body = bufio.NewReaderSize(resp.Body, 512)
	}
	data := false
	for {
		line, err := s.body.ReadSlice('\n')
		if err != nil {
			return err
		}
		switch {
		case bytes.HasPrefix(line, []byte("data:")):
			data = bytes.Contains(line, []byte(fanData))
		case len(bytes.TrimRight(line, "\r\n")) == 0 && data:
			return nil
		}
	}
}

// readAll has every client read one event, concurrently, and returns the
// number that did and the first error.
func readAll(cs []*sseClient) (int64, error) {
	var got atomic.Int64
	var first atomic.Value
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Go(func() {
			if err := c.next(); err != nil {
				first.CompareAndSwap(nil, err)
				return
			}
			got.Add(1)
		})
	}
	wg.Wait()
	err, _ := first.Load().(error)
	return got.Load(), err
}

func sseFanWorkloads(r *oldRows) {
	n := *idleConns
	tw := &workload{
		title: fmt.Sprintf("SSE fan-out of one event to %d streams", n),
		file:  "sse-fanout", unit: "ms",
		note: "time from the send call until every raw client has read the event (id, type, one line of JSON data); server in its own process; pushwire: one sseproto.Stream.Run per stream fed by a channel of its own, go-sse: Server with its default provider (Joe) and Server.Publish; one warm-up event first, so that headers (which go-sse sends with the first event) are out of the way",
	}
	aw := &workload{title: fmt.Sprintf("SSE fan-out allocations, %d streams", n), file: "sse-fanout-allocs", unit: "bytes allocated",
		note: "bytes allocated in the server process from the send call until every client has read the event"}
	for i, name := range sseServers {
		c := startChild("sse-" + name)
		fail := func(err error) {
			logf("%s: %s: %v", tw.title, name, err)
			tw.fail(name, err)
			aw.fail(name, err)
			c.stop()
		}
		cs, err := dialSSE(c.addr, n, 20+i)
		if err != nil {
			fail(err)
			continue
		}
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if f := fields(c.ask("count")); len(f) > 0 && int(f[0]) == n {
				break
			}
		}
		// Subscriptions are counted just before they are handed to the
		// provider; give the last ones time to land.
		time.Sleep(300 * time.Millisecond)
		ok := true
		for rep := range *reps + 1 { // the first is the warm-up
			var got int64
			var rerr error
			done := make(chan struct{})
			go func() {
				got, rerr = readAll(cs)
				close(done)
			}()
			time.Sleep(100 * time.Millisecond) // readers parked
			t0 := time.Now()
			c.ask("send")
			<-done
			d := time.Since(t0)
			if rerr != nil || got != int64(n) {
				fail(fmt.Errorf("%d of %d received: %v", got, n, rerr))
				ok = false
				break
			}
			st := fields(c.ask("stat"))
			if rep == 0 {
				continue
			}
			tw.add(name, float64(d.Microseconds())/1000)
			aw.add(name, st[1])
		}
		closeSSE(cs)
		if ok {
			c.stop()
			logf("%s: %s %s", tw.title, name, tw.summary())
		}
	}
	r.add(tw)
	r.add(aw)
}
