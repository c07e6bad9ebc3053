/**
 * Promise interop: wait for a Promise inside a coroutine, and let cancellation reach APIs
 * that take an AbortSignal. (The other direction needs nothing: Futures and Tasks are
 * thenables, so `async` code can `await task`.)
 */
import { copyContext } from "./contextvars.ts";
import { getRunningLoop } from "./events.ts";
import { CancelledError } from "./exceptions.ts";
import type { Future } from "./futures.ts";
import { describe } from "./internal/validate.ts";
import type { BaseEventLoop } from "./loop/base-event-loop.ts";
import { describeWait, tracking } from "./internal/call-stacks.ts";

/**
 * A Future on the running loop that settles like `source`.
 *
 * `source` is a Promise (any thenable), or a function `(signal) => Promise`: it is called
 * at once, and its `signal` is aborted (with a CancelledError as the reason) when the
 * Future is cancelled, which is what cancelling the task that waits on it does. So
 * `yield* wrapPromise((signal) => fetch(url, { signal }))` stops the request for real.
 *
 * A Promise that settles after the Future was cancelled is ignored: no unhandled
 * rejection, nothing kept alive. On a virtual-clock loop the clock does not move while
 * the Promise is outstanding.
 *
 * @throws TypeError when `source` is neither; a function that throws or returns a
 *   non-thenable fails the Future instead.
 */
export function wrapPromise<T>(
  source: PromiseLike<T> | ((signal: AbortSignal) => PromiseLike<T>),
): Future<Awaited<T>> {
  if (!isThenable(source) && typeof source !== "function") {
    throw new TypeError(
      `wrapPromise() expects a Promise or a function (signal) => Promise, got ${describe(source)}`,
    );
  }
  const loop = getRunningLoop();
  const future = loop.createFuture<Awaited<T>>();
  let promise: PromiseLike<T>;
  let controller: AbortController | undefined;
  if (typeof source === "function") {
    controller = new AbortController();
    try {
      const returned: unknown = source(controller.signal);
      if (!isThenable(returned)) {
        future.setException(
          new TypeError(
            `the function given to wrapPromise() must return a Promise, got ${describe(returned)}`,
          ),
        );
        return future;
      }
      promise = returned as PromiseLike<T>;
    } catch (error) {
      future.setException(error);
      return future;
    }
  } else {
    promise = source;
  }
  if (tracking) describeWait(future, "a Promise (wrapPromise)");
  settleFromPromise(loop, future, promise, controller);
  return future;
}

/**
 * @internal Settle `future` (on `loop`) as `promise` settles; cancelling `future` aborts
 * `controller`, if any. A virtual-clock loop does not jump while the promise is outstanding.
 */
export function settleFromPromise<T>(
  loop: BaseEventLoop,
  future: Future<Awaited<T>>,
  promise: PromiseLike<T>,
  controller: AbortController | undefined,
): void {
  let outstanding = true;
  const finish = (): void => {
    if (outstanding) {
      outstanding = false;
      loop._hostOpFinished();
    }
  };
  loop._hostOpStarted();
  future._addCallback(() => {
    finish();
    if (future.cancelled() && controller !== undefined) {
      controller.abort(new CancelledError("the waiting task was cancelled"));
    }
  }, copyContext());
  promise.then(
    (value) => {
      finish();
      if (!future.done() && !loop.isClosed()) future.setResult(value as Awaited<T>);
    },
    (error: unknown) => {
      finish();
      if (!future.done() && !loop.isClosed()) future.setException(error);
    },
  );
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function"
  );
}
