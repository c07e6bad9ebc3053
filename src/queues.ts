/**
 * Queues between producer and consumer tasks: Queue (FIFO), PriorityQueue, LifoQueue.
 * Mirrors asyncio.queues (3.13, with `shutdown()`). Deviations: `maxsize` must be an
 * integer >= 0 (0 is unbounded); PriorityQueue takes a comparator and is stable.
 */
import { FastPath, isCoroutine, NOT_READY, type Coro } from "./coroutines.ts";
import { QueueEmpty, QueueFull, QueueShutDown } from "./exceptions.ts";
import { inspectAsString } from "./internal/inspect.ts";
import { LoopBinding } from "./internal/loop-binding.ts";
import {
  describe,
  validateFunction,
  validateInteger,
  validateOptions,
} from "./internal/validate.ts";
import { StableHeap } from "./internal/heap.ts";
import { Event } from "./locks/event.ts";
import { Waiters } from "./locks/waiters.ts";

/** Options of `Queue.shutdown()`. */
export interface QueueShutdownOptions {
  /** Also drop the items still queued (each counts as done for `join()`). Default false. */
  immediate?: boolean | undefined;
}

/** Options of the PriorityQueue constructor. */
export interface PriorityQueueOptions<T> {
  /**
   * Orders items: negative when `a` comes out first, positive when `b` does, 0 when
   * equal. Default: numbers and bigints by value, strings by UTF-16 code units, booleans
   * false first, arrays element by element like Python tuples; anything else is a
   * TypeError.
   */
  compare?: ((a: T, b: T) => number) | undefined;
}

/** How a queue keeps its items: asyncio's overridable `_init`/`_put`/`_get`. */
interface Store<T> {
  readonly size: number;
  push(item: T): void;
  pop(): T;
  toArray(): T[];
}

let setStore: <T>(queue: Queue<T>, store: Store<T>) => void;

/**
 * A first-in, first-out queue of at most `maxsize` items (0: unbounded).
 *
 * Blocked `get()`s are served in the order they began waiting, as are blocked `put()`s.
 * Cancelling a blocked `get()` or `put()` loses no item: a wake-up the cancelled task had
 * received passes to the next waiter. `taskDone()` and `join()` track items that were
 * taken but not yet processed. After `shutdown()`, `put` throws QueueShutDown, and so does
 * `get` once the queue is empty. Bound to the first loop that makes a task wait.
 */
export class Queue<T> {
  readonly #binding = new LoopBinding();
  readonly #maxsize: number;
  #store: Store<T> = new Fifo<T>();
  readonly #getters = new Waiters<undefined>();
  readonly #putters = new Waiters<undefined>();
  #unfinished = 0;
  /** Set exactly when #unfinished is 0. */
  readonly #finished = new Event();
  #isShutdown = false;

  static {
    setStore = (queue, store) => {
      queue.#store = store;
    };
  }

  /**
   * A queue of at most `maxsize` items; 0 (the default) means unbounded.
   *
   * @throws TypeError unless `maxsize` is an integer; RangeError when it is negative.
   *   (asyncio takes any number, and treats <= 0 as unbounded.)
   */
  constructor(maxsize = 0) {
    validateInteger(maxsize, "maxsize", 0);
    this.#maxsize = maxsize;
    this.#finished.set();
  }

  /** asyncio's str: `<Queue maxsize=0 _queue=[1] _getters[1] _putters[1] tasks=2 shutdown>`. */
  toString(): string {
    let text = `<${this.constructor.name} maxsize=${this.#maxsize}`;
    if (this.#store.size > 0) text += ` _queue=[${this.#store.toArray().map(describe).join(", ")}]`;
    if (this.#getters.size > 0) text += ` _getters[${this.#getters.size}]`;
    if (this.#putters.size > 0) text += ` _putters[${this.#putters.size}]`;
    if (this.#unfinished > 0) text += ` tasks=${this.#unfinished}`;
    if (this.#isShutdown) text += " shutdown";
    return `${text}>`;
  }

  /** The number of items in the queue. */
  qsize(): number {
    return this.#store.size;
  }

  /** The most items the queue holds; 0 when unbounded. */
  get maxsize(): number {
    return this.#maxsize;
  }

  /** Whether the queue holds no item. */
  empty(): boolean {
    return this.#store.size === 0;
  }

  /** Whether the queue holds `maxsize` items; never for an unbounded queue. */
  full(): boolean {
    return this.#maxsize > 0 && this.#store.size >= this.#maxsize;
  }

  /**
   * Put `item` in the queue, waiting for a free slot while it is full.
   *
   * Cancellation: the item is not put, and a slot this task had been offered goes to the
   * next blocked `put()`.
   *
   * @throws QueueShutDown when the queue is (or gets) shut down before the item is in.
   */
  put(item: T): Coro<void> {
    // Most puts find room: no generator unless this one has to wait.
    return new FastPath(this, item, tryPut, slowPut);
  }

  /** @internal `put` when it may have to wait. */
  *_putSlow(item: T): Coro<undefined> {
    while (this.full()) {
      if (this.#isShutdown) throw new QueueShutDown();
      const putter = this.#putters.add(this.#binding.loop(this));
      let woken = false;
      try {
        yield* putter;
        woken = true;
      } finally {
        if (!woken) {
          // Cancelled, possibly after getNowait() offered us a slot:
          //   q.getNowait();  putTask.cancel();  // the slot must go to the next putter
          putter.cancel();
          this.#putters.delete(putter);
          if (!this.full() && !putter.cancelled()) this.#putters.shiftWake(undefined);
        }
      }
    }
    this.putNowait(item);
    return undefined;
  }

  /**
   * Put `item` in the queue now, and wake the first blocked `get()`.
   *
   * @throws QueueFull when the queue is full; QueueShutDown after `shutdown()`.
   */
  putNowait(item: T): void {
    if (this.#isShutdown) throw new QueueShutDown();
    if (this.full()) throw new QueueFull();
    this.#store.push(item);
    this.#unfinished++;
    this.#finished.clear();
    this.#getters.shiftWake(undefined);
  }

  /**
   * Remove and return the next item, waiting while the queue is empty.
   *
   * Cancellation: no item is taken, and an item this task had been offered goes to the
   * next blocked `get()`.
   *
   * @throws QueueShutDown when the queue is shut down and empty (at once after
   *   `shutdown({ immediate: true })`).
   */
  get(): Coro<T> {
    return new FastPath(this, undefined, tryGet, slowGet);
  }

  /** @internal `get` when it may have to wait. */
  *_getSlow(): Coro<T> {
    while (this.empty()) {
      if (this.#isShutdown) throw new QueueShutDown();
      const getter = this.#getters.add(this.#binding.loop(this));
      let woken = false;
      try {
        yield* getter;
        woken = true;
      } finally {
        if (!woken) {
          // Cancelled, possibly after putNowait() offered us an item:
          //   q.putNowait(1);  getTask.cancel();  // item 1 must go to the next getter
          getter.cancel();
          this.#getters.delete(getter);
          if (!this.empty() && !getter.cancelled()) this.#getters.shiftWake(undefined);
        }
      }
    }
    return this.getNowait();
  }

  /**
   * Remove and return the next item now, and wake the first blocked `put()`.
   *
   * @throws QueueEmpty when the queue is empty; QueueShutDown when it is empty and shut
   *   down.
   */
  getNowait(): T {
    if (this.#store.size === 0) {
      throw this.#isShutdown ? new QueueShutDown() : new QueueEmpty();
    }
    const item = this.#store.pop();
    this.#putters.shiftWake(undefined);
    return item;
  }

  /**
   * Mark one item taken with `get()` as processed. When every item put in the queue is
   * processed, `join()` returns.
   *
   * @throws RangeError `taskDone() called too many times` (asyncio: ValueError
   *   `task_done() called too many times`).
   */
  taskDone(): void {
    if (this.#unfinished <= 0) throw new RangeError("taskDone() called too many times");
    if (--this.#unfinished === 0) this.#finished.set();
  }

  /**
   * Wait until every item put in the queue has been taken and marked done with
   * `taskDone()`. Returns at once when none is pending.
   */
  *join(): Coro<void> {
    if (this.#unfinished > 0) yield* this.#finished.wait();
  }

  /**
   * Shut the queue down: `put`/`putNowait` throw QueueShutDown from now on, and so do
   * `get`/`getNowait` once the queue is empty. Blocked `put()`s and (if the queue is
   * empty) blocked `get()`s wake and throw QueueShutDown. With `{ immediate: true }`, the
   * queued items are dropped and each counts as done, which may release `join()`.
   * Idempotent.
   */
  shutdown(options?: QueueShutdownOptions): void {
    validateOptions(options, "options");
    this.#isShutdown = true;
    if (options?.immediate === true) {
      while (this.#store.size > 0) {
        this.#store.pop();
        if (this.#unfinished > 0) this.#unfinished--;
      }
      if (this.#unfinished === 0) this.#finished.set();
    }
    // Woken getters re-check emptiness: they take a remaining item or throw QueueShutDown.
    this.#getters.shiftWakeAll(undefined);
    this.#putters.shiftWakeAll(undefined);
  }

  /**
   * Take items one by one and run `body(item)` on each until the queue is shut down and
   * empty, then return how many items were processed: the idiom for a worker task.
   * `body` is a generator function (its coroutine runs to completion before the next
   * `get()`) or a plain function; one that returns a Promise is a TypeError.
   *
   * Each item is marked done with `taskDone()` when its body ends, however it ends, so
   * `join()` works (do not call `taskDone()` in the body). An error thrown by the body, or
   * the task's cancellation, stops the loop and propagates.
   *
   * @example
   * ```ts
   * const worker = createTask(queue.consume(function* (job) { yield* handle(job); }));
   * // ... producers put jobs ...
   * queue.shutdown();            // the worker finishes what is queued, then returns
   * ```
   */
  *consume(body: (item: T) => unknown): Coro<number> {
    validateFunction(body, "body");
    let count = 0;
    for (;;) {
      let item: T;
      try {
        item = yield* this.get();
      } catch (error) {
        if (error instanceof QueueShutDown) return count;
        throw error;
      }
      try {
        const result: unknown = body(item);
        if (isCoroutine(result)) yield* result;
        else if (isThenable(result)) throw badBody(result);
      } finally {
        this.taskDone();
      }
      count++;
    }
  }
}

/**
 * A queue that hands out the smallest item first, by `options.compare` (see
 * `PriorityQueueOptions` for the default order). Stable: equal items come out in the order
 * they were put (asyncio's heapq gives no such promise).
 *
 * @throws whatever `compare` throws, from `put`/`putNowait` (the item is not added) and
 *   `get`/`getNowait` (no item is removed); the default comparator throws TypeError for
 *   values it cannot order.
 */
export class PriorityQueue<T> extends Queue<T> {
  constructor(maxsize = 0, options?: PriorityQueueOptions<T>) {
    super(maxsize);
    validateOptions(options, "options");
    const compare = options?.compare ?? defaultCompare;
    validateFunction(compare, "options.compare");
    setStore(this, new StableHeap<T>(compare));
  }
}

/** A queue that hands out the most recently put item first (a stack). */
export class LifoQueue<T> extends Queue<T> {
  constructor(maxsize = 0) {
    super(maxsize);
    setStore(this, new Stack<T>());
  }
}

inspectAsString(Queue);

/** A ring buffer; its capacity is a power of two. */
class Fifo<T> implements Store<T> {
  #items: (T | undefined)[] = new Array<T | undefined>(8);
  #head = 0;
  size = 0;

  push(item: T): void {
    if (this.size === this.#items.length) {
      const grown: (T | undefined)[] = this.toArray();
      grown.length = this.size * 2;
      this.#items = grown;
      this.#head = 0;
    }
    this.#items[(this.#head + this.size) & (this.#items.length - 1)] = item;
    this.size++;
  }

  pop(): T {
    const item = this.#items[this.#head] as T;
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) & (this.#items.length - 1);
    this.size--;
    return item;
  }

  toArray(): T[] {
    const mask = this.#items.length - 1;
    return Array.from({ length: this.size }, (_, i) => this.#items[(this.#head + i) & mask] as T);
  }
}

class Stack<T> implements Store<T> {
  readonly #items: T[] = [];

  get size(): number {
    return this.#items.length;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  pop(): T {
    return this.#items.pop() as T;
  }

  toArray(): T[] {
    return [...this.#items];
  }
}

function isThenable(value: unknown): boolean {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

function badBody(result: unknown): TypeError {
  return new TypeError(
    `body returned ${describe(result)}: use a generator function (yield* wrapPromise(...) to wait for a Promise)`,
  );
}

/** Python's ordering for the values JavaScript can order: numbers, strings, tuples. */
function defaultCompare(a: unknown, b: unknown): number {
  const ta = typeof a;
  const tb = typeof b;
  const numeric = (t: string): boolean => t === "number" || t === "bigint";
  if ((numeric(ta) && numeric(tb)) || (ta === tb && (ta === "string" || ta === "boolean"))) {
    const x = a as number;
    const y = b as number;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    const length = Math.min(a.length, b.length);
    for (let i = 0; i < length; i++) {
      const order = defaultCompare(a[i], b[i]);
      if (order !== 0) return order;
    }
    return a.length - b.length;
  }
  throw new TypeError(
    `PriorityQueue cannot order ${describe(a)} and ${describe(b)}; pass options.compare`,
  );
}

function tryPut<T>(queue: Queue<T>, item: T): undefined | typeof NOT_READY {
  if (queue.full()) return NOT_READY;
  queue.putNowait(item);
  return undefined;
}

function slowPut<T>(queue: Queue<T>, item: T): Coro<undefined> {
  return queue._putSlow(item);
}

function tryGet<T>(queue: Queue<T>): T | typeof NOT_READY {
  return queue.empty() ? NOT_READY : queue.getNowait();
}

function slowGet<T>(queue: Queue<T>): Coro<T> {
  return queue._getSlow();
}
