/**
 * The loop's executor methods (`loop.runInExecutor`, `setDefaultExecutor`,
 * `shutdownDefaultExecutor`), as asyncio's BaseEventLoop has them. Added to
 * BaseEventLoop's prototype here, so that the kernel does not depend on worker threads.
 */
import type { Coro } from "../coroutines.ts";
import { RuntimeError } from "../exceptions.ts";
import type { Future } from "../futures.ts";
import { settleFromPromise, wrapPromise } from "../interop.ts";
import { describe, validateNumber } from "../internal/validate.ts";
import { BaseEventLoop } from "../loop/base-event-loop.ts";
import { moveOnAfter } from "../timeouts.ts";
import {
  isExecutor,
  type Executor,
  type ExportArgs,
  type ExportName,
  type ExportResult,
  type JobTarget,
  type ModuleExecutor,
} from "./executor.ts";
import { WorkerPoolExecutor } from "./worker-pool.ts";

declare module "../loop/base-event-loop.ts" {
  interface BaseEventLoop {
    /**
     * Run `fn(...args)` in `executor` (null: the loop's default executor, a
     * `WorkerPoolExecutor` created on first use) and return a Future of its result. On a
     * pool, `fn` is sent as source code: it may use only its parameters and globals.
     * Cancelling the Future (or the task awaiting it) cancels the job: a queued job is
     * dropped, a running one's worker is terminated.
     *
     * @throws RuntimeError `Event loop is closed`, or `Executor shutdown has been called`
     *   for the default executor after `shutdownDefaultExecutor()`; TypeError for a
     *   generator function (`coroutines cannot be used with runInExecutor()`) or a
     *   function that cannot be sent to a worker.
     */
    runInExecutor<A extends unknown[], R>(
      executor: Executor | null | undefined,
      fn: (...args: A) => R,
      ...args: A
    ): Future<Awaited<R>>;
    /** Run the export `name` of `executor`'s module: `loop.runInExecutor(pool, "resize", img)`. */
    runInExecutor<M, K extends ExportName<M>>(
      executor: ModuleExecutor<M>,
      name: K,
      ...args: ExportArgs<M, K>
    ): Future<ExportResult<M, K>>;
    /**
     * Use `executor` for `runInExecutor(null, ...)` and `toThread()`. The previous default
     * executor is not shut down.
     *
     * @throws TypeError unless `executor` has `submit()` and `shutdown()` methods.
     */
    setDefaultExecutor(executor: Executor): void;
    /**
     * Shut the default executor down and wait (up to `timeout` seconds; null: forever) for
     * its jobs to finish and its workers to exit. Afterwards `runInExecutor(null, ...)`
     * throws. On timeout, warns (`RuntimeWarning`) and stops waiting. `run()` and
     * `Runner.close()` call it, as `asyncio.run()` does.
     */
    shutdownDefaultExecutor(timeout?: number | null): Coro<void>;
  }
}

interface ExecutorState {
  executor: Executor | null;
  shutdownCalled: boolean;
}

const states = new WeakMap<BaseEventLoop, ExecutorState>();

function stateOf(loop: BaseEventLoop): ExecutorState {
  let state = states.get(loop);
  if (state === undefined) {
    const created: ExecutorState = { executor: null, shutdownCalled: false };
    states.set(loop, created);
    // As asyncio's close(): the default executor is shut down, without waiting.
    loop._closeHooks.add(() => {
      const executor = created.executor;
      created.executor = null;
      if (executor !== null) void executor.shutdown(false);
    });
    state = created;
  }
  return state;
}

/**
 * @internal Whether `loop` has a default executor to shut down: `Runner.close()` skips the
 * step (and the task it would take) when none was ever made or set.
 */
export function hasDefaultExecutor(loop: BaseEventLoop): boolean {
  return states.get(loop)?.executor != null;
}

function defaultExecutor(loop: BaseEventLoop): Executor {
  const state = stateOf(loop);
  if (state.shutdownCalled) throw new RuntimeError("Executor shutdown has been called");
  return (state.executor ??= new WorkerPoolExecutor());
}

/**
 * A Future on `loop` that settles like the job's Promise; cancelling the Future aborts the
 * job. A virtual-clock loop does not jump while the job is outstanding.
 */
function jobFuture<T>(
  loop: BaseEventLoop,
  promise: Promise<T>,
  controller: AbortController,
): Future<T> {
  const future = loop.createFuture<T>();
  settleFromPromise(loop, future as Future<Awaited<T>>, promise, controller);
  return future;
}

Object.assign(BaseEventLoop.prototype, {
  runInExecutor(
    this: BaseEventLoop,
    executor: Executor | null | undefined,
    target: JobTarget,
    ...args: unknown[]
  ): Future<unknown> {
    if (this.isClosed()) throw new RuntimeError("Event loop is closed");
    if (typeof target !== "function" && typeof target !== "string") {
      throw new TypeError(
        `a callable object was expected by runInExecutor(), got ${describe(target)}`,
      );
    }
    // asyncio parity: asyncio checks this in debug mode only; a generator's object can
    // never be a job's result, so tsyncio always does.
    const kind = (target as { constructor?: { name?: unknown } }).constructor?.name;
    if (kind === "GeneratorFunction" || kind === "AsyncGeneratorFunction") {
      throw new TypeError("coroutines cannot be used with runInExecutor()");
    }
    let chosen: Executor;
    if (executor === null || executor === undefined) {
      chosen = defaultExecutor(this);
    } else if (isExecutor(executor)) {
      chosen = executor;
    } else {
      throw new TypeError(
        `executor must be an Executor (an object with submit() and shutdown()) or null, got ${describe(executor)}`,
      );
    }
    const controller = new AbortController();
    return jobFuture(this, chosen.submit(target, args, controller.signal), controller);
  },

  setDefaultExecutor(this: BaseEventLoop, executor: Executor): void {
    if (!isExecutor(executor)) {
      throw new TypeError(
        `executor must be an Executor (an object with submit() and shutdown()), got ${describe(executor)}`,
      );
    }
    stateOf(this).executor = executor;
  },

  *shutdownDefaultExecutor(this: BaseEventLoop, timeout: number | null = 300): Coro<void> {
    if (timeout !== null) validateNumber(timeout, "timeout");
    const state = stateOf(this);
    state.shutdownCalled = true;
    const executor = state.executor;
    if (executor === null) return;
    const joined = yield* moveOnAfter(timeout, function* () {
      yield* wrapPromise(executor.shutdown(true));
      return true;
    });
    if (joined === undefined) {
      process.emitWarning(
        `The executor did not finishing joining its threads within ${timeout ?? 0} seconds.`,
        "RuntimeWarning",
      );
      void executor.shutdown(false);
    }
  },
});
