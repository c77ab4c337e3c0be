//go:build ignore

// timeoutload checks the HTTP server timeouts of `pushwire serve` as a
// client that holds connections would meet them. It builds the command,
// starts it on a loopback port, and at once:
//
//   - idle: N keep-alive connections each make one GET and then stay
//     silent. Reported: when the server had closed all of them, and how
//     long a normal GET on a new connection took meanwhile.
//   - partial: a connection sends the first 3 bytes of its second request
//     and stops. Reported: when the server closed it.
//   - slow POST: a publish whose body comes at 1 byte/s. Reported: when the
//     server closed it, and how many bytes it had sent by then.
//   - SSE: an event stream of /chat held longer than every timeout, then a
//     message published on it. Reported: whether it arrived.
//
// It is bounded: N connections (default 2,000; the process needs N + a
// few file descriptors, and so does the server), about -hold (45 s).
//
//	go run scripts/timeoutload.go
//	go run scripts/timeoutload.go -n 10000 -hold 40s
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	n := flag.Int("n", 2000, "idle keep-alive connections")
	hold := flag.Duration("hold", 45*time.Second, "how long the scenarios last; more than the 30 s IdleTimeout")
	bin := flag.String("bin", "", "a pushwire binary to test (default: go build ./cmd/pushwire)")
	flag.Parse()

	if *bin == "" {
		dir, err := os.MkdirTemp("", "timeoutload")
		check(err)
		defer os.RemoveAll(dir)
		*bin = filepath.Join(dir, "pushwire")
		out, err := exec.Command("go", "build", "-o", *bin, "./cmd/pushwire").CombinedOutput()
		if err != nil {
			fail("go build: %v\n%s", err, out)
		}
	}
	// No publish rate limit: the scenarios publish from one address.
	cmd := exec.Command(*bin, "serve", "-addr", "127.0.0.1:0", "-publish-rate", "0")
	stdout, err := cmd.StdoutPipe()
	check(err)
	cmd.Stderr = os.Stderr
	check(cmd.Start())
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}()
	out := bufio.NewReader(stdout)
	line, err := out.ReadString('\n')
	check(err)
	go io.Copy(io.Discard, out)
	// "pushwire serve: open http://127.0.0.1:PORT/ (...)"
	_, rest, ok := strings.Cut(line, "http://")
	if !ok {
		fail("unexpected first line %q", line)
	}
	addr, _, _ := strings.Cut(rest, "/")
	start := time.Now()
	since := func() string { return fmt.Sprintf("%.1f s", time.Since(start).Seconds()) }

	var wg sync.WaitGroup
	// SSE first: it must outlast everything below.
	sseGot := make(chan string, 1)
	resp, err := http.Get("http://" + addr + "/chat?transport=sse")
	check(err)
	defer resp.Body.Close()
	wg.Go(func() {
		b := make([]byte, 4096)
		var got []byte
		for !strings.Contains(string(got), "after the timeouts") {
			k, err := resp.Body.Read(b)
			got = append(got, b[:k]...)
			if err != nil {
				sseGot <- fmt.Sprintf("the stream ended at %s: %v", since(), err)
				return
			}
		}
		sseGot <- "the message arrived at " + since()
	})

	// idle
	var idleOpen atomic.Int64
	var lastIdleClose atomic.Int64 // ns since start
	get := "GET /pushwire.js HTTP/1.1\r\nHost: " + addr + "\r\n\r\n"
	for range *n {
		nc, err := net.Dial("tcp", addr)
		check(err)
		_, err = io.WriteString(nc, get)
		check(err)
		br := bufio.NewReader(nc)
		r, err := http.ReadResponse(br, nil)
		check(err)
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
		idleOpen.Add(1)
		wg.Go(func() {
			defer nc.Close()
			nc.SetReadDeadline(time.Now().Add(*hold))
			if _, err := br.ReadByte(); err == io.EOF {
				lastIdleClose.Store(int64(time.Since(start)))
				idleOpen.Add(-1)
			}
		})
	}
	fmt.Printf("idle: %d keep-alive connections made one GET each by %s\n", *n, since())

	// partial
	partial := make(chan string, 1)
	wg.Go(func() {
		nc, err := net.Dial("tcp", addr)
		check(err)
		defer nc.Close()
		io.WriteString(nc, get)
		br := bufio.NewReader(nc)
		r, err := http.ReadResponse(br, nil)
		check(err)
		io.Copy(io.Discard, r.Body)
		io.WriteString(nc, "GET")
		t0 := time.Now()
		nc.SetReadDeadline(time.Now().Add(*hold))
		_, err = br.ReadByte()
		partial <- fmt.Sprintf("%v after the 3 bytes (%v)", time.Since(t0).Round(100*time.Millisecond), err)
	})

	// slow POST
	slow := make(chan string, 1)
	wg.Go(func() {
		nc, err := net.Dial("tcp", addr)
		check(err)
		defer nc.Close()
		body := strings.Repeat("x", 100)
		fmt.Fprintf(nc, "POST /chat HTTP/1.1\r\nHost: %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n", addr, len(body))
		t0 := time.Now()
		var sent atomic.Int64
		stop := make(chan struct{})
		go func() {
			for i := range len(body) {
				select {
				case <-stop:
					return
				case <-time.After(time.Second):
				}
				if _, err := io.WriteString(nc, body[i:i+1]); err != nil {
					return
				}
				sent.Add(1)
			}
		}()
		nc.SetReadDeadline(time.Now().Add(*hold))
		b, err := io.ReadAll(nc)
		close(stop)
		status, _, _ := strings.Cut(string(b), "\r\n")
		slow <- fmt.Sprintf("closed %v after the header, %d body bytes sent; answer %q (%v)", time.Since(t0).Round(100*time.Millisecond), sent.Load(), status, err)
	})

	// A normal GET on a new connection while the idle ones are held.
	time.Sleep(5 * time.Second)
	t0 := time.Now()
	r, err := http.Get("http://" + addr + "/pushwire.js")
	if err != nil {
		fmt.Printf("idle: a normal GET at %s failed: %v\n", since(), err)
	} else {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
		fmt.Printf("idle: a normal GET at %s with %d idle connections open: %s in %v\n", since(), idleOpen.Load(), r.Status, time.Since(t0).Round(time.Millisecond))
	}

	time.Sleep(time.Until(start.Add(*hold - 5*time.Second)))
	fmt.Printf("idle: %d of %d still open at %s; the last closed by the server at %.1f s\n", idleOpen.Load(), *n, since(), time.Duration(lastIdleClose.Load()).Seconds())
	fmt.Printf("partial: closed %s\n", <-partial)
	fmt.Printf("slow POST: %s\n", <-slow)
	r, err = http.Post("http://"+addr+"/chat", "application/json", strings.NewReader(`{"nick":"t","text":"after the timeouts"}`))
	check(err)
	r.Body.Close()
	fmt.Printf("SSE held %s: publish %s; %s\n", since(), r.Status, <-sseGot)
	resp.Body.Close()
	wg.Wait()
}

func check(err error) {
	if err != nil {
		fail("%v", err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "timeoutload: "+format+"\n", args...)
	os.Exit(1)
}
