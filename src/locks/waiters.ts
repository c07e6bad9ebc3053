/**
 * The fair FIFO waiter queue shared by Lock, Event, Condition, Semaphore and the queues
 * (Trio's ParkingLot idea over asyncio's deques of Futures), and the plumbing of `hold()`.
 */
import { isCoroutine, type Coro } from "../coroutines.ts";
import type { Future } from "../futures.ts";
import { describe, validateFunction } from "../internal/validate.ts";
import type { BaseEventLoop } from "../loop/base-event-loop.ts";

/**
 * Futures of blocked tasks, in arrival order. A waiter is removed by whoever created it,
 * once its task resumes (woken, cancelled or both), or at once by the `shift*` methods;
 * until then a woken or cancelled waiter stays in the queue and counts in `size`, exactly
 * as in asyncio's deques (reprs show that count).
 *
 * Backed by a Set: insertion-ordered, O(1) removal from anywhere.
 */
export class Waiters<T> {
  readonly #futures = new Set<Future<T>>();

  /** How many waiters are queued, including woken or cancelled ones not yet removed. */
  get size(): number {
    return this.#futures.size;
  }

  /** A new Future on `loop`, queued last. */
  add(loop: BaseEventLoop): Future<T> {
    const future = loop.createFuture<T>();
    this.#futures.add(future);
    return future;
  }

  /** Remove `future` if it is still queued. */
  delete(future: Future<T>): void {
    this.#futures.delete(future);
  }

  /** The oldest waiter, whatever its state. */
  first(): Future<T> | undefined {
    for (const future of this.#futures) return future;
    return undefined;
  }

  /** Whether some waiter was not cancelled (it waits, or was woken and has not run yet). */
  hasActive(): boolean {
    for (const future of this.#futures) if (!future.cancelled()) return true;
    return false;
  }

  /** Wake the oldest waiter that is not done yet; returns whether there was one. */
  wakeFirst(value: T): boolean {
    for (const future of this.#futures) {
      if (!future.done()) {
        future.setResult(value);
        return true;
      }
    }
    return false;
  }

  /** Wake up to `n` waiters that are not done yet, oldest first. */
  wakeUpTo(n: number, value: T): void {
    let woken = 0;
    for (const future of this.#futures) {
      if (woken >= n) return;
      if (!future.done()) {
        future.setResult(value);
        woken++;
      }
    }
  }

  /** Wake every waiter that is not done yet, oldest first. */
  wakeAll(value: T): void {
    for (const future of this.#futures) if (!future.done()) future.setResult(value);
  }

  /**
   * Remove waiters from the front until one that is not done is found, and wake it
   * (asyncio's `Queue._wakeup_next`). Returns whether one was woken.
   */
  shiftWake(value: T): boolean {
    for (const future of this.#futures) {
      this.#futures.delete(future);
      if (!future.done()) {
        future.setResult(value);
        return true;
      }
    }
    return false;
  }

  /** Remove every waiter, waking those that are not done (a queue's shutdown). */
  shiftWakeAll(value: T): void {
    const all = [...this.#futures];
    this.#futures.clear();
    for (const future of all) if (!future.done()) future.setResult(value);
  }
}

/** Something `hold()` can acquire and release: a Lock, Condition or Semaphore. */
export interface Holdable {
  acquire(): Coro<true>;
  release(): void;
}

/**
 * `hold()` of a primitive, both forms: with no body, acquire and return a `Disposable` that
 * releases once (`using _ = yield* lock.hold()`); with a body, acquire, run it, release
 * whatever happens, and return what the body returns. As `async with`: a cancelled
 * acquire releases nothing.
 */
export function* hold<R>(
  target: Holdable,
  body: (() => Coro<R>) | undefined,
): Coro<Disposable | R> {
  if (body !== undefined) validateFunction(body, "body");
  yield* target.acquire();
  if (body === undefined) return releaser(target);
  try {
    const coro: unknown = body();
    if (!isCoroutine(coro)) {
      throw new TypeError(`body must be a generator function, but it returned ${describe(coro)}`);
    }
    return (yield* coro) as R;
  } finally {
    target.release();
  }
}

function releaser(target: Holdable): Disposable {
  let held = true;
  return {
    [Symbol.dispose](): void {
      // A second dispose must not release a hold that someone else took since.
      if (!held) return;
      held = false;
      target.release();
    },
  };
}
