package cli

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// h2Cases are the categories TestConformH2 runs: the command's plumbing
// over HTTP/2 (https:// URLs, -insecure, -tls), with framing, fragments,
// closes, the limits and the HTTP/2 handshake cases; conformance's TestH2
// runs the rest of the catalogue over HTTP/2.
const h2Cases = "1.*,5.*,7.*,15.*"

// TestConformH2 runs `pushwire conform server` over HTTP/2 (RFC 8441)
// against `pushwire echo`'s handler on HTTPS, with -strict, and `pushwire
// conform client -self -tls`, pushwire's client over HTTP/2, on h2Cases:
// every case OK or INFORMATIONAL (the exit code 0). net/http's HTTP/2
// server accepts extended CONNECT only when the process starts with
// GODEBUG=http2xconnect=1, so the work runs in a child process started
// with it.
func TestConformH2(t *testing.T) {
	if os.Getenv(h2ChildEnv) != "" {
		conformH2(t)
		return
	}
	if testing.Short() {
		t.Skip("re-executes the test binary; skipped in -short mode")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestConformH2$", "-test.v", "-test.count=1", "-test.timeout=10m")
	godebug := "http2xconnect=1"
	if g := os.Getenv("GODEBUG"); g != "" {
		godebug = g + "," + godebug
	}
	cmd.Env = append(os.Environ(), h2ChildEnv+"=1", "GODEBUG="+godebug)
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: TestConformH2")) {
		t.Fatalf("child process: %v\n%s", err, out)
	}
	if testing.Verbose() {
		t.Logf("child output:\n%s", out)
	}
}

// The runs' time unit is 5 s rather than the other tests' 2 s: the cases
// share one HTTP/2 connection, so one that moves megabytes (15.4.2,
// 15.5.1) holds up the frames of the cases beside it under the
// connection's flow control on a loaded machine. A longer unit only gives
// a peer more time.
func conformH2(t *testing.T) {
	srv := httptest.NewUnstartedServer(echoHandler(1<<20, true))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	var out, errb bytes.Buffer
	args := []string{"server", "-url", srv.URL + "/", "-insecure", "-cases", h2Cases, "-strict", "-timeout", "5s",
		"-parallel", "8", "-limit", "1048576", "-report", "", "-agent", "pushwire-h2", "-q"}
	if code := runConform(context.Background(), args, &out, &errb); code != 0 {
		t.Fatalf("runConform(%q) = %d, want 0\n%s%s", args, code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "pushwire-h2 (server): ") || strings.Contains(out.String(), "FAILED") {
		t.Errorf("server over HTTP/2: %s", out.String())
	}
	t.Log(strings.TrimSpace(out.String()))

	out.Reset()
	errb.Reset()
	// -strict here too: over HTTP/2 the close frame that pushwire's client
	// writes when it fails a connection with 1009 in 15.4.2 (64 MiB + 1
	// arriving) reaches the server before the stream ends (RFC 6455 §7.1.7),
	// because internal/h2stream's ClientConn.Close waits for the request
	// body to be sent before it resets the stream.
	args = []string{"client", "-self", "-tls", "-addr", "127.0.0.1:0", "-cases", h2Cases, "-strict", "-timeout", "5s", "-parallel", "8", "-report", "", "-q"}
	if code := runConform(context.Background(), args, &out, &errb); code != 0 {
		t.Fatalf("runConform(%q) = %d, want 0\n%s%s", args, code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "pushwire (client): ") || strings.Contains(out.String(), "FAILED") {
		t.Errorf("client over HTTP/2: %s", out.String())
	}
	t.Log(strings.TrimSpace(out.String()))
}
