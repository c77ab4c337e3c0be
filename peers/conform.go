package peers

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	coder "github.com/coder/websocket"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/gorilla/websocket"
	"github.com/lxzan/gws"

	"github.com/pushwire/pushwire/wsproto"
	"github.com/pushwire/pushwire/wsproto/frame"
)

// ConformPeer is an implementation as pushwire's conformance harness
// grades it: its echo server for the server role, its client (echoing)
// for the client role, and the echo app both use, stated in the reports.
type ConformPeer struct {
	Name string
	// App describes the echo application and its settings.
	App string
	// Skip says why the peer cannot run here; "" when it can.
	Skip string
	// Serve starts the echo server on loopback and returns its ws:// URL and
	// a function that stops it.
	Serve func() (url string, stop func(), err error)
	// Drive runs the client against the fuzzing server at base (ws://host:port)
	// as Autobahn's client drivers do: /getCaseCount, every case (parallel at
	// a time) on /runCase?case=N&agent=AGENT echoing what it receives, then
	// /updateReports.
	Drive func(ctx context.Context, base, agent string, parallel int) error
}

// ConformPeers returns every implementation the harness grades: pushwire,
// the Go peers (gorilla twice: with its plain echo, and with the UTF-8
// checking echo of its examples/autobahn, because gorilla leaves that
// check to the application), Python websockets and Node ws.
func ConformPeers() []*ConformPeer {
	py, pyWhy := python()
	nd, ndWhy := node("ws")
	return []*ConformPeer{
		goPeer("pushwire", "`wsproto.Handler` / `wsproto.Dial` with `ReadLimit` 64 MiB and `Compression` on (defaults); `Read`, then `Write` of the same type",
			pushwireEcho(), pushwireClient),
		goPeer("gorilla", "`Upgrader{EnableCompression: true}` / `Dialer{EnableCompression: true}`, `SetReadLimit(64 MiB)`; `ReadMessage`, then `WriteMessage`",
			gorillaConformEcho(false), gorillaClient(false)),
		goPeer("gorilla-utf8", "as gorilla, but the echo streams each message with `NextReader`/`NextWriter` and checks text for UTF-8 as it copies, closing with 1007 on invalid input, as gorilla's examples/autobahn does (gorilla leaves UTF-8 to the application)",
			gorillaConformEcho(true), gorillaClient(true)),
		goPeer("coder", "`CompressionContextTakeover`, `SetReadLimit(64 MiB)`; `Read`, then `Write`",
			coderEcho(), coderClient),
		goPeer("gobwas", "`ws.UpgradeHTTP` / `ws.Dial`, `wsutil.ReadClientData`/`ReadServerData` (UTF-8 check on, the default) and `WriteServerMessage`/`WriteClientMessage`, 64 MiB; no compression: gobwas's wsflate is a toolkit for a hand-written frame loop, not an option of these helpers",
			gobwasEcho(), gobwasClient),
		goPeer("gws", "`PermessageDeflate` with context takeover and 15-bit windows (gws's default of 12 bits makes it answer `client_max_window_bits=12` to offers without that parameter, which RFC 7692 §7.1.2.2 forbids), `ReadMaxPayloadSize` 64 MiB, `CheckUtf8Enabled`; `WriteMessage` from `OnMessage`, `ReadLoop` on its own goroutine",
			gwsConformEcho(), gwsClient),
		external("python-websockets", py, pyWhy, "testdata/conform_peer.py",
			"websockets "+pythonWebsocketsVersion(py)+" (asyncio): `async for message in websocket: await websocket.send(message)`, an asynchronous echo beside the protocol layer that answers pings and closes; library defaults (permessage-deflate, keepalive pings) except `max_size` 64 MiB"),
		external("node-ws", nd, ndWhy, "testdata/conform_peer.js",
			"ws "+nodeWSVersion()+": on `message`, `send(data, {binary})`; an `error` listener on every socket, as any real application has; `maxPayload` 64 MiB, `perMessageDeflate` on (the server's default is off)"),
	}
}

// goPeer is a Go implementation: an echo handler and a client echo loop.
func goPeer(name, app string, echo http.Handler, client func(ctx context.Context, url string)) *ConformPeer {
	return &ConformPeer{
		Name: name,
		App:  app,
		Serve: func() (string, func(), error) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return "", nil, err
			}
			srv := &http.Server{Handler: echo, ReadHeaderTimeout: 10 * time.Second, ErrorLog: quietLog()}
			go srv.Serve(ln)
			return "ws://" + ln.Addr().String() + "/", func() { srv.Close() }, nil
		},
		Drive: func(ctx context.Context, base, agent string, parallel int) error {
			return driveGo(ctx, base, agent, parallel, client)
		},
	}
}

// driveGo is Autobahn's client driver with a Go client echo loop.
func driveGo(ctx context.Context, base, agent string, parallel int, client func(ctx context.Context, url string)) error {
	n, err := caseCount(ctx, base)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(parallel, 1))
	for i := 1; i <= n && ctx.Err() == nil; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			cctx, cancel := context.WithTimeout(ctx, 20*time.Minute)
			defer cancel()
			client(cctx, fmt.Sprintf("%s/runCase?case=%d&agent=%s", base, i, agent))
		}()
	}
	wg.Wait()
	// /updateReports: the fuzzing server writes the report and closes.
	c, _, err := wsproto.Dial(ctx, base+"/updateReports?agent="+agent, nil)
	if err != nil {
		return err
	}
	c.Read(ctx, nil)
	c.CloseNow()
	return ctx.Err()
}

// caseCount asks the fuzzing server for its number of cases.
func caseCount(ctx context.Context, base string) (int, error) {
	c, _, err := wsproto.Dial(ctx, base+"/getCaseCount", nil)
	if err != nil {
		return 0, err
	}
	defer c.CloseNow()
	_, msg, err := c.Read(ctx, nil)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(string(msg))
}

func pushwireEcho() http.Handler {
	return Pushwire().Echo(true)
}

func pushwireClient(ctx context.Context, url string) {
	c, _, err := wsproto.Dial(ctx, url, &wsproto.DialOptions{ReadLimit: MaxMessage, Compression: &wsproto.CompressionOptions{}})
	if err != nil {
		return
	}
	defer c.CloseNow()
	var buf []byte
	for {
		typ, msg, err := c.Read(ctx, buf)
		if err != nil {
			return
		}
		if err := c.Write(ctx, typ, msg); err != nil {
			return
		}
		buf = msg
	}
}

// gorillaConformEcho is gorilla's echo loop with its read limit set; with utf8 it
// is the UTF-8 checking echo of gorilla's examples/autobahn.
func gorillaConformEcho(utf8 bool) http.Handler {
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }, EnableCompression: true}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		c.SetReadLimit(MaxMessage)
		gorillaLoop(c, utf8)
	})
}

func gorillaClient(utf8 bool) func(ctx context.Context, url string) {
	return func(ctx context.Context, url string) {
		d := websocket.Dialer{EnableCompression: true}
		c, _, err := d.DialContext(ctx, url, nil)
		if err != nil {
			return
		}
		defer c.Close()
		c.SetReadLimit(MaxMessage)
		gorillaLoop(c, utf8)
	}
}

func gorillaLoop(c *websocket.Conn, checkUTF8 bool) {
	for {
		if !checkUTF8 {
			typ, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(typ, msg); err != nil {
				return
			}
			continue
		}
		typ, r, err := c.NextReader()
		if err != nil {
			return
		}
		if typ == websocket.TextMessage {
			r = &utf8Reader{r: r}
		}
		w, err := c.NextWriter(typ)
		if err != nil {
			return
		}
		if _, err := io.Copy(w, r); err != nil {
			if errors.Is(err, errInvalidUTF8) {
				c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseInvalidFramePayloadData, ""), time.Time{})
			}
			return
		}
		if err := w.Close(); err != nil {
			return
		}
	}
}

var errInvalidUTF8 = errors.New("invalid UTF-8")

// utf8Reader fails a read as soon as the text read so far is not valid
// UTF-8, and at the end if it stops inside a character.
type utf8Reader struct {
	r io.Reader
	v frame.UTF8Validator
}

func (u *utf8Reader) Read(p []byte) (int, error) {
	n, err := u.r.Read(p)
	if !u.v.Write(p[:n]) || errors.Is(err, io.EOF) && !u.v.Done() {
		return n, errInvalidUTF8
	}
	return n, err
}

func coderEcho() http.Handler { return Coder().Echo(true) }

func coderClient(ctx context.Context, url string) {
	c, _, err := coder.Dial(ctx, url, &coder.DialOptions{CompressionMode: coder.CompressionContextTakeover})
	if err != nil {
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(MaxMessage)
	for {
		typ, msg, err := c.Read(ctx)
		if err != nil {
			return
		}
		if err := c.Write(ctx, typ, msg); err != nil {
			return
		}
	}
}

// gobwasEcho is gobwas's helper-based echo loop, without compression (see
// the App text).
func gobwasEcho() http.Handler {
	wsutil.SetMaxMessageSize(MaxMessage)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, _, err := ws.UpgradeHTTP(r, w)
		if err != nil {
			return
		}
		defer conn.Close()
		for {
			msg, op, err := wsutil.ReadClientData(conn)
			if err != nil {
				return
			}
			if err := wsutil.WriteServerMessage(conn, op, msg); err != nil {
				return
			}
		}
	})
}

func gobwasClient(ctx context.Context, url string) {
	wsutil.SetMaxMessageSize(MaxMessage)
	conn, br, _, err := ws.Dial(ctx, url)
	if err != nil {
		return
	}
	defer conn.Close()
	rw := io.ReadWriter(conn)
	if br != nil {
		rw = struct {
			io.Reader
			io.Writer
		}{br, conn}
	}
	for {
		msg, op, err := wsutil.ReadServerData(rw)
		if err != nil {
			return
		}
		if err := wsutil.WriteClientMessage(conn, op, msg); err != nil {
			return
		}
	}
}

// gwsDeflate is gws's permessage-deflate with context takeover and 15-bit
// windows (see the App text).
var gwsDeflate = gws.PermessageDeflate{Enabled: true, ServerContextTakeover: true, ClientContextTakeover: true, ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}

func gwsConformEcho() http.Handler {
	up := gws.NewUpgrader(gwsConformEvents{}, &gws.ServerOption{ReadMaxPayloadSize: MaxMessage, CheckUtf8Enabled: true, PermessageDeflate: gwsDeflate})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r)
		if err != nil {
			return
		}
		go gwsReadLoop(c)
	})
}

func gwsClient(ctx context.Context, url string) {
	c, _, err := gws.NewClient(gwsConformEvents{}, &gws.ClientOption{Addr: url, ReadMaxPayloadSize: MaxMessage, CheckUtf8Enabled: true, PermessageDeflate: gwsDeflate})
	if err != nil {
		return
	}
	stop := context.AfterFunc(ctx, func() { c.NetConn().Close() })
	defer stop()
	gwsReadLoop(c)
}

var (
	gwsMu     sync.Mutex
	gwsPanics []string
)

// GWSPanics returns the panics recovered from gws's ReadLoop: gws v1.8.9
// panics in readMessage on a frame whose 64-bit length has its top bit set
// (case 15.2.3), and a panic on that goroutine would end the whole process
// (the harness, the other peers) without the recover.
func GWSPanics() []string {
	gwsMu.Lock()
	defer gwsMu.Unlock()
	return slices.Clone(gwsPanics)
}

func gwsReadLoop(c *gws.Conn) {
	defer func() {
		if v := recover(); v != nil {
			gwsMu.Lock()
			gwsPanics = append(gwsPanics, fmt.Sprint(v))
			gwsMu.Unlock()
			c.NetConn().Close()
		}
	}()
	c.ReadLoop()
}

type gwsConformEvents struct{ gws.BuiltinEventHandler }

func (gwsConformEvents) OnPing(c *gws.Conn, p []byte) { _ = c.WritePong(p) }

func (gwsConformEvents) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	_ = c.WriteMessage(m.Opcode, m.Bytes())
}

// external is an implementation in another process, run from a script in
// testdata: "script server" prints "port N", "script client BASE AGENT N"
// drives the fuzzing server.
func external(name, bin, skip, script, app string) *ConformPeer {
	return &ConformPeer{
		Name: name,
		App:  app,
		Skip: skip,
		Serve: func() (string, func(), error) {
			cmd := exec.Command(bin, script, "server")
			cmd.Stderr = io.Discard
			out, err := cmd.StdoutPipe()
			if err != nil {
				return "", nil, err
			}
			if err := cmd.Start(); err != nil {
				return "", nil, err
			}
			stop := func() { cmd.Process.Kill(); cmd.Wait() }
			line, err := bufio.NewReader(out).ReadString('\n')
			port, ok := strings.CutPrefix(strings.TrimSpace(line), "port ")
			if err != nil || !ok {
				stop()
				return "", nil, fmt.Errorf("%s printed %q, want \"port N\": %v", script, line, err)
			}
			go io.Copy(io.Discard, out)
			return "ws://127.0.0.1:" + port + "/", stop, nil
		},
		Drive: func(ctx context.Context, base, agent string, parallel int) error {
			cmd := exec.CommandContext(ctx, bin, script, "client", base, agent, strconv.Itoa(parallel))
			cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
			return cmd.Run()
		},
	}
}

// pythonWebsocketsVersion returns the version of the websockets package.
func pythonWebsocketsVersion(py string) string {
	if py == "" {
		return "(not installed)"
	}
	out, err := exec.Command(py, "-c", "import websockets; print(websockets.__version__)").Output()
	if err != nil {
		return "(unknown version)"
	}
	return strings.TrimSpace(string(out))
}

// nodeWSVersion returns the version of node_modules/ws.
func nodeWSVersion() string {
	b, err := os.ReadFile("node_modules/ws/package.json")
	if err != nil {
		return "(not installed)"
	}
	_, after, ok := strings.Cut(string(b), `"version": "`)
	if !ok {
		return "(unknown version)"
	}
	v, _, _ := strings.Cut(after, `"`)
	return v
}

// python returns a Python interpreter that has the websockets package, or
// "" and why there is none.
func python() (string, string) {
	why := "no python3 on PATH"
	for _, p := range []string{"python3", "/usr/bin/python3"} {
		path, err := exec.LookPath(p)
		if err != nil {
			continue
		}
		out, err := exec.Command(path, "-c", "import websockets").CombinedOutput()
		if err == nil {
			return path, ""
		}
		why = strings.TrimSpace(string(out))
		if i := strings.LastIndexByte(why, '\n'); i >= 0 {
			why = why[i+1:]
		}
	}
	return "", why
}

// node returns the node binary if Node and the npm packages are installed,
// or "" and why not.
func node(pkg string) (string, string) {
	path, err := exec.LookPath("node")
	if err != nil {
		return "", "no node on PATH"
	}
	if _, err := os.Stat("node_modules/" + pkg + "/package.json"); err != nil {
		return "", "node_modules/" + pkg + " missing (run npm ci in peers/)"
	}
	return path, ""
}

// quietLog keeps the servers' errors (expected: the harness sends bad
// handshakes on purpose) off the terminal.
func quietLog() *log.Logger { return log.New(io.Discard, "", 0) }
