package clustertest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pushwire/pushwire/httpstream"
	"github.com/pushwire/pushwire/hub"
)

// Node is one pushwire node: an engine client, the topic in front of it,
// an httpstream.Handler serving it over every transport, and an HTTP
// server on loopback.
type Node struct {
	URL   string
	Topic *hub.Topic

	engine hub.Engine
	h      *httpstream.Handler
	srv    *http.Server
	ln     *trackingListener
	dead   atomic.Bool
	once   sync.Once
	done   chan struct{}
}

// startNodes starts count nodes serving topic name, each on an engine of
// its own from engine, stopped when the test ends.
func startNodes(tb testing.TB, ctx context.Context, count int, engine func(testing.TB) hub.Engine, name string, opts *hub.TopicOptions) []*Node {
	tb.Helper()
	nodes := make([]*Node, count)
	for i := range nodes {
		n, err := StartNode(ctx, engine(tb), name, opts)
		if err != nil {
			tb.Fatalf("node %d: %v", i, err)
		}
		nodes[i] = n
		tb.Cleanup(n.Stop)
	}
	return nodes
}

// StartNode starts a node serving topic name of engine e on a free
// loopback port; Kill or Stop ends it.
func StartNode(ctx context.Context, e hub.Engine, name string, opts *hub.TopicOptions) (*Node, error) {
	return StartNodeAt(ctx, e, name, opts, "127.0.0.1:0")
}

// StartNodeAt is StartNode on a given address, such as the one of a node
// that was killed: its clients come back to the new one.
func StartNodeAt(ctx context.Context, e hub.Engine, name string, opts *hub.TopicOptions, addr string) (*Node, error) {
	tp, err := hub.OpenTopic(ctx, e, name, opts)
	if err != nil {
		return nil, err
	}
	var ln net.Listener
	for range 50 { // the killed node's socket may linger a moment
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		tp.Close()
		return nil, err
	}
	n := &Node{Topic: tp, engine: e, ln: &trackingListener{Listener: ln, conns: map[net.Conn]bool{}}, done: make(chan struct{})}
	n.h = httpstream.NewHandler(tp, &httpstream.Options{PollTimeout: 2 * time.Second, KeepAlive: time.Second, Padding: -1})
	n.srv = &http.Server{Handler: n.h}
	n.URL = "http://" + ln.Addr().String() + "/"
	go func() {
		n.srv.Serve(n.ln)
		close(n.done)
	}()
	return n, nil
}

// Dead reports whether the node was killed or stopped.
func (n *Node) Dead() bool { return n.dead.Load() }

// Kill ends the node the way a crash does: every TCP connection is cut
// at once (no WebSocket close frame, no end of stream), the engine client
// is dropped, nothing is flushed.
func (n *Node) Kill() {
	n.once.Do(func() {
		n.dead.Store(true)
		n.ln.Close()
		n.ln.closeAll()
		n.engine.Close()
		n.srv.Close()
		<-n.done
		// What is left runs down by itself: the handler's streams fail on
		// their cut connections, the topic's tail on the closed engine.
		n.h.Close()
		n.Topic.Close()
	})
}

// Stop ends the node gracefully: streams end, the topic and engine close.
func (n *Node) Stop() {
	n.once.Do(func() {
		n.dead.Store(true)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n.h.Shutdown(ctx)
		n.srv.Shutdown(ctx)
		n.srv.Close()
		n.ln.closeAll()
		<-n.done
		n.Topic.Close()
		n.engine.Close()
	})
}

// trackingListener remembers the connections it accepted, so that Kill
// can cut the hijacked ones too (http.Server.Close leaves those alone).
type trackingListener struct {
	net.Listener
	mu    sync.Mutex
	conns map[net.Conn]bool
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.conns[c] = true
	l.mu.Unlock()
	return c, nil
}

func (l *trackingListener) closeAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for c := range l.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0) // a reset, as when the process dies
		}
		c.Close()
	}
	l.conns = map[net.Conn]bool{}
}

// Options configures Run. Run copies it and never changes the caller's.
type Options struct {
	// Engine returns a new client of the shared store, one per node.
	// Required.
	Engine func(t testing.TB) hub.Engine
	// Nodes is how many nodes run; default 3.
	Nodes int
	// PerNode is how many entries the publishers of each node publish;
	// default 2000.
	PerNode int
	// Concurrency is how many goroutines publish on each node, sharing
	// its PerNode entries; default 4.
	Concurrency int
	// Hop is about how many entries a client reads from one node before
	// it moves to another one at random; default 200.
	Hop int
	// Timeout bounds the whole run; default 3 minutes.
	Timeout time.Duration
	// Fault, if set, runs instead of the node kill when a third of the
	// entries are published, on a goroutine of its own (report failures
	// with t.Error): a fault of the shared store, such as its server
	// killed and started again, that every node and client must ride out
	// with nothing lost, repeated or reset.
	Fault func(t testing.TB)
}

// Result is what Run measured.
type Result struct {
	Entries  int           // N, published and received by every client
	Clients  int           // clients that received 1..N
	Hops     int           // connections the clients made in all
	Failures int           // connections that broke (the killed node's)
	Retries  int           // publishes retried on another node
	Took     time.Duration // from the first publish to the last client done
	Epoch    hub.Epoch     // the log's epoch, at the start and on every client's last cursor
}

// Run is the cluster test: Nodes nodes on one engine, publishers on each
// publishing PerNode entries with idempotency keys, a client of each
// transport hopping to a random live node every ~Hop entries, and the
// first node killed without a graceful close when a third of the entries
// are published (or o.Fault run then); its publisher and clients carry on
// on the other nodes. Every client must receive 1..N exactly once, in
// order, with the same payload at each seq on every client, N being every
// publish made, and end in the epoch the log had at the start.
func Run(t *testing.T, opts *Options) Result {
	if opts == nil || opts.Engine == nil {
		t.Fatal("clustertest: Options.Engine is required")
	}
	o := *opts
	if o.Nodes <= 0 {
		o.Nodes = 3
	}
	if o.PerNode <= 0 {
		o.PerNode = 2000
	}
	if o.Hop <= 0 {
		o.Hop = 200
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.Timeout <= 0 {
		o.Timeout = 3 * time.Minute
	}
	total := o.Nodes * o.PerNode
	ctx, cancel := context.WithTimeout(context.Background(), o.Timeout)
	defer cancel()
	name := fmt.Sprintf("cluster-%d", time.Now().UnixNano())
	nodes := startNodes(t, ctx, o.Nodes, o.Engine, name, &hub.TopicOptions{MaxEntries: total + 100, MaxBytes: 64 << 20})
	epoch := nodes[0].Topic.Epoch()
	live := func(rnd *rand.Rand, not *Node) *Node {
		for {
			n := nodes[rnd.IntN(len(nodes))]
			if !n.Dead() && (n != not || len(nodes) == 1) {
				return n
			}
		}
	}

	// Clients first, from cursor 0 (a bare number: adopted into the
	// log's epoch).
	var res Result
	clients := make([]*Client, len(Transports))
	var cwg sync.WaitGroup
	for i, tr := range Transports {
		c := NewClient(tr, "0")
		clients[i] = c
		cwg.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(i), 7))
			var at *Node
			for len(c.Got) < total && ctx.Err() == nil {
				at = live(rnd, at)
				hop := o.Hop/2 + rnd.IntN(o.Hop)
				if err := c.Read(ctx, at.URL, hop, total); err != nil && !at.Dead() && ctx.Err() == nil {
					time.Sleep(20 * time.Millisecond)
				}
			}
		})
	}

	// Publishers: each keeps its keys; a publish that fails because its
	// node died is retried on another node with the same key.
	start := time.Now()
	var published atomic.Int64
	var retries atomic.Int64
	killAt := int64(total / 3)
	var pwg, fwg sync.WaitGroup
	for w := range len(nodes) * o.Concurrency {
		p := w % len(nodes)
		pwg.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(w), 11))
			at := nodes[p]
			for i := w / len(nodes); i < o.PerNode; i += o.Concurrency {
				key := fmt.Sprintf("node%d-%d", p, i)
				for {
					if at.Dead() {
						at = live(rnd, nil)
					}
					pctx, pcancel := context.WithTimeout(ctx, 10*time.Second)
					_, err := at.Topic.Append(pctx, key, "", []byte(key))
					pcancel()
					if err == nil {
						break
					}
					if ctx.Err() != nil {
						t.Errorf("publisher %d: %v", p, err)
						return
					}
					retries.Add(1)
					at = live(rnd, at)
				}
				if published.Add(1) == killAt {
					if o.Fault != nil {
						fwg.Go(func() { o.Fault(t) })
					} else {
						go nodes[0].Kill()
					}
				}
			}
		})
	}
	pwg.Wait()
	cwg.Wait()
	fwg.Wait()
	res.Took = time.Since(start)
	res.Retries = int(retries.Load())
	if ctx.Err() != nil {
		for _, c := range clients {
			t.Logf("%s client: %d entries, cursor %q", c.Transport, len(c.Got), c.Cursor)
		}
		t.Fatalf("cluster run not done within %v", o.Timeout)
	}

	// Every client: 1..N exactly once, in order, nothing else.
	bySeq := make([]string, total+1)
	for _, c := range clients {
		res.Hops += c.Conns
		res.Failures += c.Fails
		if len(c.Resets) > 0 || c.Gaps > 0 {
			t.Errorf("%s client: %d resets %v and %d gaps, want none", c.Transport, len(c.Resets), c.Resets, c.Gaps)
		}
		if len(c.Got) != total {
			t.Errorf("%s client: %d entries, want %d", c.Transport, len(c.Got), total)
		}
		if want := string(epoch) + ":" + strconv.Itoa(total); c.Cursor != want {
			t.Errorf("%s client: last cursor %q, want %q", c.Transport, c.Cursor, want)
		}
		for i, g := range c.Got {
			if g.Seq != uint64(i+1) {
				t.Errorf("%s client: entry #%d has seq %d, want %d", c.Transport, i+1, g.Seq, i+1)
				break
			}
			if i >= total {
				break
			}
			if bySeq[g.Seq] == "" {
				bySeq[g.Seq] = g.Data
			} else if bySeq[g.Seq] != g.Data {
				t.Errorf("%s client: seq %d = %q, another client got %q", c.Transport, g.Seq, g.Data, bySeq[g.Seq])
				break
			}
		}
	}
	// Every publish is in the log exactly once.
	seen := make(map[string]int, total)
	for _, d := range bySeq[1:] {
		seen[d]++
	}
	for p := range nodes {
		for i := range o.PerNode {
			if k := fmt.Sprintf("node%d-%d", p, i); seen[k] != 1 {
				t.Errorf("publish %s is in the log %d times, want once", k, seen[k])
				return res
			}
		}
	}
	res.Entries = total
	res.Clients = len(clients)
	res.Epoch = epoch
	return res
}

// Latency is a publish-to-delivery measurement.
type Latency struct {
	P50, P99  time.Duration
	PerSecond float64 // entries delivered per second to every subscriber
}

// Measure publishes n entries from publishers spread over the nodes, as
// fast as they are acknowledged, while a subscriber on every node receives
// them, and returns the publish-to-delivery latency over all subscribers
// and the rate at which entries reached every subscriber. Each entry
// carries its publish time, so subscribers need no shared state.
//
// A positive rate paces the publishers to that many entries per second in
// all, so that the latency is the pipeline's, not a queue's; zero
// publishes as fast as acknowledgements come back.
func Measure(ctx context.Context, nodes []*Node, n, publishers int, rate float64) (Latency, error) {
	subs := make([]hub.Subscription, len(nodes))
	for i, nd := range nodes {
		s, err := nd.Topic.Subscribe(ctx, hub.FromNow())
		if err != nil {
			return Latency{}, err
		}
		defer s.Close()
		subs[i] = s
	}
	var next atomic.Int64
	lat := make([][]time.Duration, len(subs))
	ends := make([]time.Time, len(subs))
	errs := make(chan error, len(subs)+publishers)
	var wg sync.WaitGroup
	begin := time.Now()
	for i, s := range subs {
		wg.Go(func() {
			ds := make([]time.Duration, 0, n)
			for range n {
				e, err := s.Next(ctx)
				if err != nil {
					errs <- err
					return
				}
				ns, err := strconv.ParseInt(string(e.Data), 10, 64)
				if err != nil {
					errs <- err
					return
				}
				ds = append(ds, time.Duration(time.Now().UnixNano()-ns))
			}
			lat[i] = ds
			ends[i] = time.Now()
		})
	}
	for p := range publishers {
		wg.Go(func() {
			tp := nodes[p%len(nodes)].Topic
			for {
				k := next.Add(1)
				if k > int64(n) {
					return
				}
				if rate > 0 {
					if d := time.Until(begin.Add(time.Duration(float64(k-1) / rate * float64(time.Second)))); d > 0 {
						time.Sleep(d)
					}
				}
				if _, err := tp.Publish(ctx, "", strconv.AppendInt(nil, time.Now().UnixNano(), 10)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return Latency{}, err
	}
	var all []time.Duration
	var end time.Time
	for i, ds := range lat {
		all = append(all, ds...)
		if ends[i].After(end) {
			end = ends[i]
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	return Latency{
		P50:       all[len(all)/2],
		P99:       all[len(all)*99/100],
		PerSecond: float64(n) / end.Sub(begin).Seconds(),
	}, nil
}
