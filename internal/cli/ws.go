package cli

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pushwire/pushwire/handshake"
	"github.com/pushwire/pushwire/internal/oneline"
	"github.com/pushwire/pushwire/wsproto"
	"github.com/pushwire/pushwire/wsproto/frame"
)

const wsUsage = `usage: pushwire ws [flags] URL

A WebSocket client for the command line. Each line read from standard input
is sent as one message; each message received is written to standard output,
one per line. When standard input ends, the client closes the connection
(code 1000) and waits for the server's close frame; the close code and
reason are shown at the end, on standard error (with -json, as the last
line of standard output).

On a terminal (or with -interactive) it is a line mode for people:
received messages are shown after "< ", and lines starting with / are
commands: /ping [text], /close [code [reason]], //text sends /text.

Exit status: 0 when the connection ended with a close frame, 1 when it
failed (refused, dropped without a close frame), 2 for bad usage, 130 on
an interrupt (the connection is closed with 1001 first).

flags:
`

// headerFlags collects -H "Name: value" flags.
type headerFlags http.Header

func (h headerFlags) String() string { return "" }

func (h headerFlags) Set(v string) error {
	name, value, ok := strings.Cut(v, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return fmt.Errorf("want \"Name: value\", got %q", v)
	}
	http.Header(h).Add(name, strings.TrimSpace(value))
	return nil
}

// listFlags collects repeated or comma-separated values.
type listFlags []string

func (l *listFlags) String() string { return strings.Join(*l, ",") }

func (l *listFlags) Set(v string) error {
	for p := range strings.SplitSeq(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

// wsJSON is one line of -json output.
type wsJSON struct {
	Type   string `json:"type"`             // text, binary or close
	Data   string `json:"data,omitempty"`   // text as is, binary in base64
	Code   int    `json:"code,omitempty"`   // close: the close code
	Reason string `json:"reason,omitempty"` // close: the reason
	Error  string `json:"error,omitempty"`  // close: what went wrong, if it failed
}

// runWS implements `pushwire ws [flags] URL`; args exclude "ws". tty says
// whether stdin is a terminal, which makes interactive mode the default.
func runWS(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, tty bool) int {
	fs := flag.NewFlagSet("ws", flag.ContinueOnError)
	fs.SetOutput(stderr)
	headers := headerFlags{}
	var protocols listFlags
	fs.Var(headers, "H", "add a request `header` \"Name: value\" (repeatable), such as Origin or Authorization")
	fs.Var(&protocols, "subprotocol", "offer a `subprotocol` (repeatable or comma-separated)")
	asJSON := fs.Bool("json", false, `print one JSON object per message, {"type":"text"|"binary","data":…} (binary in base64), and {"type":"close","code":…,"reason":…} at the end`)
	binary := fs.Bool("binary", false, "send each line as a binary message instead of text")
	compress := fs.Bool("compress", false, "offer permessage-deflate (RFC 7692)")
	ping := fs.Duration("ping", 0, "send a ping every `interval` and close the connection if no pong comes within it (0: none)")
	interactive := fs.Bool("interactive", tty, "line mode for people, with commands (default when standard input is a terminal)")
	insecure := fs.Bool("insecure", false, "accept any TLS certificate (for servers with self-signed ones, such as pushwire echo -tls)")
	limit := fs.Int64("limit", 64<<20, "largest message to accept, in `bytes`")
	fs.Usage = func() {
		fmt.Fprint(stderr, wsUsage)
		fs.PrintDefaults()
	}
	if ok, code := parseFlags(fs, args, 1); !ok {
		return code
	}
	url := fs.Arg(0)

	w := &wsOutput{stdout: stdout, stderr: stderr, json: *asJSON, interactive: *interactive && !*asJSON}
	opts := &wsproto.DialOptions{
		Header:       http.Header(headers),
		Subprotocols: protocols,
		ReadLimit:    *limit,
		PingInterval: *ping,
	}
	if *compress {
		opts.Compression = &wsproto.CompressionOptions{}
	}
	if *insecure {
		opts.TLSConfig = &tls.Config{InsecureSkipVerify: true}
	}
	if w.interactive {
		opts.OnPong = func(p []byte) { w.status("%s", strings.TrimSpace("pong "+visible(string(p)))) }
	}
	c, resp, err := wsproto.Dial(ctx, url, opts)
	if err != nil {
		var re *handshake.ResponseError
		if errors.As(err, &re) && re.StatusCode != 0 && resp != nil {
			body, _ := io.ReadAll(resp.Body)
			fmt.Fprintf(stderr, "pushwire ws: refused: %s: %s\n", resp.Status, visible(strings.TrimSpace(string(body))))
		} else {
			fmt.Fprintf(stderr, "pushwire ws: %s\n", oneline.Of(err.Error()))
		}
		if ctx.Err() != nil {
			return 130
		}
		return 1
	}
	defer c.CloseNow()
	if w.interactive {
		w.status("connected to %s (subprotocol %q, extensions %q); /ping, /close [code [reason]], end of input closes", url, c.Subprotocol(), c.Extensions())
	}

	// The reader prints every message until the connection ends.
	readErr := make(chan error, 1)
	go func() {
		var buf []byte
		for {
			typ, msg, err := c.Read(context.Background(), buf)
			if err != nil {
				readErr <- err
				return
			}
			w.message(typ, msg)
			buf = msg
		}
	}()

	// The input loop sends lines; it ends at the end of the input or at a
	// /close command, and is left behind if the server closes first.
	inputDone := make(chan closeRequest, 1)
	typ := wsproto.MessageText
	if *binary {
		typ = wsproto.MessageBinary
	}
	go func() {
		inputDone <- sendLines(c, stdin, typ, w)
	}()

	var end error
	var sent *closeRequest
	select {
	case end = <-readErr:
	case req := <-inputDone:
		sent = &req
	case <-ctx.Done():
		sent = &closeRequest{code: frame.CloseGoingAway}
	}
	if sent != nil {
		// Messages the server sends after the close frame are dropped
		// (RFC 6455 §1.4, and browsers do the same); those it sent before
		// are still on their way. A ping first, whose pong follows them,
		// lets the reader take them all before the close.
		if ctx.Err() == nil {
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			c.Ping(pctx, nil)
			cancel()
		}
		if err := c.Close(sent.code, sent.reason); err != nil {
			c.CloseNow() // the reader returns in any case
		}
		end = <-readErr
	}
	code := w.closed(end, sent)
	interrupted := ctx.Err() != nil
	if interrupted {
		return 130
	}
	return code
}

// closeRequest is the close frame the input asks for.
type closeRequest struct {
	code   frame.CloseCode
	reason string
}

// sendLines sends each line of in as a message of type typ, and handles the
// commands of interactive mode. It returns the close frame to send.
func sendLines(c *wsproto.Conn, in io.Reader, typ wsproto.MessageType, w *wsOutput) closeRequest {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if w.interactive && len(line) > 0 && line[0] == '/' {
			if len(line) > 1 && line[1] == '/' {
				line = line[1:]
			} else if req, ok := w.command(c, string(line)); ok {
				return req
			} else {
				continue
			}
		}
		if err := c.Write(context.Background(), typ, line); err != nil {
			return closeRequest{code: frame.CloseNormal}
		}
	}
	if err := sc.Err(); err != nil {
		w.status("reading input: %s", oneline.Of(err.Error()))
	}
	return closeRequest{code: frame.CloseNormal}
}

// wsOutput writes what the client shows, in the chosen format; its
// methods may be called from the reading and the input goroutines.
type wsOutput struct {
	mu          sync.Mutex
	stdout      io.Writer
	stderr      io.Writer
	json        bool
	interactive bool
	enc         *json.Encoder
}

func (w *wsOutput) emit(v wsJSON) {
	if w.enc == nil {
		w.enc = json.NewEncoder(w.stdout)
		w.enc.SetEscapeHTML(false)
	}
	w.enc.Encode(v)
}

// message shows a received message.
func (w *wsOutput) message(typ wsproto.MessageType, msg []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.json && typ == wsproto.MessageBinary:
		w.emit(wsJSON{Type: "binary", Data: base64.StdEncoding.EncodeToString(msg)})
	case w.json:
		w.emit(wsJSON{Type: "text", Data: string(msg)})
	case w.interactive && typ == wsproto.MessageBinary:
		fmt.Fprintf(w.stdout, "< [%d bytes] %x\n", len(msg), msg)
	case w.interactive:
		fmt.Fprintf(w.stdout, "< %s\n", visible(string(msg)))
	default:
		// Pipe mode: the payload as it is, one message per line.
		w.stdout.Write(append(msg, '\n'))
	}
}

// status shows a line about the connection in interactive mode.
func (w *wsOutput) status(format string, args ...any) {
	if !w.interactive {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	fmt.Fprintf(w.stdout, "* "+format+"\n", args...)
}

// command runs an interactive command; it returns a close request for
// /close.
func (w *wsOutput) command(c *wsproto.Conn, line string) (closeRequest, bool) {
	name, rest, _ := strings.Cut(line, " ")
	switch name {
	case "/close", "/quit":
		req := closeRequest{code: frame.CloseNormal}
		if rest = strings.TrimSpace(rest); rest != "" {
			codeText, reason, _ := strings.Cut(rest, " ")
			n, err := strconv.ParseUint(codeText, 10, 16)
			if err != nil {
				w.status("usage: /close [code [reason]]")
				return closeRequest{}, false
			}
			req.code, req.reason = frame.CloseCode(n), reason
			if _, err := frame.AppendClosePayload(nil, req.code, req.reason); err != nil {
				w.status("cannot close with that: %s", oneline.Of(err.Error()))
				return closeRequest{}, false
			}
		}
		return req, true
	case "/ping":
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		start := time.Now()
		if err := c.Ping(ctx, []byte(rest)); err != nil {
			w.status("ping: %s", oneline.Of(err.Error()))
		} else {
			w.status("pong after %v", time.Since(start).Round(time.Microsecond))
		}
	default:
		w.status("unknown command %s: /ping [text], /close [code [reason]], //text sends /text", visible(name))
	}
	return closeRequest{}, false
}

// closed shows how the connection ended and returns the exit status: err
// is the error that ended the reads, the peer's close frame if it sent one;
// sent is the close frame this client sent first, if it did.
func (w *wsOutput) closed(err error, sent *closeRequest) int {
	var ce frame.CloseError
	ok := errors.As(err, &ce)
	clean := ok && ce.Code != frame.CloseAbnormal
	w.mu.Lock()
	defer w.mu.Unlock()
	var text string
	if clean {
		text = fmt.Sprintf("closed by the server: %v", ce.Code)
		if ce.Reason != "" {
			text += " " + visible(ce.Reason)
		}
		if sent != nil {
			text = fmt.Sprintf("closed: sent %v", sent.code)
			if sent.reason != "" {
				text += " " + visible(sent.reason)
			}
			text += fmt.Sprintf(", the server answered %v", ce.Code)
		}
	}
	switch {
	case w.json:
		v := wsJSON{Type: "close", Code: int(ce.Code), Reason: ce.Reason}
		if !clean {
			v.Code = int(frame.CloseAbnormal)
			v.Error = oneline.Of(err.Error())
		}
		w.emit(v)
	case clean && w.interactive:
		fmt.Fprintf(w.stdout, "* %s\n", text)
	case clean:
		fmt.Fprintf(w.stderr, "pushwire ws: %s\n", text)
	default:
		fmt.Fprintf(w.stderr, "pushwire ws: connection failed: %s\n", oneline.Of(err.Error()))
	}
	if clean {
		return 0
	}
	return 1
}
