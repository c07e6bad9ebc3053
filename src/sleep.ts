/**
 * sleep(): suspend the current task, as asyncio's `tasks.sleep`.
 */
import type { Coro } from "./coroutines.ts";
import { getRunningLoop } from "./events.ts";
import type { Future } from "./futures.ts";
import { describe } from "./internal/validate.ts";

/**
 * Suspend the current task for `delay` seconds, then return `result`.
 *
 * `sleep(0)` (or a negative delay) gives the loop exactly one iteration: other ready tasks
 * run, then this one resumes. Cancelling the sleeping task cancels its timer.
 *
 * @throws TypeError when `delay` is not a number, or NaN.
 */
export function sleep(delay: number): Coro<undefined>;
export function sleep<T>(delay: number, result: T): Coro<T>;
export function* sleep<T>(delay: number, result?: T): Coro<T | undefined> {
  if (typeof delay !== "number") {
    throw new TypeError(`delay must be a number, got ${describe(delay)}`);
  }
  if (Number.isNaN(delay)) throw new TypeError("Invalid delay: NaN (not a number)");
  if (delay <= 0) {
    yield;
    return result;
  }
  const loop = getRunningLoop();
  const future = loop.createFuture<T | undefined>();
  const timer = loop.callLater(delay, setResultUnlessCancelled, future, result);
  try {
    return yield* future;
  } finally {
    timer.cancel();
  }
}

function setResultUnlessCancelled<T>(future: Future<T>, result: T): void {
  if (!future.done()) future.setResult(result);
}
