package jetstream

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/pushwire/pushwire/hub"
)

// startCluster starts a JetStream cluster of n embedded nats-servers on
// loopback and waits until it can create streams.
func startCluster(t *testing.T, n int) []*natsServer {
	t.Helper()
	clientPorts := make([]int, n)
	routePorts := make([]int, n)
	var routes []string
	for i := range n {
		clientPorts[i], routePorts[i] = freePort(t), freePort(t)
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", routePorts[i]))
	}
	servers := make([]*natsServer, n)
	var wg sync.WaitGroup
	for i := range n {
		s := &natsServer{t: t, opts: server.Options{
			ServerName: fmt.Sprintf("s%d", i+1),
			Host:       "127.0.0.1",
			Port:       clientPorts[i],
			JetStream:  true,
			StoreDir:   t.TempDir(),
			NoLog:      true,
			NoSigs:     true,
			Cluster:    server.ClusterOpts{Name: "pw", Host: "127.0.0.1", Port: routePorts[i]},
			Routes:     server.RoutesFromStr(strings.Join(routes, ",")),
		}}
		servers[i] = s
		t.Cleanup(s.stop)
		wg.Go(s.start)
	}
	wg.Wait()
	// The meta leader must be elected before streams can be made.
	nc, err := nats.Connect(clusterURL(servers))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := natsjs.New(nc)
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := js.AccountInfo(ctx)
		cancel()
		if err == nil {
			return servers
		}
		if time.Now().After(deadline) {
			t.Fatalf("JetStream cluster not ready in 30 s: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func clusterURL(servers []*natsServer) string {
	var urls []string
	for _, s := range servers {
		urls = append(urls, s.url())
	}
	return strings.Join(urls, ",")
}

// TestLeaderKill: on an R3 stream of a three-server JetStream cluster, the
// server leading the stream is shut down in the middle of publishing;
// every publish that was acknowledged is in the log afterwards, at the
// sequence number it was acknowledged with, and no publish is in it twice
// (retries carry the same Nats-Msg-Id).
func TestLeaderKill(t *testing.T) {
	servers := startCluster(t, 3)
	eng, err := Connect(clusterURL(servers), &Options{Replicas: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const total, killAt = 1500, 500
	tp, err := hub.OpenTopic(ctx, eng, "leader-kill", &hub.TopicOptions{MaxEntries: 10000, MaxBytes: 16 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer tp.Close()

	acked := make(map[string]hub.Seq, total)
	var mu sync.Mutex
	var wg sync.WaitGroup
	const publishers = 3
	var killed string
	for p := range publishers {
		wg.Go(func() {
			for i := p; i < total; i += publishers {
				key := fmt.Sprintf("entry-%d", i)
				pctx, pcancel := context.WithTimeout(ctx, 60*time.Second)
				seq, err := tp.Append(pctx, key, "", []byte(key))
				pcancel()
				if err != nil {
					t.Errorf("Append(%s) = %v", key, err)
					return
				}
				mu.Lock()
				acked[key] = seq
				n := len(acked)
				mu.Unlock()
				if n == killAt {
					killed = killLeader(t, servers, "pw-leader-kill")
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if killed == "" {
		t.Fatal("no stream leader was killed")
	}
	// Read the whole log back (through the engine, from the survivors).
	el, err := eng.Open(ctx, "leader-kill", hub.Limits{MaxEntries: 10000, MaxBytes: 16 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer el.Close()
	var max hub.Seq
	for _, s := range acked {
		max = hub.Seq(maxU(uint64(max), uint64(s)))
	}
	var all []hub.Entry
	buf := make([]hub.Entry, 200)
	for deadline := time.Now().Add(30 * time.Second); ; {
		n, _, err := el.Read(ctx, hub.Seq(len(all)), buf)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range buf[:n] {
			if e.Seq != hub.Seq(len(all)+1) {
				t.Fatalf("log has entry %d after %d", e.Seq, len(all))
			}
			all = append(all, e)
		}
		if hub.Seq(len(all)) >= max {
			break
		}
		if n == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("log ends at %d, acknowledged entries go up to %d", len(all), max)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	count := map[string]int{}
	for _, e := range all {
		count[string(e.Data)]++
	}
	lost := 0
	for key, seq := range acked {
		if count[key] != 1 {
			t.Errorf("acknowledged %s is in the log %d times, want once", key, count[key])
		}
		if seq > hub.Seq(len(all)) || string(all[seq-1].Data) != key {
			lost++
			t.Errorf("acknowledged %s at seq %d, the log has %q there", key, seq, all[min(int(seq), len(all))-1].Data)
		}
	}
	t.Logf("killed stream leader %s after %d acknowledged publishes; %d acknowledged, %d in the log, %d lost",
		killed, killAt, len(acked), len(all), lost)
}

func maxU(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}

// killLeader shuts down the server that leads the stream and returns its
// name.
func killLeader(t *testing.T, servers []*natsServer, stream string) string {
	nc, err := nats.Connect(clusterURL(servers))
	if err != nil {
		t.Error(err)
		return ""
	}
	defer nc.Close()
	js, _ := natsjs.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		t.Error(err)
		return ""
	}
	info := s.CachedInfo()
	if info.Cluster == nil || info.Cluster.Leader == "" || len(info.Cluster.Replicas) != 2 {
		t.Errorf("stream %s: cluster info %+v, want a leader and two replicas", stream, info.Cluster)
		return ""
	}
	leader := info.Cluster.Leader
	for _, srv := range servers {
		if srv.opts.ServerName == leader {
			srv.stop()
			return leader
		}
	}
	t.Errorf("no server named %q", leader)
	return ""
}
