/**
 * Condition: wait for a notification while sharing a Lock. Mirrors asyncio.Condition
 * (Lib/asyncio/locks.py, 3.13: `wait()` re-raises the same CancelledError and passes its
 * notification on when it fails).
 */
import type { Coro, NOT_READY } from "../coroutines.ts";
import { _getRunningLoop } from "../events.ts";
import { CancelledError, RuntimeError } from "../exceptions.ts";
import { inspectAsString } from "../internal/inspect.ts";
import { describe, validateFunction, validateInteger } from "../internal/validate.ts";
import { Lock } from "./lock.ts";
import { hold, Waiters } from "./waiters.ts";

/**
 * A condition variable: tasks holding its lock `wait()` until another task `notify()`s
 * them. `locked`, `acquire` and `release` are the lock's.
 *
 * Notified tasks wake in the order they began waiting, each re-acquiring the lock before
 * `wait()` returns. `wait()` may return spuriously (a notification passed on by a
 * cancelled waiter), so wait in a loop, or use `waitFor(predicate)`.
 */
export class Condition {
  readonly #lock: Lock;
  readonly #waiters = new Waiters<false>();

  /**
   * A Condition over `lock`, or over a new Lock. The Condition shares the lock's loop
   * binding.
   *
   * @throws TypeError when `lock` is not a Lock; RuntimeError when `lock` is bound to a
   *   different event loop than the running one (asyncio finds out only at the first wait).
   */
  constructor(lock?: Lock) {
    if (lock !== undefined && !(lock instanceof Lock)) {
      throw new TypeError(`lock must be a Lock, got ${describe(lock)}`);
    }
    this.#lock = lock ?? new Lock();
    this.#lock._binding.check(this.#lock, _getRunningLoop());
  }

  /** asyncio's repr: `<Condition [locked, waiters:1]>`. */
  toString(): string {
    const waiting = this.#waiters.size > 0 ? `, waiters:${this.#waiters.size}` : "";
    return `<Condition [${this.#lock.locked() ? "locked" : "unlocked"}${waiting}]>`;
  }

  /** Whether the underlying lock is held. */
  locked(): boolean {
    return this.#lock.locked();
  }

  /** @internal `hold()`'s fast path: the underlying lock's. */
  _tryAcquire(): true | typeof NOT_READY {
    return this.#lock._tryAcquire();
  }

  /** Acquire the underlying lock: `Lock.acquire()`. */
  acquire(): Coro<true> {
    return this.#lock.acquire();
  }

  /** Release the underlying lock: `Lock.release()`. */
  release(): void {
    this.#lock.release();
  }

  /**
   * Hold the underlying lock for a scope, as `Lock.hold()`: `using _ = yield* cond.hold()`
   * or `yield* cond.hold(function* () { … })`.
   */
  hold(): Coro<Disposable>;
  hold<R>(body: () => Coro<R>): Coro<R>;
  hold<R>(body?: () => Coro<R>): Coro<Disposable | R> {
    return hold(this, body);
  }

  /**
   * Release the lock, wait until notified, re-acquire the lock, and return `true`.
   *
   * The lock is held again when `wait()` ends, however it ends: if the task is cancelled,
   * it re-acquires the lock first and then throws that same CancelledError (a cancellation
   * that arrives while re-acquiring replaces it). Whenever it throws, it passes one
   * notification on to another waiter, so a notification that raced a cancellation is not
   * lost.
   *
   * @throws RuntimeError `cannot wait on un-acquired lock` when the lock is not held.
   */
  *wait(): Coro<true> {
    if (!this.locked()) throw new RuntimeError("cannot wait on un-acquired lock");
    const loop = this.#lock._binding.loop(this);
    this.release();
    let failed = false;
    let error: unknown;
    const waiter = this.#waiters.add(loop);
    try {
      try {
        yield* waiter;
      } finally {
        this.#waiters.delete(waiter);
      }
    } catch (thrown) {
      // Rethrown below, after the lock is held again.
      failed = true;
      error = thrown;
    }
    // Not reached when the coroutine is closed (`return()`): it must not suspend again.
    try {
      yield* this.#reacquire();
    } catch (thrown) {
      failed = true;
      error = thrown;
    }
    if (failed) {
      // We may have been notified just before the error: wake someone else instead.
      //   cond.notify();  task.cancel();  // the notified task is the cancelled one
      this.#waiters.wakeUpTo(1, false);
      throw error;
    }
    return true;
  }

  /**
   * Wait until `predicate()` is truthy, and return its value. Checks it first, so a
   * predicate that already holds returns without the lock; otherwise the lock must be
   * held, and is held again on return. JavaScript truthiness (`[]` is truthy).
   *
   * @throws RuntimeError `cannot wait on un-acquired lock`; whatever `predicate` throws.
   */
  *waitFor<T>(predicate: () => T): Coro<T> {
    validateFunction(predicate, "predicate");
    let result = predicate();
    while (!result) {
      yield* this.wait();
      result = predicate();
    }
    return result;
  }

  /**
   * Wake up to `n` waiting tasks (default 1), oldest first. They return from `wait()` only
   * once they re-acquire the lock, so the caller must release it.
   *
   * @throws RuntimeError `cannot notify on un-acquired lock`; TypeError/RangeError unless
   *   `n` is an integer >= 0.
   */
  notify(n = 1): void {
    validateInteger(n, "n", 0);
    if (!this.locked()) throw new RuntimeError("cannot notify on un-acquired lock");
    this.#waiters.wakeUpTo(n, false);
  }

  /**
   * Wake every waiting task.
   *
   * @throws RuntimeError `cannot notify on un-acquired lock`.
   */
  notifyAll(): void {
    this.notify(this.#waiters.size);
  }

  /** Re-acquire the lock even through cancellations; throw the last one afterwards. */
  *#reacquire(): Coro<void> {
    let cancelled: CancelledError | undefined;
    for (;;) {
      try {
        yield* this.acquire();
        break;
      } catch (error) {
        if (!(error instanceof CancelledError)) throw error;
        cancelled = error;
      }
    }
    if (cancelled !== undefined) throw cancelled;
  }
}

inspectAsString(Condition);
