// Command loadgen is the neutral load generator of peers/RESULTS.md: raw
// TCP sockets, WebSocket handshakes written by hand and frames built with
// wsproto/frame (which only encodes bytes), no WebSocket library. cmd/results
// runs several loadgen processes at once (one process may hold at most
// 20,000 descriptors here) and spreads their source addresses over
// 127.0.0.x.
//
// Usage:
//
//	loadgen worker                 answer commands on stdin (below)
//	loadgen frames -size N         serve an endless stream of N-byte binary
//	                               frames to every WebSocket client, for the
//	                               client-read rows
//
// A worker keeps sets of connections, named by the driver, and answers each
// command line with one line, "ok ..." or "err ...":
//
//	dial SET ADDR PATH N IP0 NIPS MODE   open N connections to ADDR PATH from
//	                                      127.0.0.IP0 … IP0+NIPS-1; MODE ws
//	                                      (the command that follows reads),
//	                                      ws-drain, sse-drain or ndjson-drain
//	                                      (a goroutine per connection reads
//	                                      everything, answers pings, counts
//	                                      messages), or poll-drain (a long
//	                                      poll per connection: the answer
//	                                      counts as a message if it has
//	                                      entries, then the client polls
//	                                      again from its cursor on a new
//	                                      connection)
//	close SET                             close the connections
//	echo SET SIZE WINDOW WARM DUR BATCH   keep WINDOW frames of SIZE bytes in
//	                                      flight per connection for WARM+DUR
//	                                      ms; "ok N" replies during DUR.
//	                                      BATCH 1 writes every free slot of
//	                                      the window in one write(2)
//	count SET SIZE WINDOW TOTAL           send TOTAL messages in all, WINDOW
//	                                      in flight per connection, and wait
//	                                      for every reply; "ok NS"
//	lat SET SIZE COUNT WARM               round trips of one message at a
//	                                      time on the first connection;
//	                                      "ok NS NS …", one per round trip
//	mark SET                              remember each connection's count
//	wait SET TIMEOUT                      wait (ms) until every connection
//	                                      got a message after mark; "ok GOT
//	                                      LAST" (LAST: Unix ns of the last
//	                                      first arrival)
//	wake SET K SIZE                       send one message on K connections
//	                                      spread over a drained set, one at
//	                                      a time; "ok NS NS …", each the
//	                                      round trip
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: loadgen worker | loadgen frames -size N")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "worker":
		worker(os.Stdin, os.Stdout)
	case "frames":
		fs := flag.NewFlagSet("frames", flag.ExitOnError)
		size := fs.Int("size", 16, "payload bytes per frame")
		addr := fs.String("addr", "127.0.0.1:0", "address to listen on")
		fs.Parse(os.Args[2:])
		if err := frameServer(*addr, *size); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
	default:
		fmt.Fprintf(os.Stderr, "loadgen: unknown command %q\n", os.Args[1])
		os.Exit(2)
	}
}

// set is a named group of connections a worker keeps, and the drains
// reading them.
type set struct {
	conns []*rconn
	wg    sync.WaitGroup // drains
}

func worker(in io.Reader, out io.Writer) {
	sets := map[string]*set{}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	w := bufio.NewWriter(out)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		reply, err := command(sets, f)
		if err != nil {
			reply = "err " + strings.ReplaceAll(err.Error(), "\n", " ")
		}
		fmt.Fprintln(w, reply)
		w.Flush()
	}
	for _, s := range sets {
		s.close()
	}
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		panic(fmt.Sprintf("loadgen: not a number: %q", s))
	}
	return n
}

func command(sets map[string]*set, f []string) (reply string, err error) {
	need := map[string]int{"dial": 8, "close": 2, "echo": 7, "count": 5, "lat": 5, "mark": 2, "wait": 3, "wake": 4}
	if n, ok := need[f[0]]; !ok || len(f) != n {
		return "", fmt.Errorf("bad command %q", strings.Join(f, " "))
	}
	if f[0] == "dial" {
		if _, ok := sets[f[1]]; ok {
			return "", fmt.Errorf("set %s exists", f[1])
		}
		s, err := dialSet(f[2], f[3], atoi(f[4]), atoi(f[5]), atoi(f[6]), f[7])
		if err != nil {
			return "", err
		}
		sets[f[1]] = s
		return fmt.Sprintf("ok %d", len(s.conns)), nil
	}
	s := sets[f[1]]
	if s == nil {
		return "", fmt.Errorf("no set %s", f[1])
	}
	switch f[0] {
	case "close":
		s.close()
		delete(sets, f[1])
		return "ok", nil
	case "echo":
		n, err := s.echo(atoi(f[2]), atoi(f[3]), time.Duration(atoi(f[4]))*time.Millisecond, time.Duration(atoi(f[5]))*time.Millisecond, f[6] == "1")
		return fmt.Sprintf("ok %d", n), err
	case "count":
		d, err := s.count(atoi(f[2]), atoi(f[3]), atoi(f[4]))
		return fmt.Sprintf("ok %d", d.Nanoseconds()), err
	case "lat":
		ds, err := s.latency(atoi(f[2]), atoi(f[3]), atoi(f[4]))
		return "ok " + joinNs(ds), err
	case "mark":
		for _, rc := range s.conns {
			rc.first.Store(0)
			rc.base.Store(rc.msgs.Load())
		}
		return "ok", nil
	case "wait":
		got, last := s.wait(time.Duration(atoi(f[2])) * time.Millisecond)
		return fmt.Sprintf("ok %d %d", got, last), nil
	case "wake":
		ds, err := s.wake(atoi(f[2]), atoi(f[3]))
		return "ok " + joinNs(ds), err
	}
	return "", errors.New("unreachable")
}

func joinNs(ds []time.Duration) string {
	var b strings.Builder
	for i, d := range ds {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatInt(d.Nanoseconds(), 10))
	}
	return b.String()
}
