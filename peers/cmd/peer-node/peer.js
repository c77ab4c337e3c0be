// peer-node: Node's ws (peers/node_modules/ws) as a reference row of
// peers/RESULTS.md, with the same commands as the Go peer-* programs (see
// peers/internal/benchsrv):
//
//   node peer.js serve [-addr 127.0.0.1:0] [-debug-addr 127.0.0.1:0] [-limit N]
//   node peer.js read -url ws://HOST:PORT/ -n N
//
// The server is ws's documented echo server: a WebSocketServer on an
// http.Server, maxPayload the read limit, perMessageDeflate off,
// skipUTF8Validation off (UTF-8 checked, its default); without the optional
// native add-ons bufferutil and utf-8-validate, as npm installs ws. /bc
// joins the broadcast group; the debug address answers POST
// /bench/broadcast?size=N (ws's documented broadcast: send to every client),
// GET /bench/count, and GET /debug/vars ({"goroutines": null}: Node has one
// thread of JavaScript and no goroutines).
'use strict';
const http = require('http');
const path = require('path');
const { WebSocketServer, WebSocket } = require(path.join(__dirname, '..', '..', 'node_modules', 'ws'));

function flags(args) {
  const f = {};
  for (let i = 0; i < args.length; i += 2) f[args[i].replace(/^-+/, '')] = args[i + 1];
  return f;
}

function listen(server, addr, cb) {
  const i = addr.lastIndexOf(':');
  server.listen(Number(addr.slice(i + 1)), addr.slice(0, i), () => cb(server.address()));
}

function serve(f) {
  const limit = Number(f.limit || 64 * 1024 * 1024);
  const server = http.createServer((req, res) => { res.writeHead(426); res.end(); });
  const echo = new WebSocketServer({ noServer: true, maxPayload: limit, perMessageDeflate: false });
  const bc = new WebSocketServer({ noServer: true, maxPayload: limit, perMessageDeflate: false });
  echo.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    ws.on('error', () => {});
  });
  bc.on('connection', (ws) => { ws.on('error', () => {}); });
  server.on('upgrade', (req, socket, head) => {
    const wss = req.url.startsWith('/bc') ? bc : echo;
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  listen(server, f.addr || '127.0.0.1:0', (a) => {
    console.log(`peer-node: listening on ws://${a.address}:${a.port}/`);
    if (!f['debug-addr']) return;
    const dbg = http.createServer((req, res) => {
      const u = new URL(req.url, 'http://x');
      if (req.method === 'POST' && u.pathname === '/bench/broadcast') {
        const msg = Buffer.alloc(Number(u.searchParams.get('size')), 'b');
        const t0 = process.hrtime.bigint();
        bc.clients.forEach((c) => { if (c.readyState === WebSocket.OPEN) c.send(msg, { binary: true }); });
        res.end(`${process.hrtime.bigint() - t0} 0 0\n`);
      } else if (u.pathname === '/bench/count') {
        res.end(`${bc.clients.size}\n`);
      } else if (u.pathname === '/debug/vars') {
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify({ goroutines: null, node: process.memoryUsage() }));
      } else {
        res.writeHead(404); res.end();
      }
    });
    listen(dbg, f['debug-addr'], (d) => console.log(`peer-node: debug on http://${d.address}:${d.port}/`));
  });
  process.on('SIGTERM', () => process.exit(0));
}

function read(f) {
  const n = Number(f.n);
  let got = 0, bytes = 0, t1 = 0n;
  const t0 = process.hrtime.bigint();
  const ws = new WebSocket(f.url, { maxPayload: 64 * 1024 * 1024, perMessageDeflate: false });
  ws.on('open', () => { t1 = process.hrtime.bigint(); });
  ws.on('message', (data) => {
    bytes += data.length;
    if (++got === n) {
      console.log(`read ${n} msgs ${bytes} bytes in ${process.hrtime.bigint() - t1} ns dial ${t1 - t0} ns`);
      process.exit(0);
    }
  });
  ws.on('error', (e) => { console.error(`peer-node: ${e.message}`); process.exit(1); });
  ws.on('close', () => { if (got < n) { console.error(`peer-node: closed after ${got} messages`); process.exit(1); } });
}

const [cmd, ...rest] = process.argv.slice(2);
if (cmd === 'serve') serve(flags(rest));
else if (cmd === 'read') read(flags(rest));
else { console.error('usage: node peer.js serve|read [flags]'); process.exit(2); }
