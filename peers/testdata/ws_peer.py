#!/usr/bin/env python3
"""A remote-controlled WebSocket peer on Python websockets, for pushwire's
interop tests.

usage: ws_peer.py server [--compress]       listens on 127.0.0.1, prints "port N"
       ws_peer.py client URL N [--compress] connects N times, one after the other

On every connection the peer echoes each data message with its type, except
text commands:
  cmd:frag:N           answer with an N-byte binary message sent in fragments
  cmd:ping:PAYLOAD     ping with PAYLOAD; on its pong, send text "pong:PAYLOAD"
  cmd:close:CODE:TEXT  close with CODE and TEXT
and prints one line per connection when it ends: "closed CODE REASON".
It also prints "open PROTOCOL EXTENSIONS" when a connection opens.
"""
import asyncio
import sys

import websockets

MAX = 64 << 20


def say(*a):
    print(*a, flush=True)


def pattern(n):
    return bytes((i * 7 + (i >> 8)) & 0xFF for i in range(n))


async def fragments(data, size=16384):
    for i in range(0, len(data), size):
        yield data[i:i + size]


async def session(ws):
    ext = ",".join(type(e).__name__ for e in ws.extensions) or "-"
    say("open", ws.subprotocol or "-", ext)
    try:
        async for msg in ws:
            if isinstance(msg, str) and msg.startswith("cmd:"):
                _, verb, arg = msg.split(":", 2)
                if verb == "frag":
                    await ws.send(fragments(pattern(int(arg))))
                elif verb == "ping":
                    waiter = await ws.ping(arg.encode())
                    await waiter
                    await ws.send("pong:" + arg)
                elif verb == "close":
                    code, reason = arg.split(":", 1)
                    await ws.close(int(code), reason)
                continue
            await ws.send(msg)
    except websockets.ConnectionClosed:
        pass
    code, reason = ws.close_code, ws.close_reason
    if ws.close_rcvd is not None:
        code, reason = ws.close_rcvd.code, ws.close_rcvd.reason
    say("closed", code, reason)


async def server(compress):
    async def handler(ws, path=None):
        await session(ws)

    async with websockets.serve(handler, "127.0.0.1", 0, subprotocols=["chat.v2"],
                                compression="deflate" if compress else None,
                                max_size=MAX) as srv:
        say("port", srv.sockets[0].getsockname()[1])
        await asyncio.Future()


async def client(url, n, compress):
    for _ in range(n):
        async with websockets.connect(url, subprotocols=["x-unknown", "chat.v2"],
                                      compression="deflate" if compress else None,
                                      max_size=MAX) as ws:
            await session(ws)


def main():
    args = [a for a in sys.argv[1:] if a != "--compress"]
    compress = "--compress" in sys.argv
    if args[0] == "server":
        asyncio.run(server(compress))
    else:
        asyncio.run(client(args[1], int(args[2]), compress))


if __name__ == "__main__":
    main()
