#!/usr/bin/env node
// A remote-controlled WebSocket peer on Node's ws, for pushwire's interop
// tests; the same protocol as ws_peer.py (see there).
'use strict';
const { WebSocket, WebSocketServer } = require('ws');

const MAX = 64 << 20;
const args = process.argv.slice(2).filter((a) => a !== '--compress');
const compress = process.argv.includes('--compress');

function say(...a) { process.stdout.write(a.join(' ') + '\n'); }

function pattern(n) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + (i >> 8)) & 0xff;
  return b;
}

function session(ws, done) {
  say('open', ws.protocol || '-', ws.extensions || '-');
  const pings = new Map();
  ws.on('pong', (data) => {
    const p = data.toString();
    if (pings.has(p)) { pings.delete(p); ws.send('pong:' + p); }
  });
  ws.on('message', (data, isBinary) => {
    if (!isBinary) {
      const s = data.toString();
      if (s.startsWith('cmd:')) {
        const i = s.indexOf(':', 4);
        const verb = s.slice(4, i);
        const arg = s.slice(i + 1);
        if (verb === 'frag') {
          const b = pattern(Number(arg));
          for (let o = 0; o < b.length; o += 16384) {
            const end = Math.min(o + 16384, b.length);
            ws.send(b.subarray(o, end), { binary: true, fin: end === b.length });
          }
        } else if (verb === 'ping') {
          pings.set(arg, true);
          ws.ping(Buffer.from(arg));
        } else if (verb === 'close') {
          const j = arg.indexOf(':');
          ws.close(Number(arg.slice(0, j)), arg.slice(j + 1));
        }
        return;
      }
    }
    ws.send(data, { binary: isBinary });
  });
  ws.on('close', (code, reason) => { say('closed', code, reason.toString()); if (done) done(); });
  ws.on('error', (err) => say('error', err.message));
}

if (args[0] === 'server') {
  const wss = new WebSocketServer({
    host: '127.0.0.1', port: 0, maxPayload: MAX, perMessageDeflate: compress,
    handleProtocols: (protocols) => (protocols.has('chat.v2') ? 'chat.v2' : false),
  });
  wss.on('listening', () => say('port', wss.address().port));
  wss.on('connection', (ws) => session(ws));
} else {
  let left = Number(args[2]);
  const next = () => {
    if (left-- === 0) return;
    const ws = new WebSocket(args[1], ['x-unknown', 'chat.v2'], { maxPayload: MAX, perMessageDeflate: compress });
    ws.on('open', () => session(ws, next));
    ws.on('error', (err) => say('error', err.message));
  };
  next();
}
