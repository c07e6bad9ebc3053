"""Timer throughput: asyncio.sleep with random delays.

N tasks (default 100,000) each `await asyncio.sleep(delay)` with a delay drawn
uniformly from [0, 10 ms) and return their index; the parent creates them all,
then awaits each in order. The delays come from xorshift32 with a fixed seed,
the same sequence as tsyncio's bench/timers.ts.

  random_delays : the only variant
Reported: sleeps/s for the whole spawn+sleep+collect cycle (at least 10 ms of
it is waiting for the last timer).

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

SEED = 0x2545F491
MAX_DELAY = 0.01
MASK = 0xFFFFFFFF


def xorshift32(seed):
    """Uniform floats in [0, 1), identical to timers.ts."""
    x = seed & MASK

    def random():
        nonlocal x
        x ^= (x << 13) & MASK
        x ^= x >> 17
        x ^= (x << 5) & MASK
        return x / 2 ** 32
    return random


async def sleeper(i, delay):
    await asyncio.sleep(delay)
    return i


async def random_delays(n):
    random = xorshift32(SEED)
    tasks = [asyncio.create_task(sleeper(i, random() * MAX_DELAY))
             for i in range(n)]
    total = 0
    for t in tasks:
        total += await t
    return total


VARIANTS = {"random_delays": random_delays}


def main():
    p = bu.make_parser(__doc__)
    p.add_argument("-n", type=int, default=100_000)
    p.add_argument("--variant", action="append", choices=list(VARIANTS))
    a = p.parse_args()
    out = {}
    for name in a.variant or VARIANTS:
        secs, total = bu.timed(a.loop, VARIANTS[name], a.n)
        assert total == a.n * (a.n - 1) // 2, (name, total)
        out[name] = bu.rate(a.n, secs)
    bu.emit("timers", a.loop, out, unit="sleeps/s")


if __name__ == "__main__":
    main()
