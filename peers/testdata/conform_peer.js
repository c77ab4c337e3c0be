#!/usr/bin/env node
// Node ws under pushwire's conformance harness.
//
// usage: conform_peer.js server              an echo server on 127.0.0.1; prints "port N"
//        conform_peer.js client BASE AGENT N  Autobahn's client driver against the fuzzing
//                                            server at BASE: every case, N at a time,
//                                            then /updateReports
//
// The echo app is the library's idiomatic one: on 'message', send the data
// back with its type. Every socket has an 'error' listener, as any real
// application has (without one, Node ends the process on the first protocol
// error). Settings are the defaults except maxPayload (64 MiB) and
// perMessageDeflate, turned on (the server default is off) so that the
// compression categories run.
'use strict';
const { WebSocket, WebSocketServer } = require('ws');

const MAX = 64 << 20;
const args = process.argv.slice(2);

function echo(ws) {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {}); // the close that follows ends the case
}

if (args[0] === 'server') {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: MAX, perMessageDeflate: true });
  wss.on('listening', () => process.stdout.write(`port ${wss.address().port}\n`));
  wss.on('connection', echo);
  wss.on('error', (err) => process.stderr.write(`server error: ${err.message}\n`));
} else {
  const [, base, agent, parallel] = args;
  const open = (path, onOpen) => new Promise((resolve) => {
    const ws = new WebSocket(base + path, { maxPayload: MAX, perMessageDeflate: true });
    ws.on('error', (err) => process.stderr.write(`${path}: ${err.message}\n`));
    ws.on('close', resolve);
    if (onOpen) onOpen(ws);
  });
  const main = async () => {
    let n = 0;
    await open('/getCaseCount', (ws) => ws.on('message', (data) => { n = Number(data.toString()); }));
    let next = 1;
    const worker = async () => {
      while (next <= n) {
        const i = next++;
        await open(`/runCase?case=${i}&agent=${agent}`, echo);
      }
    };
    await Promise.all(Array.from({ length: Number(parallel) }, worker));
    await open(`/updateReports?agent=${agent}`);
    process.stdout.write(`done ${n}\n`);
  };
  main();
}
