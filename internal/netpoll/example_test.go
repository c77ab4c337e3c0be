package netpoll_test

import (
	"fmt"
	"net"

	"github.com/pushwire/pushwire/internal/netpoll"
)

// A connection that holds no goroutine while it waits: the callback reads
// what arrived without waiting, and arms the watch again for more.
func Example() {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	client, _ := net.Dial("tcp", ln.Addr().String())
	server, _ := ln.Accept()
	defer server.Close()

	got := make(chan string)
	var w *netpoll.Watch
	w, err := netpoll.Default().Watch(server, func(ev netpoll.Event) {
		buf := make([]byte, 64)
		n, err := w.TryRead(buf)
		switch {
		case err == netpoll.ErrWouldBlock:
			w.Arm() // spurious: wait again
		case err != nil:
			close(got) // the peer hung up
		default:
			got <- string(buf[:n])
			w.Arm()
		}
	})
	if err != nil {
		fmt.Println(err) // not a socket: read with a goroutine instead
		return
	}
	defer w.Stop() // before server.Close
	w.Arm()

	client.Write([]byte("hello"))
	fmt.Println(<-got)
	client.Close()
	_, open := <-got
	fmt.Println("open:", open)
	// Output:
	// hello
	// open: false
}
