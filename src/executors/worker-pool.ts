/**
 * WorkerPoolExecutor: jobs on a pool of `worker_threads`, the counterpart of
 * concurrent.futures' ThreadPoolExecutor for CPU-bound JavaScript. A worker is a separate
 * JavaScript world: it shares no variables with the loop's thread, so a job is an export
 * of the pool's module called by name, or a self-contained function sent as source.
 */
import { Worker } from "node:worker_threads";
import type { AnyModule } from "./executor.ts";
import { PoolExecutor, type PoolOptions, type PoolWorker, type PoolWorkerEvents } from "./pool.ts";
import type { ResultMessage } from "./wire.ts";

/** Where the workers' program is: compiled next to this file. */
const ENTRY = new URL("./worker-entry.js", import.meta.url);

/**
 * A pool of worker threads bound to a module: `pool.call("name", ...args)` (or
 * `loop.runInExecutor(pool, "name", ...args)`) runs that export in a worker. Arguments and
 * results cross by structured clone (plain data, typed arrays, Maps, Dates, errors; not
 * functions or class instances' prototypes); mark big buffers with `transfer()` to move
 * them instead. Without a module, jobs are self-contained functions sent as source (see
 * `toThread`).
 *
 * Workers start as jobs arrive, up to `maxWorkers` (default: the CPU count), and run one
 * job each at a time, in submission order; idle workers do not keep the process alive.
 * Cancelling a queued job drops it; cancelling a running one terminates its worker, which
 * is replaced. A worker that dies (`process.exit()`, an error outside the job) fails its
 * job with `BrokenWorkerError` and is replaced. Call `shutdown()` when done.
 *
 * @example
 * ```ts
 * // primes.ts (compiled to primes.js)
 * export function countPrimes(from: number, to: number): number { ... }
 *
 * // main.ts
 * import { WorkerPoolExecutor, getRunningLoop, gather, run, type Coro } from "tsyncio";
 *
 * const pool = new WorkerPoolExecutor<typeof import("./primes.ts")>(
 *   new URL("./primes.js", import.meta.url),
 * );
 * function* main(): Coro<number> {
 *   const loop = getRunningLoop();
 *   const counts = yield* gather(
 *     loop.runInExecutor(pool, "countPrimes", 0, 5_000_000),
 *     loop.runInExecutor(pool, "countPrimes", 5_000_000, 10_000_000),
 *   );
 *   return counts[0] + counts[1];
 * }
 * try {
 *   console.log(await run(main()));
 * } finally {
 *   await pool.shutdown();
 * }
 * ```
 */
export class WorkerPoolExecutor<M = AnyModule> extends PoolExecutor<M> {
  /**
   * @param module the module whose exports jobs call: a `URL` (usually
   *   `new URL("./jobs.js", import.meta.url)`), a URL string or an absolute path; omit it
   *   for a pool that runs self-contained functions only.
   * @throws TypeError or RangeError for a bad `module` or option.
   */
  constructor(module?: string | URL | null, options?: PoolOptions) {
    super("WorkerPoolExecutor", module, options);
  }

  /** @internal */
  _spawn(
    moduleUrl: string | null,
    execArgv: readonly string[] | undefined,
    id: number,
    events: PoolWorkerEvents,
  ): PoolWorker {
    const worker = new Worker(ENTRY, {
      workerData: { moduleUrl },
      name: `tsyncio worker ${id}`,
      ...(execArgv === undefined ? {} : { execArgv: [...execArgv] }),
    });
    worker.unref();
    worker.on("message", (message: ResultMessage) => {
      events.onMessage(message);
    });
    worker.on("error", (error: unknown) => {
      events.onFatal(error);
    });
    worker.on("exit", (code: number) => {
      events.onExit(`exited with code ${code}`);
    });
    return {
      post(message, transferList) {
        worker.postMessage(message, transferList);
      },
      ref() {
        worker.ref();
      },
      unref() {
        worker.unref();
      },
      kill() {
        void worker.terminate();
      },
      close() {
        void worker.terminate();
      },
    };
  }
}
