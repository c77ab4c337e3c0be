package cli

import (
	"bytes"
	"context"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pushwire/pushwire/wsproto"
	"github.com/pushwire/pushwire/wsproto/frame"
)

// heapInUse returns the bytes of heap objects after two collections (the
// second empties what sync.Pools held at the first).
func heapInUse() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// TestEchoIdleAfterLargeMessage: an echo connection that received a large
// message and waits for the next one does not keep the message's buffer.
func TestEchoIdleAfterLargeMessage(t *testing.T) {
	const conns = 8
	const size = 2 << 20
	srv := httptest.NewServer(echoHandler(64<<20, false))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	// Generous: a loaded machine under the race detector is slow.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	msg := bytes.Repeat([]byte{'a'}, size)
	var cs []*wsproto.Conn
	before := heapInUse()
	for range conns {
		c, _, err := wsproto.Dial(ctx, url, &wsproto.DialOptions{ReadLimit: 2 * size})
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		cs = append(cs, c)
		if err := c.Write(ctx, wsproto.MessageBinary, msg); err != nil {
			t.Fatal(err)
		}
		if _, got, err := c.Read(ctx, nil); err != nil || len(got) != size {
			t.Fatalf("echo = %d bytes, %v; want %d bytes", len(got), err, size)
		}
	}
	// The server's readers now wait for the next message; the echo came
	// back, so each is past its Write.
	held := (heapInUse() - before) / conns
	runtime.KeepAlive(msg)
	t.Logf("%d bytes held per idle connection (client and server)", held)
	if held > 128<<10 {
		t.Errorf("after echoing a %d-byte message, an idle echo connection holds %d bytes, want at most %d", size, held, 128<<10)
	}
	for _, c := range cs {
		c.Close(frame.CloseNormal, "")
	}
}
