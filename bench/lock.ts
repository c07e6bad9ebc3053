// Lock and Semaphore under contention: ../shared/bench-ref/py_lock.py for tsyncio.
//
// W worker tasks (default 100) share one primitive; each performs N/W acquire/release
// cycles (N default 1,000,000 in total), holding it with `using _held = yield* prim.hold()`
// (asyncio's `async with prim:`).
//   lock_contended  : Lock; the holder does `yield* sleep(0)` inside the critical section,
//                     so the other workers really queue on the lock (every acquisition
//                     goes through the waiter queue and a future wake-up).
//   sem10_contended : Semaphore(10), same body (up to 10 holders at once).
//   lock_fastpath   : Lock, empty critical section (no suspension inside): the acquire
//                     never has to wait, measures the uncontended path.
//   sem10_fastpath  : Semaphore(10), empty critical section.
// A holder counter checks mutual exclusion (<= 1 / <= 10 holders). Reported:
// acquisitions/s.
import { gather, Lock, Semaphore, sleep, type Coro } from "../src/index.ts";
import { check, mainIfRunDirectly, timed, type CoroBench, type Workload } from "./util.ts";

/** py_lock.py's `--workers`. */
export const WORKERS = 100;

/** The lock workloads' variants: which primitive, and whether the holder suspends. */
export const LOCK_VARIANTS: Readonly<
  Record<string, { kind: "lock" | "sem"; yieldInside: boolean }>
> = {
  lock_contended: { kind: "lock", yieldInside: true },
  sem10_contended: { kind: "sem", yieldInside: true },
  lock_fastpath: { kind: "lock", yieldInside: false },
  sem10_fastpath: { kind: "sem", yieldInside: false },
};

/** How many holders a variant's primitive admits at once. */
export function capacity(kind: "lock" | "sem"): number {
  return kind === "lock" ? 1 : 10;
}

/** The count run when `n` is asked for: a whole number of acquisitions per worker. */
export function lockCount(n: number): number {
  return Math.max(WORKERS, n - (n % WORKERS));
}

function makeBench(kind: "lock" | "sem", yieldInside: boolean): CoroBench {
  const cap = capacity(kind);
  return function* bench(n: number): Coro<number> {
    const prim = kind === "lock" ? new Lock() : new Semaphore(cap);
    const per = Math.floor(n / WORKERS);
    let inside = 0;
    let peak = 0;
    let done = 0;

    function* worker(): Coro<void> {
      for (let k = 0; k < per; k++) {
        using _held = yield* prim.hold();
        inside++;
        if (inside > peak) peak = inside;
        if (yieldInside) yield* sleep(0);
        inside--;
        done++;
      }
    }

    const workers: Coro<void>[] = [];
    for (let w = 0; w < WORKERS; w++) workers.push(worker());
    yield* gather(workers);
    if (peak > cap) throw new Error(`lock: ${peak} holders at once, at most ${cap} allowed`);
    check("lock done", done, per * WORKERS);
    return done;
  };
}

const VARIANTS: Readonly<Record<string, CoroBench>> = Object.fromEntries(
  Object.entries(LOCK_VARIANTS).map(([name, { kind, yieldInside }]) => [
    name,
    makeBench(kind, yieldInside),
  ]),
);

export const lock: Workload & { count(n: number): number } = {
  name: "lock",
  unit: "acquisitions/s",
  loop: "tsyncio",
  defaultN: 1_000_000,
  variants: Object.keys(VARIANTS),
  count: lockCount,
  async measure(variant, n) {
    if (n % WORKERS !== 0)
      throw new RangeError(`lock: n must be a multiple of ${WORKERS}, got ${n}`);
    const { seconds, value } = await timed(VARIANTS[variant]!, n);
    check(`lock ${variant}`, value, n);
    return seconds;
  },
  reference: { script: "py_lock.py", variantFlag: true },
};

await mainIfRunDirectly(import.meta.url, lock);
