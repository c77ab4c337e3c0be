package wsproto

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"
	"unsafe"
)

// TestConnLock checks the lock that serializes reads and writes: mutual
// exclusion among many goroutines, a waiter that gives up when its context
// ends, and one that gives up when the connection closes.
func TestConnLock(t *testing.T) {
	server, client := pair(t, nil, nil)
	defer client.CloseNow()
	var l connLock
	var wg sync.WaitGroup
	inside, total := 0, 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 500 {
				if err := server.lock(context.Background(), &l); err != nil {
					t.Error(err)
					return
				}
				inside++
				if inside != 1 {
					t.Errorf("%d holders at once", inside)
				}
				total++
				inside--
				unlock(&l)
			}
		}()
	}
	wg.Wait()
	if total != 8*500 {
		t.Fatalf("total = %d, want %d", total, 8*500)
	}
	if !l.tryLock() {
		t.Fatal("tryLock on a free lock failed")
	}
	if l.tryLock() {
		t.Fatal("tryLock on a held lock succeeded")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := server.lock(ctx, &l); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("lock with an ending context: %v, want context.DeadlineExceeded", err)
	}
	done := make(chan error, 1)
	go func() { done <- server.lock(context.Background(), &l) }()
	time.Sleep(10 * time.Millisecond)
	server.CloseNow()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("lock on a closing connection: %v, want net.ErrClosed", err)
	}
	unlock(&l)
	if !l.tryLock() {
		t.Fatal("the lock is not free after unlock with waiters gone")
	}
}

// TestConnSize keeps a Conn within the 768-byte allocation size class,
// with the 8-byte header the runtime puts before an object over 512 bytes
// that holds pointers: an idle WebSocket is mostly its Conn (issue 14's
// 4 KiB per idle connection).
func TestConnSize(t *testing.T) {
	if n := unsafe.Sizeof(Conn{}) + 8; n > 768 {
		t.Fatalf("Conn is %d bytes with its allocation header, over the 768-byte size class", n)
	}
}
