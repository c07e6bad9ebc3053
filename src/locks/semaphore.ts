/**
 * Semaphore and BoundedSemaphore: a counter of permits. Mirrors asyncio.Semaphore and
 * asyncio.BoundedSemaphore (Lib/asyncio/locks.py, 3.13: a successful acquire wakes every
 * waiter that can now proceed). Only integer values (asyncio also takes floats).
 */
import { NOT_READY, type Coro } from "../coroutines.ts";
import type { Future } from "../futures.ts";
import { CancelledError } from "../exceptions.ts";
import { inspectAsString } from "../internal/inspect.ts";
import { LoopBinding } from "../internal/loop-binding.ts";
import { validateInteger } from "../internal/validate.ts";
import { hold, THROWN, WaitCoro, Waiters, type WaitOps } from "./waiters.ts";

/**
 * A counter of permits: `acquire()` takes one, waiting while none is left; `release()`
 * gives one back.
 *
 * Fair: waiting tasks get permits in the order they began waiting, and a newcomer queues
 * behind them even when permits are free but not yet taken by the woken waiters (then
 * `locked()` is true). A cancelled waiter never keeps a permit: one it had been given goes
 * to the next waiter. `release()` does not check that the caller holds a permit; use
 * `BoundedSemaphore` to catch extra releases. Bound to the first loop that makes a task
 * wait.
 */
export class Semaphore {
  readonly #binding = new LoopBinding();
  readonly #waiters = new Waiters<true>();
  // Invariant: #value counts free permits minus those handed to woken waiters that have
  // not resumed yet; it is never negative.
  #value: number;

  /**
   * A semaphore with `value` permits (default 1).
   *
   * @throws TypeError unless `value` is an integer; RangeError `Semaphore initial value
   *   must be >= 0, got -1`.
   */
  constructor(value = 1) {
    validateInteger(value, "Semaphore initial value", 0);
    this.#value = value;
  }

  /** asyncio's repr: `<Semaphore [unlocked, value:2]>`, `<Semaphore [locked, waiters:1]>`. */
  toString(): string {
    const state = this.locked() ? "locked" : `unlocked, value:${this.#value}`;
    const waiting = this.#waiters.size > 0 ? `, waiters:${this.#waiters.size}` : "";
    return `<${this.constructor.name} [${state}${waiting}]>`;
  }

  /**
   * Whether `acquire()` would wait: no permit is left, or some task still waits (or was
   * woken and has not run yet) and goes first.
   */
  locked(): boolean {
    return this.#value === 0 || this.#waiters.hasActive();
  }

  /**
   * Take a permit, waiting for one if needed, and return `true`.
   *
   * Cancellation: the task leaves the queue with CancelledError and holds no permit; a
   * permit it had already been given returns to the semaphore and goes to the next waiter.
   *
   * @throws RuntimeError when the semaphore is bound to a different event loop.
   */
  acquire(): Coro<true> {
    return new WaitCoro(this, ACQUIRE);
  }

  /** @internal `acquire` without waiting, or NOT_READY. */
  _tryAcquire(): true | typeof NOT_READY {
    if (this.locked()) return NOT_READY;
    this.#value--;
    return true;
  }

  /** @internal `acquire` has to wait: queue a waiter. */
  _park(): Future<true> {
    return this.#waiters.add(this.#binding.loop(this));
  }

  /** @internal The wait for `waiter` ended (`how`: RESUMED, THROWN or CLOSED). */
  _unpark(waiter: Future<true>, how: number, error: unknown): void {
    this.#waiters.delete(waiter);
    // Given a permit by #wakeUpNext(), then cancelled before running: give it back.
    if (how === THROWN && error instanceof CancelledError && waiter.done() && !waiter.cancelled()) {
      this.#value++;
    }
    // Waiters that queued behind us (FIFO) may proceed now: wake as many as allowed.
    while (this.#value > 0 && this.#wakeUpNext());
  }

  /** Give a permit back, and hand it to the first waiting task, if any. */
  release(): void {
    this.#value++;
    this.#wakeUpNext();
  }

  /**
   * Hold a permit for a scope (asyncio's `async with sem`): `using _ = yield* sem.hold()`
   * or `yield* sem.hold(function* () { … })`; see `Lock.hold()`.
   */
  hold(): Coro<Disposable>;
  hold<R>(body: () => Coro<R>): Coro<R>;
  hold<R>(body?: () => Coro<R>): Coro<Disposable | R> {
    return hold(this, body);
  }

  /** @internal The number of free permits, for BoundedSemaphore. */
  get _value(): number {
    return this.#value;
  }

  /** Hand a permit to the oldest waiter not yet woken; returns whether there was one. */
  #wakeUpNext(): boolean {
    if (this.#waiters.size === 0) return false;
    if (!this.#waiters.wakeFirst(true)) return false;
    this.#value--;
    return true;
  }
}

/**
 * A Semaphore that refuses to be released above its initial value, which catches a
 * release without a matching acquire.
 */
export class BoundedSemaphore extends Semaphore {
  readonly #bound: number;

  /**
   * A bounded semaphore with `value` permits (default 1), never more.
   *
   * @throws TypeError unless `value` is an integer; RangeError when it is negative.
   */
  constructor(value = 1) {
    super(value);
    this.#bound = value;
  }

  /**
   * Give a permit back, as `Semaphore.release()`.
   *
   * @throws RangeError `BoundedSemaphore released too many times` when every permit is
   *   already free (asyncio raises ValueError).
   */
  override release(): void {
    if (this._value >= this.#bound) {
      throw new RangeError("BoundedSemaphore released too many times");
    }
    super.release();
  }
}

inspectAsString(Semaphore);

const ACQUIRE: WaitOps<Semaphore, true> = {
  fast: (semaphore) => semaphore._tryAcquire(),
  park: (semaphore) => semaphore._park(),
  leave: (semaphore, waiter, how, error) => {
    semaphore._unpark(waiter, how, error);
  },
  name: "Semaphore.acquire",
};
