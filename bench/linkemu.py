#!/usr/bin/env python3
"""A slow link between two loopback ports, for benchmarks: bytes toward the hub pass one token
bucket at RATE kbit/s shared by every connection (a clinic's uplink), and each direction arrives
DELAY ms late (half the round trip). Every 0.2 s the bytes let through so far are written to
STATS, for measuring how busy the link was. Used because this machine's kernel has no netem.

    linkemu.py LISTEN_PORT UPSTREAM_PORT RATE_KBIT DELAY_MS STATS
"""
import asyncio
import os
import sys
import time


class Bucket:
    """Debt-based token bucket: a chunk goes at once, the next waits until it is paid for."""

    def __init__(self, bytes_per_sec):
        self.rate = bytes_per_sec
        self.balance = 0.0
        self.stamp = time.monotonic()
        self.lock = asyncio.Lock()
        self.through = 0

    async def take(self, n):
        async with self.lock:
            now = time.monotonic()
            # At most 20 ms of burst after an idle spell.
            self.balance = min(self.balance + (now - self.stamp) * self.rate, self.rate * 0.02)
            self.stamp = now
            self.balance -= n
            self.through += n
            if self.balance < 0:
                await asyncio.sleep(-self.balance / self.rate)


async def pipe(reader, writer, delay, bucket):
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def deliver():
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if data is None:
                break
            writer.write(data)
            await writer.drain()
        writer.close()

    sender = asyncio.create_task(deliver())
    try:
        while True:
            data = await reader.read(8192)
            if not data:
                break
            if bucket is not None:
                await bucket.take(len(data))
            queue.put_nowait((loop.time() + delay, data))
    except (ConnectionError, OSError):
        pass
    queue.put_nowait((loop.time() + delay, None))
    try:
        await sender
    except (ConnectionError, OSError):
        pass


async def main():
    listen, upstream, kbit, delay_ms, stats = sys.argv[1:6]
    bucket = Bucket(int(kbit) * 1000 / 8)
    delay = int(delay_ms) / 1000

    async def handle(client_r, client_w):
        try:
            hub_r, hub_w = await asyncio.open_connection("127.0.0.1", int(upstream))
        except OSError:
            client_w.close()
            return
        await asyncio.gather(
            pipe(client_r, hub_w, delay, bucket), pipe(hub_r, client_w, delay, None)
        )

    server = await asyncio.start_server(handle, "127.0.0.1", int(listen))
    async with server:
        while True:
            with open(stats + ".tmp", "w") as f:
                f.write(f"{time.time():.3f} {bucket.through}\n")
            os.replace(stats + ".tmp", stats)
            await asyncio.sleep(0.2)


asyncio.run(main())
