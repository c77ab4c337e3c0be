package h2stream_test

import (
	"context"
	"io"
	"net/http"
	"net/url"

	"github.com/pushwire/pushwire/internal/h2stream"
)

// A server echoes the bytes of every extended CONNECT stream.
func ExampleAccept() {
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect || r.Header.Get(":protocol") == "" {
			http.Error(w, "extended CONNECT only", http.StatusBadRequest)
			return
		}
		c, err := h2stream.Accept(w, r) // answers 200
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			io.Copy(c, c)
		}()
		<-c.Done() // the handler's return would end the stream
	})
	_ = echo
}

// A client opens a stream and writes to it.
func ExampleDial() {
	u, _ := url.Parse("https://example.com/stream")
	req := &http.Request{
		Method: http.MethodConnect, URL: u, Proto: "HTTP/2.0", ProtoMajor: 2,
		Header: http.Header{":protocol": {"my-protocol"}},
	}
	ctx := context.Background()
	c, resp, err := h2stream.Dial(ctx, http.DefaultTransport.(*http.Transport), req)
	if err != nil {
		return
	}
	if c == nil { // refused: not 2xx
		resp.Body.Close()
		return
	}
	defer c.Close()
	c.Write([]byte("hello"))
}
