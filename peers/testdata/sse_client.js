#!/usr/bin/env node
// Reads N events from an SSE URL with the eventsource package (the browser
// EventSource for Node) and prints each as one JSON line:
// {"type":..., "data":..., "lastEventId":...}.
'use strict';
const { EventSource } = require('eventsource');

const [url, n] = process.argv.slice(2);
let left = Number(n);
const es = new EventSource(url);
const print = (ev) => {
  process.stdout.write(JSON.stringify({ type: ev.type, data: ev.data, lastEventId: ev.lastEventId }) + '\n');
  if (--left === 0) es.close();
};
es.onmessage = print;
es.addEventListener('greet', print);
es.onerror = (err) => process.stdout.write('error ' + (err.message || 'connection error') + '\n');
