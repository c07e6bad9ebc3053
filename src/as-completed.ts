/**
 * asCompleted(): results (or Futures) in the order they complete, as asyncio's
 * `tasks.as_completed` (3.13).
 */
import type { Awaitable, Coro } from "./coroutines.ts";
import { getRunningLoop } from "./events.ts";
import { TimeoutError } from "./exceptions.ts";
import { Future } from "./futures.ts";
import { describe, isIterable } from "./internal/validate.ts";
import type { Handle } from "./loop/handles.ts";
import { ensureFuture } from "./tasks.ts";

/**
 * What `asCompleted` returns. Iterate it for awaitables that give the results in the order
 * they complete (asyncio's plain iteration):
 *
 * ```ts
 * for (const next of asCompleted(tasks)) {
 *   const result = yield* next;   // the earliest result not yet taken
 * }
 * ```
 *
 * or iterate `futures()` for awaitables that give the finished Futures themselves, the
 * original Tasks when Tasks were passed (asyncio 3.13's `async for`):
 *
 * ```ts
 * for (const next of asCompleted(tasks).futures()) {
 *   const task = yield* next;     // a Task that is done
 * }
 * ```
 *
 * Each awaitable may be awaited in any order: it gives whatever completes next. Breaking
 * out of the loop and iterating again resumes where it stopped. With a timeout, an
 * awaitable still waiting when it expires throws TimeoutError.
 */
export class AsCompleted<T> implements Iterable<Coro<T>> {
  readonly #done: Future<T>[] = [];
  readonly #todo: Set<Future<T>>;
  #todoLeft: number;
  #timedOut = false;
  /** Waiters for the next completion, in the order they began waiting. */
  readonly #waiters: Future<Future<T> | null>[] = [];
  #timer: Handle | null = null;

  /** @internal Use `asCompleted()`. */
  constructor(aws: Iterable<Future<T> | Awaitable<T>>, timeout: number | null) {
    const loop = getRunningLoop();
    this.#todo = new Set();
    for (const aw of new Set(aws)) this.#todo.add(ensureFuture(aw, loop));
    this.#todoLeft = this.#todo.size;
    for (const future of this.#todo) future.addDoneCallback(this.#onCompletion);
    if (this.#todo.size > 0 && timeout !== null) {
      this.#timer = loop.callLater(timeout, this.#onTimeout);
    }
  }

  /** How many results (or Futures) are still to be taken. */
  get remaining(): number {
    return this.#todoLeft;
  }

  /** Awaitables giving the results in completion order. */
  *[Symbol.iterator](): Generator<Coro<T>, void, undefined> {
    while (this.#todoLeft > 0) {
      this.#todoLeft--;
      yield this.#next(true) as Coro<T>;
    }
  }

  /** Awaitables giving the finished Futures (the original Tasks) in completion order. */
  *futures(): Generator<Coro<Future<T>>, void, undefined> {
    while (this.#todoLeft > 0) {
      this.#todoLeft--;
      yield this.#next(false) as Coro<Future<T>>;
    }
  }

  *#next(resolve: boolean): Coro<T | Future<T>> {
    let future: Future<T> | null;
    const ready = this.#done.shift();
    if (ready !== undefined) {
      future = ready;
    } else if (this.#timedOut) {
      future = null;
    } else {
      const waiter = getRunningLoop().createFuture<Future<T> | null>();
      this.#waiters.push(waiter);
      try {
        future = yield* waiter;
      } catch (error) {
        // Cancelled while waiting: a completion handed to this waiter goes to the next one.
        const index = this.#waiters.indexOf(waiter);
        if (index >= 0) this.#waiters.splice(index, 1);
        else if (!waiter.cancelled() && waiter.done()) this.#requeue(waiter.result());
        throw error;
      }
    }
    if (future === null) throw new TimeoutError();
    return resolve ? future.result() : future;
  }

  #requeue(future: Future<T> | null): void {
    if (future === null) return;
    // It completed before anything still queued, so it goes first.
    const waiter = this.#waiters.shift();
    if (waiter === undefined) this.#done.unshift(future);
    else waiter.setResult(future);
  }

  #deliver(future: Future<T>): void {
    const waiter = this.#waiters.shift();
    if (waiter === undefined) this.#done.push(future);
    else waiter.setResult(future);
  }

  readonly #onCompletion = (future: Future<T>): void => {
    if (this.#todo.size === 0) return; // the timeout came first
    this.#todo.delete(future);
    this.#deliver(future);
    if (this.#todo.size === 0) this.#timer?.cancel();
  };

  readonly #onTimeout = (): void => {
    for (const future of this.#todo) future.removeDoneCallback(this.#onCompletion);
    this.#todo.clear();
    this.#timedOut = true;
    for (const waiter of this.#waiters.splice(0)) waiter.setResult(null);
  };
}

/**
 * Results of `aws` (coroutines are wrapped in Tasks) in the order they complete; see
 * `AsCompleted` for the two ways to iterate. Duplicates count once.
 *
 * @throws TypeError when `aws` is not an iterable (a single Future, say).
 */
export function asCompleted<T>(
  aws: Iterable<Future<T> | Awaitable<T>>,
  options?: { timeout?: number | null | undefined },
): AsCompleted<T> {
  if (aws instanceof Future || !isIterable(aws) || isGeneratorObject(aws)) {
    throw new TypeError(`expects an iterable of awaitables, not ${describe(aws)}`);
  }
  const timeout = options?.timeout ?? null;
  if (timeout !== null && (typeof timeout !== "number" || Number.isNaN(timeout))) {
    throw new TypeError(`timeout must be a number or null, got ${describe(timeout)}`);
  }
  return new AsCompleted(aws, timeout);
}

function isGeneratorObject(value: unknown): boolean {
  return Object.prototype.toString.call(value) === "[object Generator]" && !Array.isArray(value);
}
