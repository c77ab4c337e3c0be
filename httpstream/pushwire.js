// pushwire.js: the browser client of a pushwire httpstream.Handler.
//
//   const pw = new Pushwire("/chat", { types: ["chat"] });
//   pw.on("entry", (e) => show(e.seq, e.type, e.data));
//   pw.on("gap", (g) => warn(g.lost + " messages are gone"));
//   pw.on("reset", (r) => warn("the server's log started again"));
//   pw.on("state", (s) => status(s.transport, s.state, s.reconnects));
//   pw.send("hello");   // over the WebSocket if open, else a POST
//
// It connects over WebSocket, falls back to SSE and then to long polling when
// a transport fails to open twice in a row, reconnects with exponential
// backoff and jitter, and always resumes from the cursor of the last record
// it received, so that every entry arrives exactly once and in order,
// whatever the transport. A cursor is "EPOCH:SEQ": the log's epoch and the
// sequence number. When the server's log is no longer the one the cursor
// came from (an in-memory log after a restart, a wiped stream), the server
// sends one reset record: the client emits "reset" with { epoch, after,
// from } and carries on in the new log, from after. Options:
//
//   transports  the transports to try, in order; default
//               ["websocket", "sse", "poll"]; also "stream" (chunked NDJSON
//               read with fetch) and "iframe" (the forever iframe).
//   cursor      where to start: "" (default) for new entries only, "oldest",
//               or a cursor ("EPOCH:SEQ", or a bare sequence number).
//   types       entry types other than "" to receive over SSE, where the
//               browser delivers only the event types it listens for.
//   minDelay, maxDelay   reconnection backoff, in ms (default 250, 10000).
//   pollTimeout seconds a long poll may be held (default 25).
(function (global) {
  "use strict";

  const DEFAULT_TRANSPORTS = ["websocket", "sse", "poll"];
  let frames = 0;

  class Pushwire {
    constructor(url, opts) {
      opts = opts || {};
      this.url = new URL(url, global.location.href);
      this.transports = (opts.transports || DEFAULT_TRANSPORTS).slice();
      this.cursor = opts.cursor === undefined ? "" : String(opts.cursor);
      this.types = opts.types || [];
      this.minDelay = opts.minDelay || 250;
      this.maxDelay = opts.maxDelay || 10000;
      this.pollTimeout = opts.pollTimeout === undefined ? 25 : opts.pollTimeout;
      this.transport = this.transports[0];
      this.state = "connecting";
      this.reconnects = 0; // connections lost, or attempts that failed
      this.duplicates = 0; // entries at or before the cursor, dropped
      this.resets = 0; // times the server's log was a new one
      this._index = 0;
      this._failures = 0; // attempts on this transport that never opened
      this._attempt = 0; // for the backoff
      this._handlers = {};
      this._conn = null; // the current connection: { close(), send?(data) }
      this._timer = null;
      this._closed = false;
      this._generation = 0;
      setTimeout(() => this._connect(), 0);
    }

    // on registers fn for "entry", "gap", "reset", "state" or "error".
    on(name, fn) {
      (this._handlers[name] = this._handlers[name] || []).push(fn);
      return this;
    }

    // send publishes data through the handler's OnPublish: as a WebSocket
    // message when one is open, else as a POST. It returns a Promise.
    send(data) {
      if (this._conn && this._conn.send && this._conn.send(data)) {
        return Promise.resolve();
      }
      return fetch(this.url, { method: "POST", body: data, headers: { "Content-Type": "text/plain;charset=utf-8" } })
        .then((r) => {
          if (!r.ok) return r.text().then((t) => { throw new Error(t.trim() || r.statusText); });
        });
    }

    // close ends the connection for good.
    close() {
      this._closed = true;
      clearTimeout(this._timer);
      this._drop();
      this._setState("closed");
    }

    _emit(name, arg) {
      for (const fn of this._handlers[name] || []) {
        try { fn(arg); } catch (e) { setTimeout(() => { throw e; }); }
      }
    }

    _setState(state) {
      this.state = state;
      this._emit("state", { state, transport: this.transport, reconnects: this.reconnects, cursor: this.cursor });
    }

    _endpoint(transport, extra) {
      const u = new URL(this.url);
      u.searchParams.set("transport", transport);
      u.searchParams.set("cursor", this.cursor);
      for (const k in extra || {}) u.searchParams.set(k, extra[k]);
      return u;
    }

    _drop() {
      this._generation++;
      if (this._conn) {
        const c = this._conn;
        this._conn = null;
        try { c.close(); } catch (e) { /* already gone */ }
      }
    }

    // _record handles one record from any transport.
    _record(gen, rec) {
      if (gen !== this._generation) return;
      if (rec.seq !== undefined) {
        const m = /^(?:([A-Za-z0-9_-]+):)?([0-9]+)$/.exec(this.cursor);
        const last = m ? Number(m[2]) : -1;
        if (rec.seq <= last) { this.duplicates++; return; }
        this.cursor = (m && m[1] ? m[1] + ":" : "") + rec.seq;
        this._emit("entry", { seq: rec.seq, type: rec.type || "", data: rec.data });
      } else if (rec.gap) {
        this.cursor = rec.cursor;
        this._emit("gap", rec.gap);
      } else if (rec.reset) {
        const from = this.cursor;
        this.cursor = rec.cursor;
        this.resets++;
        this._opened(gen);
        this._emit("reset", { epoch: rec.reset.epoch, after: rec.reset.after, from });
      } else if (rec.error) {
        this._emit("error", rec.error);
      } else if (rec.cursor !== undefined) {
        this.cursor = rec.cursor;
        this._opened(gen);
      }
    }

    _opened(gen) {
      if (gen !== this._generation) return;
      this._failures = 0;
      this._attempt = 0;
      if (this.state !== "open") this._setState("open");
    }

    // _ended is called once per connection that ended, whatever the cause.
    _ended(gen) {
      if (gen !== this._generation || this._closed) return;
      const wasOpen = this.state === "open";
      this._drop();
      this.reconnects++;
      if (!wasOpen && ++this._failures >= 2 && this._index < this.transports.length - 1) {
        this._index++;
        this._failures = 0;
        this.transport = this.transports[this._index];
      }
      this._setState("connecting");
      const base = Math.min(this.maxDelay, this.minDelay * Math.pow(2, this._attempt++));
      this._timer = setTimeout(() => this._connect(), base / 2 + Math.random() * base / 2);
    }

    _connect() {
      if (this._closed) return;
      this._drop();
      const gen = this._generation;
      this.transport = this.transports[this._index];
      this._conn = this["_" + this.transport](gen);
    }

    _websocket(gen) {
      const u = this._endpoint("websocket");
      u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
      const ws = new WebSocket(u);
      ws.onmessage = (e) => this._record(gen, JSON.parse(e.data));
      ws.onclose = () => this._ended(gen);
      return {
        close: () => { ws.onclose = null; ws.close(); },
        send: (data) => { if (ws.readyState !== WebSocket.OPEN) return false; ws.send(data); return true; },
      };
    }

    _sse(gen) {
      const es = new EventSource(this._endpoint("sse"));
      // An entry's id is the cursor after it, EPOCH:SEQ.
      const onEntry = (e) => this._record(gen, { seq: Number(e.lastEventId.slice(e.lastEventId.indexOf(":") + 1)), type: e.type === "message" ? "" : e.type, data: e.data });
      es.onmessage = onEntry;
      for (const t of this.types) es.addEventListener(t, onEntry);
      es.addEventListener("pushwire.cursor", (e) => this._record(gen, { cursor: e.data }));
      es.addEventListener("pushwire.gap", (e) => this._record(gen, { gap: JSON.parse(e.data), cursor: e.lastEventId }));
      es.addEventListener("pushwire.reset", (e) => this._record(gen, { reset: JSON.parse(e.data), cursor: e.lastEventId }));
      es.onerror = () => {
        // The EventSource reconnects by itself with Last-Event-ID unless
        // the server refused it for good; either way count it.
        if (es.readyState === EventSource.CLOSED || this.state !== "open") {
          this._ended(gen);
          return;
        }
        this.reconnects++;
        this._setState("connecting");
      };
      return { close: () => es.close() };
    }

    _poll(gen) {
      const ctl = new AbortController();
      const loop = () => {
        fetch(this._endpoint("poll", { timeout: this.pollTimeout }), { signal: ctl.signal, cache: "no-store" })
          .then((r) => { if (!r.ok) throw new Error("poll: " + r.status); return r.json(); })
          .then((body) => {
            if (gen !== this._generation) return;
            if (body.reset) this._record(gen, { reset: body.reset, cursor: body.cursor });
            for (const e of body.entries) this._record(gen, e);
            if (body.gap) this._record(gen, { gap: body.gap, cursor: body.cursor });
            else if (!body.reset) this.cursor = body.cursor;
            this._opened(gen);
            loop();
          })
          .catch(() => this._ended(gen));
      };
      loop();
      return { close: () => ctl.abort() };
    }

    _stream(gen) {
      const ctl = new AbortController();
      fetch(this._endpoint("stream"), { signal: ctl.signal, cache: "no-store" })
        .then(async (r) => {
          if (!r.ok) throw new Error("stream: " + r.status);
          const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
          let rest = "";
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            rest += value;
            let i;
            while ((i = rest.indexOf("\n")) >= 0) {
              const line = rest.slice(0, i).trim();
              rest = rest.slice(i + 1);
              if (line) this._record(gen, JSON.parse(line));
            }
          }
        })
        .catch(() => {})
        .then(() => this._ended(gen));
      return { close: () => ctl.abort() };
    }

    _iframe(gen) {
      const name = "__pushwire" + ++frames;
      global[name] = (rec) => this._record(gen, rec);
      const f = document.createElement("iframe");
      f.style.display = "none";
      // The document never finishes loading while the stream is open; its
      // load event is the end of the stream.
      f.onload = () => this._ended(gen);
      f.src = this._endpoint("iframe", { callback: name });
      document.body.appendChild(f);
      return { close: () => { f.onload = null; f.remove(); delete global[name]; } };
    }
  }

  global.Pushwire = Pushwire;
})(window);
