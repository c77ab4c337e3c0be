package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestDebugAddr runs echo and serve with -debug-addr and reads the runtime
// figures the measurements in peers/ use: goroutines and memstats from
// expvar, and the pprof index.
func TestDebugAddr(t *testing.T) {
	debugLine := regexp.MustCompile(`debug on (http://127\.0\.0\.1:\d+/)`)
	for _, cmd := range []string{"echo", "serve"} {
		t.Run(cmd, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			var out, errb lockedBuffer
			done := make(chan int, 1)
			go func() {
				done <- Main(ctx, []string{cmd, "-addr", "127.0.0.1:0", "-debug-addr", "127.0.0.1:0"}, &out, &errb, nil)
			}()
			var base string
			for deadline := time.Now().Add(10 * time.Second); base == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				if m := debugLine.FindStringSubmatch(out.String()); m != nil {
					base = m[1]
				}
			}
			if base == "" {
				cancel()
				<-done
				t.Fatalf("run(%s -debug-addr) printed no debug address: stdout %q, stderr %q", cmd, out.String(), errb.String())
			}
			resp, err := http.Get(base + "debug/vars")
			if err != nil {
				t.Fatal(err)
			}
			var vars struct {
				Goroutines int
				Memstats   struct{ HeapInuse, StackInuse uint64 }
			}
			err = json.NewDecoder(resp.Body).Decode(&vars)
			resp.Body.Close()
			if err != nil {
				t.Fatalf("GET /debug/vars: %v", err)
			}
			if vars.Goroutines < 2 || vars.Memstats.HeapInuse == 0 || vars.Memstats.StackInuse == 0 {
				t.Errorf("GET /debug/vars = %+v, want goroutines ≥ 2 and memstats", vars)
			}
			resp, err = http.Get(base + "debug/pprof/")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("goroutine")) {
				t.Errorf("GET /debug/pprof/ = %d %.80q, want 200 and the profile index", resp.StatusCode, body)
			}
			cancel()
			if code := <-done; code != 0 {
				t.Errorf("run(%s) = %d, want 0; stderr %q", cmd, code, errb.String())
			}
		})
	}
}

// TestDebugAddrOff checks that without -debug-addr nothing more listens.
func TestDebugAddrOff(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb lockedBuffer
	done := make(chan int, 1)
	go func() { done <- Main(ctx, []string{"echo", "-addr", "127.0.0.1:0"}, &out, &errb, nil) }()
	listening := false
	for deadline := time.Now().Add(10 * time.Second); !listening && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		listening = bytes.Contains([]byte(out.String()), []byte("listening on"))
	}
	cancel()
	<-done
	if !listening {
		t.Fatalf("echo printed no listening line: stdout %q, stderr %q", out.String(), errb.String())
	}
	if bytes.Contains([]byte(out.String()), []byte("debug on")) {
		t.Errorf("echo without -debug-addr printed %q", out.String())
	}
}
