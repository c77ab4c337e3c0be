package redis

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/pushwire/pushwire/hub"
)

// redisServer is a redis-server process on loopback that a test starts,
// kills and starts again on the same port and append-only file: every
// write is in the file before Redis answers it (appendfsync always).
type redisServer struct {
	t     testing.TB
	bin   string
	dir   string
	port  int
	fsync string   // appendfsync: "always" unless said otherwise
	extra []string // more arguments

	mu  sync.Mutex
	cmd *exec.Cmd
}

// startRedis starts a redis-server for the test, or skips the test when
// none is installed; it is killed when the test ends.
func startRedis(t testing.TB) *redisServer {
	return startRedisFsync(t, "always")
}

// startRedisFsync is startRedis with another appendfsync policy:
// "everysec" writes the file at every write but syncs it once a second,
// which a killed server survives and a crashed machine may not.
func startRedisFsync(t testing.TB, fsync string) *redisServer {
	t.Helper()
	return startRedisArgs(t, fsync)
}

// startRedisArgs is startRedisFsync with more arguments for redis-server.
func startRedisArgs(t testing.TB, fsync string, extra ...string) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed (apt-get install redis-server; .ci/run does)")
	}
	s := &redisServer{t: t, bin: bin, dir: t.TempDir(), port: freePort(t), fsync: fsync, extra: extra}
	s.start()
	t.Cleanup(s.kill)
	return s
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

func (s *redisServer) addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

func (s *redisServer) url() string { return "redis://" + s.addr() }

// start runs redis-server and waits until it answers PING (after loading
// its append-only file).
func (s *redisServer) start() {
	s.t.Helper()
	if err := s.startErr(); err != nil {
		s.t.Fatal(err)
	}
}

// startErr is start, for a goroutine other than the test's.
func (s *redisServer) startErr() error {
	args := append([]string{
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--dir", s.dir, "--logfile", filepath.Join(s.dir, "redis.log"),
		"--appendonly", "yes", "--appendfsync", s.fsync,
		"--auto-aof-rewrite-percentage", "0", // no rewrite child to outlive a kill
		"--save", "",
		"--daemonize", "no"}, s.extra...)
	cmd := exec.Command(s.bin, args...)
	if err := cmd.Start(); err != nil {
		return err
	}
	s.mu.Lock()
	s.cmd = cmd
	s.mu.Unlock()
	deadline := time.Now().Add(20 * time.Second)
	for !s.ping() {
		if time.Now().After(deadline) {
			s.kill()
			return fmt.Errorf("redis-server on %s not ready in 20 s (log in %s)", s.addr(), s.dir)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// ping reports whether the server answers PING with PONG.
func (s *redisServer) ping() bool {
	c, err := net.DialTimeout("tcp", s.addr(), time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && line == "+PONG\r\n"
}

// kill ends the server with SIGKILL, as a crash would, and waits for it.
func (s *redisServer) kill() {
	s.mu.Lock()
	cmd := s.cmd
	s.cmd = nil
	s.mu.Unlock()
	if cmd != nil {
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	}
}

// restart kills the server and starts it again on its append-only file.
func (s *redisServer) restart(testing.TB) {
	s.kill()
	s.start()
}

// client returns a plain client of the server, closed when the test ends.
func (s *redisServer) client(t testing.TB) *goredis.Client {
	c := goredis.NewClient(&goredis.Options{Addr: s.addr(), DisableIdentity: true})
	t.Cleanup(func() { c.Close() })
	return c
}

// flushAll runs FLUSHALL: every log is gone.
func (s *redisServer) flushAll(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.client(t).FlushAll(ctx).Err(); err != nil {
		t.Fatalf("FLUSHALL: %v", err)
	}
}

// engine returns a new engine on the server, as one more node would
// make; the caller closes it.
func (s *redisServer) engine(t testing.TB) hub.Engine {
	e, err := Connect(s.url(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return e
}
