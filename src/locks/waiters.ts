/**
 * The fair FIFO waiter queue shared by Lock, Event, Condition, Semaphore and the queues
 * (Trio's ParkingLot idea over asyncio's deques of Futures), and the plumbing of `hold()`.
 */
import { CoroutineObject, isCoroutine, NOT_READY, type Coro, type Yielded } from "../coroutines.ts";
import { RuntimeError } from "../exceptions.ts";
import { describeWait, recordSuspension, tracking } from "../internal/call-stacks.ts";
import { Future } from "../futures.ts";
import { describe, validateFunction } from "../internal/validate.ts";
import type { BaseEventLoop } from "../loop/base-event-loop.ts";

/** @internal A waiter's Future, linked into its queue (no allocation besides itself). */
class WaiterFuture<T> extends Future<T> {
  _previous: WaiterFuture<T> | null = null;
  _next: WaiterFuture<T> | null = null;
  _queued = false;
}

/**
 * Futures of blocked tasks, in arrival order. A waiter is removed by whoever created it,
 * once its task resumes (woken, cancelled or both), or at once by the `shift*` methods;
 * until then a woken or cancelled waiter stays in the queue and counts in `size`, exactly
 * as in asyncio's deques (reprs show that count).
 *
 * A doubly linked list threaded through the waiters' Futures: adding and removing anywhere
 * is O(1) and allocates nothing but the Future.
 */
export class Waiters<T> {
  #head: WaiterFuture<T> | null = null;
  #tail: WaiterFuture<T> | null = null;
  #size = 0;

  /** How many waiters are queued, including woken or cancelled ones not yet removed. */
  get size(): number {
    return this.#size;
  }

  /** A new Future on `loop`, queued last. */
  add(loop: BaseEventLoop): Future<T> {
    const future = new WaiterFuture<T>({ loop });
    future._queued = true;
    future._previous = this.#tail;
    if (this.#tail === null) this.#head = future;
    else this.#tail._next = future;
    this.#tail = future;
    this.#size++;
    return future;
  }

  /** Remove `future` if it is still queued. */
  delete(future: Future<T>): void {
    if (!(future instanceof WaiterFuture) || !future._queued) return;
    const node = future as WaiterFuture<T>;
    node._queued = false;
    const previous = node._previous;
    const next = node._next;
    if (previous === null) this.#head = next;
    else previous._next = next;
    if (next === null) this.#tail = previous;
    else next._previous = previous;
    node._previous = null;
    node._next = null;
    this.#size--;
  }

  /** The oldest waiter, whatever its state. */
  first(): Future<T> | undefined {
    return this.#head ?? undefined;
  }

  /** Whether some waiter was not cancelled (it waits, or was woken and has not run yet). */
  hasActive(): boolean {
    for (let node = this.#head; node !== null; node = node._next) {
      if (!node.cancelled()) return true;
    }
    return false;
  }

  /** Wake the oldest waiter that is not done yet; returns whether there was one. */
  wakeFirst(value: T): boolean {
    for (let node = this.#head; node !== null; node = node._next) {
      if (!node.done()) {
        node.setResult(value);
        return true;
      }
    }
    return false;
  }

  /** Wake up to `n` waiters that are not done yet, oldest first. */
  wakeUpTo(n: number, value: T): void {
    let woken = 0;
    for (let node = this.#head; node !== null && woken < n; node = node._next) {
      if (!node.done()) {
        node.setResult(value);
        woken++;
      }
    }
  }

  /** Wake every waiter that is not done yet, oldest first. */
  wakeAll(value: T): void {
    for (let node = this.#head; node !== null; node = node._next) {
      if (!node.done()) node.setResult(value);
    }
  }

  /**
   * Remove waiters from the front until one that is not done is found, and wake it
   * (asyncio's `Queue._wakeup_next`). Returns whether one was woken.
   */
  shiftWake(value: T): boolean {
    while (this.#head !== null) {
      const node = this.#head;
      this.delete(node);
      if (!node.done()) {
        node.setResult(value);
        return true;
      }
    }
    return false;
  }

  /** Remove every waiter, waking those that are not done (a queue's shutdown). */
  shiftWakeAll(value: T): void {
    while (this.#head !== null) {
      const node = this.#head;
      this.delete(node);
      if (!node.done()) node.setResult(value);
    }
  }
}

/** How a wait ended, for `WaitOps.leave`. */
export const RESUMED = 0;
export const THROWN = 1;
export const CLOSED = 2;

/**
 * @internal What a primitive's wait (Event.wait, Lock.acquire, Semaphore.acquire) does
 * around its waiter, for WaitCoro: module-level functions of the primitive.
 */
export interface WaitOps<O, T> {
  /** The wait's result without waiting, or NOT_READY. */
  fast(owner: O): T | typeof NOT_READY;
  /** Queue a waiter and return its Future. */
  park(owner: O): Future<T>;
  /**
   * The task resumed from the wait (RESUMED: the waiter has its result), or an error was
   * thrown in (THROWN, with `error`), or the coroutine was closed (CLOSED): take the
   * waiter out and do what the primitive must (the `finally` and `catch` of its wait).
   */
  leave(owner: O, waiter: Future<T>, how: number, error: unknown): void;
  /** What the inspector says the task waits in: `Lock.acquire`. */
  readonly name: string;
}

const START = 0;
const WAITING = 1;
const DONE = 2;

/**
 * @internal A primitive's wait as one hand-written coroutine: `fast`, else wait on a queued
 * waiter, then `leave`. The same protocol as the generator it replaces, in one small object
 * (a generator, its register file, a FastPath and a FutureIterator per waiting task, else).
 * Its results are plain `{ done, value }` literals, the one shape besides a generator's that
 * the Task's reads of them see everywhere, so those reads stay fast.
 */
export class WaitCoro<O, T> extends CoroutineObject<T> {
  readonly #owner: O;
  readonly #ops: WaitOps<O, T>;
  #waiter: Future<T> | null = null;
  #state = START;

  constructor(owner: O, ops: WaitOps<O, T>) {
    super();
    this.#owner = owner;
    this.#ops = ops;
  }

  next(): IteratorResult<Yielded, T> {
    const ops = this.#ops;
    if (this.#state === START) {
      this.#state = DONE;
      const value = ops.fast(this.#owner);
      if (value !== NOT_READY) return { done: true, value };
      const waiter = ops.park(this.#owner);
      this.#state = WAITING;
      waiter._blocking = true;
      if (tracking) {
        recordSuspension();
        describeWait(waiter, ops.name);
      }
      this.#waiter = waiter;
      return { done: false, value: waiter };
    }
    if (this.#state === WAITING) {
      const waiter = this.#waiter as Future<T>;
      if (!waiter.done()) {
        // As the generator would: the error ends the wait, and its `finally` runs.
        const error = new RuntimeError("await wasn't used with future");
        this.#leave(THROWN, error);
        throw error;
      }
      this.#state = DONE;
      this.#waiter = null;
      let result: T;
      try {
        result = waiter.result();
      } catch (error) {
        ops.leave(this.#owner, waiter, THROWN, error);
        throw error;
      }
      ops.leave(this.#owner, waiter, RESUMED, undefined);
      return { done: true, value: result };
    }
    return { done: true, value: undefined as T };
  }

  throw(error: unknown): IteratorResult<Yielded, T> {
    this.#leave(THROWN, error);
    throw error;
  }

  return(value: T): IteratorResult<Yielded, T> {
    this.#leave(CLOSED, undefined);
    return { done: true, value };
  }

  #leave(how: number, error: unknown): void {
    const waiter = this.#waiter;
    this.#state = DONE;
    this.#waiter = null;
    if (waiter !== null) this.#ops.leave(this.#owner, waiter, how, error);
  }
}

/** Something `hold()` can acquire and release: a Lock, Condition or Semaphore. */
export interface Holdable {
  acquire(): Coro<true>;
  release(): void;
  /** Acquire without waiting if possible (true), else NOT_READY: `hold()`'s fast path. */
  _tryAcquire?(): true | typeof NOT_READY;
}

/**
 * `hold()` of a primitive, both forms: with no body, acquire and return a `Disposable` that
 * releases once (`using _ = yield* lock.hold()`); with a body, acquire, run it, release
 * whatever happens, and return what the body returns. As `async with`: a cancelled
 * acquire releases nothing.
 */
export function hold<R>(target: Holdable, body: (() => Coro<R>) | undefined): Coro<Disposable | R> {
  if (body === undefined) return new Hold(target);
  return holdWith(target, body);
}

function* holdWith<R>(target: Holdable, body: () => Coro<R>): Coro<R> {
  validateFunction(body, "body");
  yield* target.acquire();
  try {
    const coro: unknown = body();
    if (!isCoroutine(coro)) {
      throw new TypeError(`body must be a generator function, but it returned ${describe(coro)}`);
    }
    return yield* coro as Coro<R>;
  } finally {
    target.release();
  }
}

/**
 * `hold()` with no body, by hand: acquire (at once if `_tryAcquire` can, else through
 * `acquire()`, delegated to as `yield*` would), and return itself as the `Disposable` that
 * releases once, however often it is disposed. One object per hold besides its results:
 * the coroutine and the releaser.
 */
class Hold extends CoroutineObject<Disposable> implements Disposable {
  #target: Holdable | null;
  #acquire: Coro<true> | null = null;
  #state = START;
  #held = false;

  constructor(target: Holdable) {
    super();
    this.#target = target;
  }

  next(): IteratorResult<Yielded, Disposable> {
    const target = this.#target;
    if (this.#state === START && target !== null) {
      this.#state = DONE;
      if (target._tryAcquire !== undefined && target._tryAcquire() !== NOT_READY) {
        this.#held = true;
        return { done: true, value: this };
      }
      const acquire = target.acquire();
      this.#acquire = acquire;
      this.#state = WAITING;
      return this.#step(acquire, undefined, false);
    }
    if (this.#state === WAITING) return this.#step(this.#acquire as Coro<true>, undefined, false);
    return { done: true, value: undefined as unknown as Disposable };
  }

  throw(error: unknown): IteratorResult<Yielded, Disposable> {
    if (this.#state === WAITING) return this.#step(this.#acquire as Coro<true>, error, true);
    this.#state = DONE;
    throw error;
  }

  return(value: Disposable): IteratorResult<Yielded, Disposable> {
    if (this.#state === WAITING) {
      const step = (this.#acquire as Coro<true>).return(true);
      if (step.done !== true) return step;
      this.#acquire = null;
    }
    this.#state = DONE;
    return { done: true, value };
  }

  /** Release the target if this hold took it; only the first call does anything. */
  override [Symbol.dispose](): void {
    const target = this.#target;
    if (target === null) return;
    this.#target = null;
    if (this.#held) target.release();
    else this.return(this);
  }

  /** Step the delegated acquire: pass a suspension through, or hold once it acquired. */
  #step(
    acquire: Coro<true>,
    error: unknown,
    throwIn: boolean,
  ): IteratorResult<Yielded, Disposable> {
    let step: IteratorResult<Yielded, true>;
    try {
      step = throwIn ? acquire.throw(error) : acquire.next();
    } catch (thrown) {
      // The acquire failed (cancelled): the hold is closed, as a generator would be.
      this.#acquire = null;
      this.#state = DONE;
      throw thrown;
    }
    if (step.done !== true) return step;
    this.#acquire = null;
    this.#state = DONE;
    this.#held = true;
    return { done: true, value: this };
  }
}
