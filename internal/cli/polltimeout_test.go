package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestServePollTimeout: serve's -poll-timeout is how long a long poll of
// /chat waits before its empty answer (the default is 20 s, so an answer
// between 300 ms and 15 s is the flag's); a zero or negative value is a
// usage error.
func TestServePollTimeout(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"serve", "-addr", "127.0.0.1:0", "-poll-timeout", "300ms"}, &out, &errb, nil)
	}()
	defer func() {
		cancel()
		<-done
	}()
	openLine := regexp.MustCompile(`open (http://127\.0\.0\.1:\d+/)`)
	var base string
	for deadline := time.Now().Add(10 * time.Second); base == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := openLine.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
		}
	}
	if base == "" {
		t.Fatalf("serve printed no address: stdout %q, stderr %q", out.String(), errb.String())
	}
	client := &http.Client{Timeout: 15 * time.Second}
	t0 := time.Now()
	resp, err := client.Get(base + "chat?transport=poll")
	if err != nil {
		t.Fatalf("a poll of /chat with -poll-timeout 300ms: %v (the default timeout is 20 s)", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if took := time.Since(t0); took < 300*time.Millisecond {
		t.Errorf("the poll was answered after %v, before -poll-timeout 300ms", took)
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"entries":[]`) {
		t.Errorf("poll answer = %s %q, want 200 with no entries", resp.Status, body)
	}

	for _, bad := range []string{"0s", "-1s"} {
		var errOut bytes.Buffer
		if code := Main(context.Background(), []string{"serve", "-addr", "127.0.0.1:0", "-poll-timeout", bad}, io.Discard, &errOut, nil); code != 2 || !strings.Contains(errOut.String(), "-poll-timeout") {
			t.Errorf("serve -poll-timeout %s = %d, %q; want 2 and a message naming the flag", bad, code, errOut.String())
		}
	}
}
