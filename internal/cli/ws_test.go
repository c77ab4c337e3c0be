package cli

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pushwire/pushwire/wsproto"
	"github.com/pushwire/pushwire/wsproto/frame"
)

// startEcho runs `pushwire echo` on a free port until the test ends and
// returns its ws:// URL.
func startEcho(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- runEcho(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), pw, io.Discard)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	line, err := bufio.NewReader(pr).ReadString('\n')
	go io.Copy(io.Discard, pr)
	// "pushwire echo: listening on ws://127.0.0.1:PORT/"
	_, url, ok := strings.Cut(strings.TrimSpace(line), "listening on ")
	if err != nil || !ok {
		t.Fatalf("echo said %q, %v", line, err)
	}
	return url
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor waits until b contains want.
func (s *syncBuffer) waitFor(t *testing.T, want string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(s.String(), want); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("output has no %q after 10 s:\n%s", want, s.String())
		}
	}
}

func runWSArgs(stdin io.Reader, tty bool, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = runWS(context.Background(), args, stdin, &out, &errb, tty)
	return code, out.String(), errb.String()
}

// TestWSPipe: in pipe mode each line of input is a message, each message
// a line of output, and the end of the input closes with 1000; the close
// is reported on stderr.
func TestWSPipe(t *testing.T) {
	url := startEcho(t)
	in := "hello\nworld, with spaces\n\n" + strings.Repeat("x", 100000) + "\n"
	code, stdout, stderr := runWSArgs(strings.NewReader(in), false, url)
	if code != 0 || stdout != in {
		t.Errorf("ws = %d, stdout %.80q; want 0 and the input echoed", code, stdout)
	}
	if want := "pushwire ws: closed: sent 1000 (normal closure), the server answered 1000 (normal closure)\n"; stderr != want {
		t.Errorf("stderr = %q, want %q", stderr, want)
	}
}

// TestWSPipeJSON: -json shows each message with its type, binary in
// base64, and the close code last.
func TestWSPipeJSON(t *testing.T) {
	url := startEcho(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"text", []string{"-json"}, `{"type":"text","data":"a \"quoted\" <line>"}` + "\n" + `{"type":"close","code":1000}` + "\n"},
		{"binary", []string{"-json", "-binary"}, `{"type":"binary","data":"YSAicXVvdGVkIiA8bGluZT4="}` + "\n" + `{"type":"close","code":1000}` + "\n"},
		{"compress", []string{"-json", "-compress"}, `{"type":"text","data":"a \"quoted\" <line>"}` + "\n" + `{"type":"close","code":1000}` + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runWSArgs(strings.NewReader("a \"quoted\" <line>\n"), false, append(tc.args, url)...)
			if code != 0 || stdout != tc.want || stderr != "" {
				t.Errorf("ws %v = %d, stdout %q, stderr %q; want 0, %q", tc.args, code, stdout, stderr, tc.want)
			}
		})
	}
}

// TestWSInteractive: the line mode for people, against pushwire echo:
// messages shown after "< ", the connection described, /ping answered,
// // escaping a slash, and /close with a code and reason.
func TestWSInteractive(t *testing.T) {
	url := startEcho(t)
	pr, pw := io.Pipe()
	var out syncBuffer
	var errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- runWS(context.Background(), []string{"-compress", "-ping", "20ms", url}, pr, &out, &errb, true)
	}()
	defer pw.Close()
	out.waitFor(t, `* connected to `+url+` (subprotocol "", extensions "permessage-deflate`)
	io.WriteString(pw, "hi there\n")
	out.waitFor(t, "< hi there\n")
	out.waitFor(t, "* pong\n") // a heartbeat's pong, every 20 ms
	io.WriteString(pw, "/ping hello\n")
	out.waitFor(t, "* pong hello\n")
	out.waitFor(t, "* pong after ")
	io.WriteString(pw, "//not a command\n/nope\n")
	out.waitFor(t, "< /not a command\n")
	out.waitFor(t, "* unknown command /nope")
	io.WriteString(pw, "/close 1006\n") // not sendable: refused, still open
	out.waitFor(t, "* cannot close with that")
	io.WriteString(pw, "/close 4001 see you\n")
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit status %d, want 0", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ws did not end after /close")
	}
	if want := "* closed: sent 4001 (application) see you, the server answered 4001 (application)\n"; !strings.HasSuffix(out.String(), want) {
		t.Errorf("output ends with %q, want %q", lastLine(out.String()), want)
	}
	if errb.Len() != 0 {
		t.Errorf("stderr = %q, want nothing", errb.String())
	}
}

func lastLine(s string) string {
	s = strings.TrimSuffix(s, "\n")
	return s[strings.LastIndex(s, "\n")+1:]
}

// TestWSServerCloses: when the server closes first, its code and reason
// are shown, and the headers and subprotocols of the flags reached it.
func TestWSServerCloses(t *testing.T) {
	srv := httptest.NewServer(wsproto.Handler(&wsproto.AcceptOptions{Subprotocols: []string{"chat.v2"}}, func(c *wsproto.Conn, r *http.Request) {
		c.Write(r.Context(), wsproto.MessageText, []byte("token "+r.Header.Get("Authorization")+", "+c.Subprotocol()))
		c.Write(r.Context(), wsproto.MessageBinary, []byte{0, 1, 0xfe})
		c.Close(frame.CloseGoingAway, "server restarting")
	}))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	for _, tc := range []struct {
		name       string
		tty        bool
		extra      []string
		wantOut    string
		wantErr    string
		wantInLast string
	}{
		{"pipe", false, nil, "token Bearer x1, chat.v2\n\x00\x01\xfe\n", "pushwire ws: closed by the server: 1001 (going away) server restarting\n", ""},
		{"json", false, []string{"-json"}, `{"type":"text","data":"token Bearer x1, chat.v2"}` + "\n" + `{"type":"binary","data":"AAH+"}` + "\n" + `{"type":"close","code":1001,"reason":"server restarting"}` + "\n", "", ""},
		{"interactive", true, nil, "", "", "< token Bearer x1, chat.v2\n< [3 bytes] 0001fe\n* closed by the server: 1001 (going away) server restarting\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pr, pw := io.Pipe() // input that never ends: the server ends it all
			defer pw.Close()
			args := append([]string{"-H", "Authorization: Bearer x1", "-subprotocol", "chat.v1,chat.v2"}, tc.extra...)
			code, stdout, stderr := runWSArgs(pr, tc.tty, append(args, url)...)
			if code != 0 {
				t.Errorf("exit status %d, want 0", code)
			}
			if tc.wantInLast != "" {
				if !strings.HasSuffix(stdout, tc.wantInLast) {
					t.Errorf("stdout = %q, want it to end with %q", stdout, tc.wantInLast)
				}
			} else if stdout != tc.wantOut {
				t.Errorf("stdout = %q, want %q", stdout, tc.wantOut)
			}
			if stderr != tc.wantErr {
				t.Errorf("stderr = %q, want %q", stderr, tc.wantErr)
			}
		})
	}
}

// TestWSFailures: a refusal shows the status and body; a connection
// dropped without a close frame is a failure; bad usage is status 2.
func TestWSFailures(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/drop" {
			c, err := wsproto.Accept(w, r, nil)
			if err == nil {
				c.CloseNow()
			}
			return
		}
		http.Error(w, "members only", http.StatusForbidden)
	}))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	code, stdout, stderr := runWSArgs(strings.NewReader(""), false, url+"/")
	if code != 1 || stdout != "" || stderr != "pushwire ws: refused: 403 Forbidden: members only\n" {
		t.Errorf("refused: %d, %q, %q", code, stdout, stderr)
	}
	pr, pw := io.Pipe()
	defer pw.Close()
	code, stdout, stderr = runWSArgs(pr, false, "-json", url+"/drop")
	if code != 1 || !strings.HasPrefix(stdout, `{"type":"close","code":1006,"error":`) {
		t.Errorf("dropped: %d, %q, %q; want 1 and a 1006 close line", code, stdout, stderr)
	}
	for _, args := range [][]string{{}, {"a", "b"}, {"-H", "nocolon", url}, {"-nope", url}} {
		if code, _, _ := runWSArgs(strings.NewReader(""), false, args...); code != 2 {
			t.Errorf("ws %q = %d, want 2", args, code)
		}
	}
	if code, _, stderr := runWSArgs(strings.NewReader(""), false, "-h"); code != 0 || !strings.Contains(stderr, "usage: pushwire ws") {
		t.Errorf("ws -h = %d, %q; want 0 and the usage", code, stderr)
	}
}

// TestHelp: every command's -h prints a description and exits 0; the
// overview names the chat's path.
func TestHelp(t *testing.T) {
	for _, cmd := range []string{"serve", "echo", "sse", "ws"} {
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{cmd, "-h"}, strings.NewReader(""), &out, &errb, &Config{})
		if code != 0 || !strings.Contains(errb.String(), "usage: pushwire "+cmd) {
			t.Errorf("pushwire %s -h = %d, %q", cmd, code, errb.String())
		}
	}
	var out bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, strings.NewReader(""), &out, io.Discard, &Config{}); code != 0 || !strings.Contains(out.String(), "chat at /chat") || strings.Contains(out.String(), "/ws") {
		t.Errorf("pushwire --help = %d, %q; want the chat at /chat", code, out.String())
	}
}
