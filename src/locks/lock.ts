/**
 * Lock: mutual exclusion between tasks. Mirrors asyncio.Lock (Lib/asyncio/locks.py, 3.13);
 * `async with lock` becomes `hold()`.
 */
import { NOT_READY, type Coro } from "../coroutines.ts";
import type { Future } from "../futures.ts";
import { CancelledError, RuntimeError } from "../exceptions.ts";
import { inspectAsString } from "../internal/inspect.ts";
import { LoopBinding } from "../internal/loop-binding.ts";
import { hold, THROWN, WaitCoro, Waiters, RESUMED, type WaitOps } from "./waiters.ts";

/**
 * A mutual-exclusion lock, not owned by any task: whoever holds it may release it.
 *
 * Fair: tasks acquire it in the order they began waiting. A task that calls `acquire()`
 * while others wait queues behind them, even in the moment after `release()` when
 * `locked()` is already false but the woken waiter has not run yet. Cancelling a waiting
 * task removes only its waiter; if it had already been woken, the wake-up passes to the
 * next waiter, so a release is never lost. Bound to the first loop that makes a task wait.
 *
 * Three ways to hold it: `yield* lock.acquire()` … `lock.release()` in a `finally`;
 * `using _ = yield* lock.hold()`; or `yield* lock.hold(function* () { … })`.
 */
export class Lock {
  /** @internal Shared with a Condition built on this Lock. */
  readonly _binding: LoopBinding = new LoopBinding();
  // Invariant: at most one waiter is woken and not yet resumed, and only while unlocked.
  readonly #waiters = new Waiters<true>();
  #locked = false;

  /** asyncio's repr: `<Lock [locked, waiters:2]>`. */
  toString(): string {
    const waiting = this.#waiters.size > 0 ? `, waiters:${this.#waiters.size}` : "";
    return `<Lock [${this.#locked ? "locked" : "unlocked"}${waiting}]>`;
  }

  /**
   * Whether the lock is held. False right after `release()` even when a woken waiter is
   * about to take it; `acquire()` still queues behind that waiter (asyncio parity).
   */
  locked(): boolean {
    return this.#locked;
  }

  /**
   * Wait until the lock is free and it is this task's turn, take it, and return `true`.
   * Returns without suspending when the lock is free and no task waits for it.
   *
   * Cancellation: the task leaves the queue with CancelledError and does not hold the lock;
   * a wake-up it had already received goes to the next waiter.
   *
   * @throws RuntimeError when the lock is bound to a different event loop.
   */
  acquire(): Coro<true> {
    return new WaitCoro(this, ACQUIRE);
  }

  /** @internal `acquire` without waiting, or NOT_READY. */
  _tryAcquire(): true | typeof NOT_READY {
    // Fair: take the fast path only when no live waiter is queued. (Jumping a queue whose
    // waiters are all cancelled is asyncio's optimization.)
    if (this.#locked || this.#waiters.hasActive()) return NOT_READY;
    this.#locked = true;
    return true;
  }

  /** @internal `acquire` has to wait: queue a waiter. */
  _park(): Future<true> {
    return this.#waiters.add(this._binding.loop(this));
  }

  /** @internal The wait for `waiter` ended (`how`: RESUMED, THROWN or CLOSED). */
  _unpark(waiter: Future<true>, how: number, error: unknown): void {
    this.#waiters.delete(waiter);
    if (how === RESUMED) {
      this.#locked = true;
    } else if (how === THROWN && error instanceof CancelledError && !this.#locked) {
      // Woken, then cancelled before running: the lock is free and nobody else was woken.
      //   yield* lock.acquire();  // queued; lock.release() wakes us; task.cancel() lands
      this.#wakeUpFirst();
    }
  }

  /**
   * Release the lock and wake the first waiting task, if any. Any task may release it.
   *
   * @throws RuntimeError `Lock is not acquired.` when the lock is not held.
   */
  release(): void {
    if (!this.#locked) throw new RuntimeError("Lock is not acquired.");
    this.#locked = false;
    this.#wakeUpFirst();
  }

  /**
   * Acquire the lock for a scope (asyncio's `async with lock`). With no argument, returns a
   * `Disposable` that releases it: `using _ = yield* lock.hold()`. With a body (a generator
   * function), runs it while holding the lock, releases the lock however the body ends,
   * and returns the body's result. If the acquire is cancelled, nothing is released.
   */
  hold(): Coro<Disposable>;
  hold<R>(body: () => Coro<R>): Coro<R>;
  hold<R>(body?: () => Coro<R>): Coro<Disposable | R> {
    return hold(this, body);
  }

  /** Wake the head of the queue unless it is done (already woken, or cancelled). */
  #wakeUpFirst(): void {
    const first = this.#waiters.first();
    if (first !== undefined && !first.done()) first.setResult(true);
  }
}

inspectAsString(Lock);

const ACQUIRE: WaitOps<Lock, true> = {
  fast: (lock) => lock._tryAcquire(),
  park: (lock) => lock._park(),
  leave: (lock, waiter, how, error) => {
    lock._unpark(waiter, how, error);
  },
  name: "Lock.acquire",
};
