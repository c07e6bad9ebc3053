/**
 * wait() and waitFor(), as asyncio's `tasks.wait` and `tasks.wait_for`.
 */
import { isCoroutine, type Awaitable, type Coro } from "./coroutines.ts";
import { getRunningLoop } from "./events.ts";
import { CancelledError, TimeoutError } from "./exceptions.ts";
import { Future } from "./futures.ts";
import { describe, isIterable } from "./internal/validate.ts";
import { ensureFuture } from "./tasks.ts";
import { timeout } from "./timeouts.ts";

/** `wait()` returns when any future finishes or is cancelled. */
export const FIRST_COMPLETED = "FIRST_COMPLETED";
/** `wait()` returns when any future fails, or when all are done. Cancellation is no failure. */
export const FIRST_EXCEPTION = "FIRST_EXCEPTION";
/** `wait()` returns when all futures are done. */
export const ALL_COMPLETED = "ALL_COMPLETED";

/** When `wait()` returns. */
export type ReturnWhen = typeof FIRST_COMPLETED | typeof FIRST_EXCEPTION | typeof ALL_COMPLETED;

/** Options of `wait()`. */
export interface WaitOptions {
  /** Seconds to wait at most; `null` or omitted: no limit. */
  timeout?: number | null | undefined;
  /** When to return; default `ALL_COMPLETED`. */
  returnWhen?: ReturnWhen | undefined;
}

/**
 * Wait for the Futures and Tasks in `futures` until `returnWhen` says so or `timeout`
 * seconds pass, and return `[done, pending]` as two Sets. Never throws TimeoutError and
 * never cancels anything: what is still pending is in the second Set.
 *
 * @throws TypeError for a single Future or coroutine instead of an iterable, or for
 *   coroutines in it (`Passing coroutines is forbidden, use tasks explicitly.`);
 *   RangeError for an empty iterable or a bad `returnWhen`.
 */
export function* wait<F extends Future<unknown>>(
  futures: Iterable<F>,
  options?: WaitOptions,
): Coro<[done: Set<F>, pending: Set<F>]> {
  if (futures instanceof Future || isCoroutine(futures) || !isIterable(futures)) {
    throw new TypeError(`expect an iterable of futures, not ${describe(futures)}`);
  }
  const delay = options?.timeout ?? null;
  if (delay !== null && (typeof delay !== "number" || Number.isNaN(delay))) {
    throw new TypeError(`timeout must be a number or null, got ${describe(delay)}`);
  }
  const all = new Set(futures);
  if (all.size === 0) throw new RangeError("Set of Tasks/Futures is empty.");
  const returnWhen: unknown = options?.returnWhen ?? ALL_COMPLETED;
  if (
    returnWhen !== FIRST_COMPLETED &&
    returnWhen !== FIRST_EXCEPTION &&
    returnWhen !== ALL_COMPLETED
  ) {
    throw new RangeError(`Invalid return_when value: ${describe(returnWhen)}`);
  }
  for (const future of all) {
    if (isCoroutine(future)) {
      throw new TypeError("Passing coroutines is forbidden, use tasks explicitly.");
    }
    if (!(future instanceof Future)) {
      throw new TypeError(`expect an iterable of futures, got an item ${describe(future)}`);
    }
  }

  const loop = getRunningLoop();
  const waiter = loop.createFuture<undefined>();
  const release = (): void => {
    if (!waiter.done()) waiter.setResult(undefined);
  };
  const timer = delay === null ? null : loop.callLater(delay, release);
  let counter = all.size;
  const onCompletion = (future: Future<unknown>): void => {
    counter--;
    if (
      counter <= 0 ||
      returnWhen === FIRST_COMPLETED ||
      (returnWhen === FIRST_EXCEPTION && !future.cancelled() && future.exception() !== null)
    ) {
      timer?.cancel();
      release();
    }
  };
  for (const future of all) future.addDoneCallback(onCompletion);
  try {
    yield* waiter;
  } finally {
    timer?.cancel();
    for (const future of all) future.removeDoneCallback(onCompletion);
  }
  const done = new Set<F>();
  const pending = new Set<F>();
  for (const future of all) (future.done() ? done : pending).add(future);
  return [done, pending];
}

/**
 * Wait for `aw` (a coroutine is wrapped in a Task) for at most `seconds`, and return its
 * result; on time out, cancel it, wait until it has really finished, and throw
 * TimeoutError. `null` waits without a limit.
 *
 * Built on `timeout()` (asyncio 3.12+): if `aw` catches the cancellation and returns a
 * value, that value is returned. Cancelling the waiting task cancels `aw` too.
 */
export function* waitFor<T>(aw: Future<T> | Awaitable<T>, seconds: number | null): Coro<T> {
  if (seconds !== null && (typeof seconds !== "number" || Number.isNaN(seconds))) {
    throw new TypeError(`timeout must be a number or null, got ${describe(seconds)}`);
  }
  if (seconds !== null && seconds <= 0) {
    const future = ensureFuture(aw);
    if (future.done()) return future.result();
    yield* cancelAndWait(future);
    try {
      return future.result();
    } catch (error) {
      if (error instanceof CancelledError) throw new TimeoutError(undefined, { cause: error });
      throw error;
    }
  }
  return yield* timeout(seconds, function* (): Coro<T> {
    return yield* aw instanceof Future ? aw : ensureAwaitable(aw);
  });
}

/** A coroutine runs inline, as `await coro` does; other awaitables as they are. */
function ensureAwaitable<T>(aw: Awaitable<T>): Awaitable<T> {
  if (!isIterable(aw)) {
    throw new TypeError(`a Future, a coroutine or an awaitable is required, got ${describe(aw)}`);
  }
  return aw;
}

/** Cancel `future` and wait until it is done, whatever it does with the cancellation. */
function* cancelAndWait(future: Future<unknown>): Coro<void> {
  const waiter = getRunningLoop().createFuture<undefined>();
  const release = (): void => {
    if (!waiter.done()) waiter.setResult(undefined);
  };
  future.addDoneCallback(release);
  try {
    future.cancel();
    yield* waiter;
  } finally {
    future.removeDoneCallback(release);
  }
}
