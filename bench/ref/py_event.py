"""asyncio.Event wake-ups.

N wake-ups in total (default 100,000), in rounds of W tasks (default 10,000)
waiting on one Event, N/W rounds:
  spawn_wait  : each round clears the Event, creates W tasks that each
                `await ev.wait()` and return their index, lets them all block
                (one sleep(0), checked), sets the Event and awaits every task
                in order. Task creation is included, as in py_task_memory.py.
  wake_rounds : W tasks live through every round, waiting on two Events in
                turn. Each round the main task clears the next Event, sets the
                current one and waits for a future that the last task to wake
                resolves (by then every task waits on the next Event): wait(),
                set() and the wake-up alone, no task creation.
Reported: wake-ups/s.

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


def shape(n, waiters):
    """(waiters per round, rounds) for n wake-ups."""
    w = min(waiters, n)
    return w, n // w


def make_spawn_wait(waiters):
    async def bench(n):
        w, rounds = shape(n, waiters)
        ev = asyncio.Event()
        blocked = 0

        async def idle(i):
            nonlocal blocked
            blocked += 1
            await ev.wait()
            return i

        total = 0
        for _ in range(rounds):
            ev.clear()
            blocked = 0
            tasks = [asyncio.create_task(idle(i)) for i in range(w)]
            await asyncio.sleep(0)   # every task runs up to ev.wait()
            assert blocked == w, (blocked, w)
            ev.set()
            for t in tasks:
                total += await t
        assert total == rounds * (w * (w - 1) // 2), total
        return w * rounds
    return bench


def make_wake_rounds(waiters):
    async def bench(n):
        w, rounds = shape(n, waiters)
        loop = asyncio.get_running_loop()
        events = (asyncio.Event(), asyncio.Event())
        woken = 0
        done = None

        async def worker():
            nonlocal woken
            seen = 0
            for r in range(rounds):
                await events[r & 1].wait()
                seen += 1
                woken += 1
                if woken == w:
                    done.set_result(None)
            return seen

        tasks = [asyncio.create_task(worker()) for _ in range(w)]
        await asyncio.sleep(0)   # every task waits on events[0]
        for r in range(rounds):
            woken = 0
            done = loop.create_future()
            events[(r + 1) & 1].clear()
            events[r & 1].set()
            await done
        total = 0
        for t in tasks:
            total += await t
        assert total == w * rounds, total
        return total
    return bench


VARIANTS = {"spawn_wait": make_spawn_wait, "wake_rounds": make_wake_rounds}


def main():
    p = bu.make_parser(__doc__)
    p.add_argument("-n", type=int, default=100_000)
    p.add_argument("--waiters", type=int, default=10_000)
    p.add_argument("--variant", action="append", choices=list(VARIANTS))
    a = p.parse_args()
    out = {}
    for name in a.variant or VARIANTS:
        secs, done = bu.timed(a.loop, VARIANTS[name](a.waiters), a.n)
        out[name] = bu.rate(done, secs)
    bu.emit("event", a.loop, out, waiters=a.waiters, unit="wake-ups/s")


if __name__ == "__main__":
    main()
