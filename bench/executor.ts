// CPU-bound work spread over a worker pool versus run inline on the loop's thread.
//
// N chunks (default 100) of CHUNK consecutive integers each; every chunk's primes are
// counted by trial division (bench/primes.ts), and the counts are summed:
//   inline      : each chunk is `countPrimes(...)` called in turn on the loop's thread
//                 (what a program without an executor does, blocking the loop meanwhile);
//   worker_pool : every chunk is `loop.runInExecutor(pool, "countPrimes", from, to)`, all
//                 at once, awaited with gather, on a WorkerPoolExecutor of os.cpus().length
//                 workers (started during the warm-up, so the timed run excludes startup).
// Reported: chunks/s. The ratio between the two rows is the speed-up the pool gives on this
// machine (at best the number of cores, less the cost of messages). No Python reference:
// CPython's pure-Python loop would measure its interpreter, not its executor.
import { cpus } from "node:os";
import { WorkerPoolExecutor, gather, getRunningLoop, type Coro } from "../src/index.ts";
import { countPrimes } from "./primes.ts";
import { check, mainIfRunDirectly, timed, type CoroBench, type Workload } from "./util.ts";

/** Integers per chunk. */
const CHUNK = 20_000;

type Primes = typeof import("./primes.ts");

/** The number of primes below `limit`, by a sieve: what every run must find. */
function primesBelow(limit: number): number {
  const composite = new Uint8Array(limit);
  let count = 0;
  for (let n = 2; n < limit; n++) {
    if (composite[n] === 1) continue;
    count++;
    for (let m = n * n; m < limit; m += n) composite[m] = 1;
  }
  return count;
}

function* inline(n: number): Coro<number> {
  let total = 0;
  for (let i = 0; i < n; i++) total += countPrimes(i * CHUNK, (i + 1) * CHUNK);
  return total;
}

function pooled(pool: WorkerPoolExecutor<Primes>): CoroBench {
  return function* (n: number): Coro<number> {
    const loop = getRunningLoop();
    const chunks = [];
    for (let i = 0; i < n; i++) {
      chunks.push(loop.runInExecutor(pool, "countPrimes", i * CHUNK, (i + 1) * CHUNK));
    }
    const counts = yield* gather(chunks);
    return counts.reduce((a, b) => a + b, 0);
  };
}

export const executor: Workload = {
  name: "executor",
  unit: "chunks/s",
  loop: "tsyncio",
  defaultN: 100,
  variants: ["inline", "worker_pool"],
  async measure(variant, n) {
    let result: { seconds: number; value: number };
    if (variant === "inline") {
      result = await timed(inline, n);
    } else {
      const pool = new WorkerPoolExecutor<Primes>(new URL("./primes.js", import.meta.url), {
        maxWorkers: cpus().length,
      });
      try {
        result = await timed(pooled(pool), n);
      } finally {
        await pool.shutdown();
      }
    }
    check(`executor ${variant}`, result.value, primesBelow(n * CHUNK));
    return result.seconds;
  },
  reference: undefined,
};

await mainIfRunDirectly(import.meta.url, executor);
