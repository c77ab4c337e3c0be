package jetstream

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
)

// natsServer is an embedded nats-server with JetStream, on loopback, that
// a test can stop and start again on the same port and store.
type natsServer struct {
	t    testing.TB
	opts server.Options

	mu  sync.Mutex
	srv *server.Server
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startNATS starts a single nats-server with JetStream storing under a
// temporary directory; it is shut down when the test ends.
func startNATS(t testing.TB) *natsServer {
	t.Helper()
	s := &natsServer{t: t, opts: server.Options{
		ServerName: "n1",
		Host:       "127.0.0.1",
		Port:       freePort(t),
		JetStream:  true,
		StoreDir:   t.TempDir(),
		NoLog:      true,
		NoSigs:     true,
	}}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *natsServer) start() {
	s.t.Helper()
	opts := s.opts
	srv, err := server.NewServer(&opts)
	if err != nil {
		s.t.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(20 * time.Second) {
		s.t.Fatal("nats-server not ready in 20 s")
	}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
}

// stop shuts the server down (all its connections are cut) and waits.
func (s *natsServer) stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
	}
}

func (s *natsServer) restart(t *testing.T) {
	s.stop()
	s.start()
}

func (s *natsServer) url() string {
	return fmt.Sprintf("nats://%s:%d", s.opts.Host, s.opts.Port)
}

// wipe deletes every pushwire stream.
func (s *natsServer) wipe(t *testing.T) {
	t.Helper()
	nc, err := nats.Connect(s.url())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := natsjs.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	names := js.StreamNames(ctx)
	var all []string
	for n := range names.Name() {
		all = append(all, n)
	}
	for _, n := range all {
		if strings.HasPrefix(n, "pw") {
			if err := js.DeleteStream(ctx, n); err != nil {
				t.Fatalf("deleting stream %s: %v", n, err)
			}
		}
	}
}
