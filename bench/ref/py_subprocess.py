"""Subprocess throughput: starting processes, and streaming through a pipe.

  subprocess/spawn_wait : N processes of `true` (default 200), at most 20 at a time
                          (an asyncio.Semaphore), each started with
                          create_subprocess_exec and waited for. Reported: processes/s.
  pipe/cat              : N MiB (default 100) written to `cat`'s stdin in 64 KiB chunks
                          (write + drain) while its stdout is read (read(256 KiB)) at
                          the same time, then wait(). Reported: MiB/s.

The same programs as tsyncio's bench/subprocess.ts. `--bench subprocess|pipe` picks one.

bench_util is imported from the bench-ref directory: $TSYNCIO_BENCH_REF, else
../../../shared/bench-ref relative to this file.
"""
import asyncio
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.environ.get("TSYNCIO_BENCH_REF") or
                os.path.join(_HERE, "..", "..", "..", "shared", "bench-ref"))

import bench_util as bu  # noqa: E402

CONCURRENCY = 20
CHUNK = b"x" * 65536
PIPE = asyncio.subprocess.PIPE


async def spawn_wait(n):
    sem = asyncio.Semaphore(CONCURRENCY)

    async def one():
        async with sem:
            proc = await asyncio.create_subprocess_exec("true")
            return await proc.wait()

    codes = await asyncio.gather(*(one() for _ in range(n)))
    return sum(1 for code in codes if code == 0)


async def cat(n):
    proc = await asyncio.create_subprocess_exec("cat", stdin=PIPE, stdout=PIPE)

    async def feed():
        for _ in range(n * 16):
            proc.stdin.write(CHUNK)
            await proc.stdin.drain()
        proc.stdin.close()

    async def consume():
        total = 0
        while True:
            data = await proc.stdout.read(262144)
            if not data:
                return total
            total += len(data)

    _, total = await asyncio.gather(feed(), consume())
    await proc.wait()
    return total


BENCHES = {
    "subprocess": ("processes/s", 200, {"spawn_wait": spawn_wait}),
    "pipe": ("MiB/s", 100, {"cat": cat}),
}


def main():
    p = bu.make_parser(__doc__)
    p.add_argument("--bench", choices=list(BENCHES), default="subprocess")
    p.add_argument("-n", type=int)
    p.add_argument("--variant", action="append")
    a = p.parse_args()
    unit, default_n, variants = BENCHES[a.bench]
    n = a.n or default_n
    out = {}
    for name in a.variant or variants:
        secs, value = bu.timed(a.loop, variants[name], n)
        expected = n if a.bench == "subprocess" else n * 1024 * 1024
        assert value == expected, (name, value, expected)
        out[name] = bu.rate(n, secs)
    bu.emit(a.bench, a.loop, out, unit=unit)


if __name__ == "__main__":
    main()
