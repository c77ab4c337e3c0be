// demo.js: the demo page's script (served with a Content-Security-Policy
// that allows no inline script).
"use strict";
const $ = (id) => document.getElementById(id);
function line(box, parts, cls) {
  const d = document.createElement("div");
  for (const [text, partCls] of parts) {
    const s = document.createElement("span");
    s.textContent = text;
    if (partCls) s.className = partCls;
    d.appendChild(s);
  }
  if (cls) d.className = cls;
  box.appendChild(d);
  box.scrollTop = box.scrollHeight;
}
const note = (text) => line($("log"), [[text]], "gap");
const clock = (t) => new Date(t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });

// window.demo is what the browser tests look at.
const demo = window.demo = {
  client: null, messages: [], gaps: 0, resets: 0, reconnects: 0, transport: "",
  id: (crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2) + "-" + Date.now()),
  nick: "", online: [], http: "", cspViolations: [],
};
document.addEventListener("securitypolicyviolation", (e) => demo.cspViolations.push(e.violatedDirective + " " + e.blockedURI));

const params = new URLSearchParams(location.search);
demo.nick = params.get("nick") || localStorage.getItem("pushwire.nick") || "guest-" + demo.id.slice(0, 4);
$("nick").value = demo.nick;
$("nick").addEventListener("change", () => {
  const v = $("nick").value.trim();
  if (!v) { $("nick").value = demo.nick; return; }
  demo.nick = v;
  localStorage.setItem("pushwire.nick", v);
  report();
});
const navigation = performance.getEntriesByType("navigation")[0];
$("page-http").textContent = navigation ? navigation.nextHopProtocol : "-";

// Presence: every heartbeat the page says who it is and how it listens.
let heartbeat = 10000, reportTimer = null;
function report() {
  clearTimeout(reportTimer);
  fetch("/presence", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ id: demo.id, nick: demo.nick, transport: demo.client ? demo.client.transport : "" }),
  }).then((r) => r.ok ? r.json() : Promise.reject(new Error(r.status)))
    .then((a) => { heartbeat = a.heartbeat || heartbeat; })
    .catch(() => {})
    .finally(() => { reportTimer = setTimeout(report, heartbeat); });
}
addEventListener("pagehide", () => {
  navigator.sendBeacon("/presence", new Blob([JSON.stringify({ id: demo.id, leave: true })], { type: "text/plain" }));
});

function showOnline(list) {
  demo.online = list;
  const ul = $("online");
  ul.replaceChildren();
  for (const p of list) {
    const li = document.createElement("li");
    if (p.id === demo.id) li.className = "me";
    li.textContent = p.nick + " ";
    const via = document.createElement("span");
    via.className = "via";
    via.textContent = p.transport + " · " + (p.http || "?");
    li.appendChild(via);
    ul.appendChild(li);
    if (p.id === demo.id) { demo.http = p.http; $("http").textContent = p.http || "-"; }
  }
}

function start(transport) {
  let cursor = "oldest"; // a new page shows the history the log holds
  if (demo.client) {
    cursor = demo.client.cursor; // switching keeps the place: nothing lost
    demo.reconnects += demo.client.reconnects;
    demo.client.close();
  }
  demo.transport = transport;
  const transports = transport === "auto" ? ["websocket", "sse", "poll"] : [transport];
  const c = demo.client = new Pushwire("/chat?page=" + encodeURIComponent(demo.id),
    { transports, cursor, types: ["chat", "presence"], minDelay: 200, maxDelay: 3000 });
  c.on("entry", (e) => {
    if (e.type === "presence") {
      try { showOnline(JSON.parse(e.data).online); } catch (err) { /* not ours */ }
      return;
    }
    let m;
    try { m = JSON.parse(e.data); } catch (err) { m = null; }
    if (!m || typeof m.text !== "string") m = { nick: "", text: e.data, time: "" };
    demo.messages.push({ seq: e.seq, data: m.text, nick: m.nick, time: m.time, transport: c.transport });
    line($("log"), [
      ["#" + e.seq + " ", "seq"], [m.time ? clock(m.time) + " " : "", "time"],
      [m.nick ? m.nick + ": " : "", "nick"], [m.text],
    ]);
    $("count").textContent = demo.messages.length;
  });
  c.on("gap", (g) => { demo.gaps++; note(g.lost + " older messages are gone"); });
  c.on("reset", () => {
    demo.resets++;
    note("The server restarted and its chat log started again: showing the new log from here on.");
    $("restarted").hidden = false;
  });
  c.on("error", (msg) => note("refused: " + msg));
  c.on("state", (s) => {
    $("transport").textContent = s.transport;
    $("state").textContent = s.state;
    $("reconnects").textContent = demo.reconnects + s.reconnects;
    $("cursor").textContent = s.cursor || "-";
    if (s.state === "open") report();
  });
}

const initial = params.get("transport") || "websocket";
for (const r of document.querySelectorAll("input[name=transport]")) {
  r.checked = r.value === initial;
  r.addEventListener("change", () => start(r.value));
}
start(initial);

demo.send = (text) => demo.client.send(JSON.stringify({ nick: demo.nick, text }));
$("chat").addEventListener("submit", (e) => {
  e.preventDefault();
  const input = $("msg");
  if (!input.value) return;
  demo.send(input.value).then(() => { input.value = ""; }, (err) => note("not sent: " + err.message));
});

const events = $("events");
const es = new EventSource("/events");
es.onopen = () => $("sse-state").textContent = "open";
es.onerror = () => $("sse-state").textContent = es.readyState === EventSource.CLOSED ? "closed" : "reconnecting";
es.onmessage = (e) => line(events, [["message #" + e.lastEventId + ": " + e.data]]);
es.addEventListener("tick", (e) => line(events, [["tick #" + e.lastEventId + ": " + e.data]]));
