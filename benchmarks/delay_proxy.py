"""A TCP proxy on loopback that adds latency: every chunk is forwarded `delay` seconds after it
arrived, in both directions, so one round trip through it costs 2 x delay more. Used by the
fleet benchmark to audit real sshd instances as if they were across a WAN link.

    python benchmarks/delay_proxy.py LISTEN_PORT TARGET_PORT DELAY_MS
    python benchmarks/delay_proxy.py --many DELAY_MS LISTEN:TARGET [LISTEN:TARGET ...]
"""

from __future__ import annotations

import asyncio
import sys

HOST = "127.0.0.1"


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def pump() -> None:
        while True:
            due, data = await queue.get()
            if not data:
                break
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
        writer.close()

    task = asyncio.create_task(pump())
    try:
        while True:
            data = await reader.read(65536)
            await queue.put((loop.time() + delay, data))
            if not data:
                break
    finally:
        await task


async def serve_many(pairs: list[tuple[int, int]], delay: float) -> None:
    """One process, one event loop, a listening port per (listen, target) pair."""
    await asyncio.gather(*(serve(listen, target, delay) for listen, target in pairs))


async def serve(listen: int, target: int, delay: float) -> None:
    async def handle(cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
        try:
            sr, sw = await asyncio.open_connection(HOST, target)
        except OSError:
            cw.close()
            return
        await asyncio.gather(_pipe(cr, sw, delay), _pipe(sr, cw, delay), return_exceptions=True)

    server = await asyncio.start_server(handle, HOST, listen)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if sys.argv[1] == "--many":
        pairs = [(int(a), int(b)) for a, b in (p.split(":") for p in sys.argv[3:])]
        asyncio.run(serve_many(pairs, float(sys.argv[2]) / 1000))
    else:
        asyncio.run(serve(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) / 1000))
