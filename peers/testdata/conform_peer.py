#!/usr/bin/env python3
"""Python websockets under pushwire's conformance harness.

usage: conform_peer.py server              an echo server on 127.0.0.1; prints "port N"
       conform_peer.py client BASE AGENT N  Autobahn's client driver against the fuzzing
                                           server at BASE (ws://HOST:PORT): every case,
                                           N at a time, then /updateReports

The echo app is the library's idiomatic asynchronous one: "async for message
in websocket: await websocket.send(message)", each message echoed with its
type. The protocol layer answers pings and closes by itself, and checks UTF-8
and frames. Settings are the library's defaults (permessage-deflate offered
and accepted, keepalive pings) except max_size, raised from 1 MiB to 64 MiB
so that the 16 MiB messages of category 9 fit.
"""
import asyncio
import sys

import websockets

MAX = 64 << 20


async def echo(ws, path=None):
    try:
        async for msg in ws:
            await ws.send(msg)
    except websockets.ConnectionClosed:
        pass


async def server():
    async with websockets.serve(echo, "127.0.0.1", 0, max_size=MAX) as srv:
        print("port", srv.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()


async def run_case(base, agent, i):
    try:
        async with websockets.connect(f"{base}/runCase?case={i}&agent={agent}", max_size=MAX) as ws:
            await echo(ws)
    except Exception as e:  # the harness sends bad handshakes and frames on purpose
        print(f"case {i}: {type(e).__name__}: {e}", file=sys.stderr, flush=True)


async def client(base, agent, parallel):
    async with websockets.connect(f"{base}/getCaseCount") as ws:
        n = int(await ws.recv())
    sem = asyncio.Semaphore(parallel)

    async def one(i):
        async with sem:
            await run_case(base, agent, i)

    await asyncio.gather(*(one(i) for i in range(1, n + 1)))
    async with websockets.connect(f"{base}/updateReports?agent={agent}") as ws:
        try:
            await ws.recv()
        except websockets.ConnectionClosed:
            pass
    print("done", n, flush=True)


def main():
    if sys.argv[1] == "server":
        asyncio.run(server())
    else:
        asyncio.run(client(sys.argv[2], sys.argv[3], int(sys.argv[4])))


if __name__ == "__main__":
    main()
