/**
 * Crossing between the event loop and other code: `toThread` (asyncio.to_thread) sends a
 * self-contained function to a worker thread; `runCoroutineThreadsafe`
 * (asyncio.run_coroutine_threadsafe) lets code outside the loop run a coroutine on it.
 */
import { isCoroutine, type Coro } from "./coroutines.ts";
import { getRunningLoop } from "./events.ts";
import { CancelledError } from "./exceptions.ts";
import { functionSource } from "./executors/function-source.ts";
import "./executors/loop-methods.ts";
import type { Future } from "./futures.ts";
import { describe, validateFunction, validateOptions } from "./internal/validate.ts";
import { BaseEventLoop } from "./loop/base-event-loop.ts";

/**
 * Run `fn(...args)` in the running loop's default executor (a `WorkerPoolExecutor` unless
 * `loop.setDefaultExecutor` chose another) and return a Future of its result.
 *
 * A worker thread shares no memory with the loop's thread, so `fn` travels as its source
 * code and is compiled again in the worker. It can use its parameters and the globals
 * every thread has (`Math`, `crypto`, `await import("node:zlib")`), nothing else: not
 * the variables around it, not `this`, not the current Context (context variables stay
 * behind, where asyncio copies them). Arguments and the result are copied by structured
 * clone. A function that reads an outer variable fails with a ReferenceError saying so.
 * For anything bigger, put the code in a module and use a `WorkerPoolExecutor` bound to
 * it. Cancelling the Future terminates the worker if the job is running.
 *
 * @example
 * ```ts
 * import { toThread, type Coro } from "tsyncio";
 *
 * function* digest(data: Uint8Array): Coro<string> {
 *   return yield* toThread(async (bytes: Uint8Array) => {
 *     const { createHash } = await import("node:crypto"); // imports, not outer variables
 *     return createHash("sha256").update(bytes).digest("hex");
 *   }, data);
 * }
 * ```
 *
 * @throws TypeError at once when `fn` has no source that can be sent: a native or bound
 *   function, a class, a method shorthand, a generator function; RuntimeError when no
 *   loop is running or the default executor was shut down.
 */
export function toThread<A extends unknown[], R>(
  fn: (...args: A) => R,
  ...args: A
): Future<Awaited<R>> {
  validateFunction(fn, "toThread() fn");
  functionSource(fn, "toThread");
  return getRunningLoop().runInExecutor(null, fn, ...args);
}

/** Options of `runCoroutineThreadsafe`. */
export interface RunCoroutineThreadsafeOptions {
  /** Aborting it cancels the task; the Promise then rejects with CancelledError. */
  signal?: AbortSignal | undefined;
}

/**
 * Run `coro` in a new task on `loop` from code that is not running on it (a plain async
 * function, a Node callback, another loop), and return a Promise of its result: asyncio's
 * `run_coroutine_threadsafe`, with an AbortSignal in place of the concurrent Future's
 * `cancel()`. The task is created on the loop's next iteration (so not before the loop
 * runs); the Promise rejects with the task's error, or with CancelledError when the task
 * is cancelled, from inside the loop or through `signal`.
 *
 * Node has one loop per thread and no shared memory, so "another thread" means code on
 * this thread outside the loop; a worker thread cannot reach a loop object at all: serve
 * it named coroutine functions with `serveCoroutines`, and it calls them through a
 * `CoroutineClient`.
 *
 * @example
 * ```ts
 * server.on("request", (req, res) => {
 *   runCoroutineThreadsafe(handle(req), loop).then((body) => res.end(body), (e) => ...);
 * });
 * ```
 *
 * @throws TypeError `A coroutine object is required` (asyncio's words); RuntimeError
 *   `Event loop is closed`.
 */
export function runCoroutineThreadsafe<T>(
  coro: Coro<T>,
  loop: BaseEventLoop,
  options?: RunCoroutineThreadsafeOptions,
): Promise<T> {
  if (!isCoroutine(coro)) throw new TypeError("A coroutine object is required");
  if (!(loop instanceof BaseEventLoop)) {
    throw new TypeError(`loop must be an event loop, got ${describe(loop)}`);
  }
  validateOptions(options, "options");
  const signal = options?.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`signal must be an AbortSignal, got ${describe(signal)}`);
  }
  let settle!: { resolve: (value: T) => void; reject: (error: unknown) => void };
  const promise = new Promise<T>((resolve, reject) => {
    settle = { resolve, reject };
  });
  loop.callSoonThreadsafe(() => {
    if (signal?.aborted === true) {
      coro.return(undefined as T);
      settle.reject(new CancelledError());
      return;
    }
    let task;
    try {
      task = loop.createTask(coro);
    } catch (error) {
      settle.reject(error);
      return;
    }
    const onAbort = (): void => {
      task.cancel();
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    task.addDoneCallback(() => {
      signal?.removeEventListener("abort", onAbort);
      try {
        settle.resolve(task.result());
      } catch (error) {
        settle.reject(error);
      }
    });
  });
  return promise;
}
