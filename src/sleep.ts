/**
 * sleep(): suspend the current task, as asyncio's `tasks.sleep`.
 */
import { CoroutineObject, type Coro, type Yielded } from "./coroutines.ts";
import { getRunningLoop } from "./events.ts";
import { RuntimeError } from "./exceptions.ts";
import { Future } from "./futures.ts";
import type { TimerEntry } from "./loop/handles.ts";
import { describe } from "./internal/validate.ts";
import { describeWait, recordSuspension, tracking } from "./internal/call-stacks.ts";

/**
 * Suspend the current task for `delay` seconds, then return `result`.
 *
 * `sleep(0)` (or a negative delay) gives the loop exactly one iteration: other ready tasks
 * run, then this one resumes. Cancelling the sleeping task cancels its timer.
 *
 * @throws TypeError (when awaited) when `delay` is not a number, or NaN.
 */
export function sleep(delay: number): Coro<undefined>;
export function sleep<T>(delay: number, result: T): Coro<T>;
export function sleep<T>(delay: number, result?: T): Coro<T | undefined> {
  // Small objects, not generators: sleep is the hottest coroutine there is.
  if (typeof delay === "number" && delay <= 0) return new BareYield(result);
  return new SleepFor(delay, result);
}

const CREATED = 0;
const SUSPENDED = 1;
const CLOSED = 2;

/**
 * `sleep(delay > 0)`: what `function* () { const f = ...; try { return yield* f } finally {
 * timer.cancel() } }` does, as a small state machine instead of a generator. It is also
 * its own timer in the loop's heap (a TimerEntry): when due, it sets its Future's result
 * unless the Future is done. The Future stays a plain Future on purpose: every Future
 * subclass is one more shape at the sites that read Futures, and past four of them those
 * reads get slow everywhere.
 */
class SleepFor<T> extends CoroutineObject<T> implements TimerEntry {
  /** @internal When the timer is due, set at the first step. */
  _when = 0.5;
  /** @internal Set by the loop when it takes the timer. */
  _seq = 0;
  /** @internal */
  _scheduled = false;
  /** @internal The timer will not fire: the sleep ended first. */
  _cancelled = false;
  #state = CREATED;
  readonly #delay: unknown;
  #result: T | undefined;
  #future: Future<T> | null = null;

  constructor(delay: unknown, result: T) {
    super();
    this.#delay = delay;
    this.#result = result;
  }

  next(): IteratorResult<Yielded, T> {
    if (this.#state === CREATED) {
      this.#state = CLOSED;
      const delay = this.#delay;
      if (typeof delay !== "number") {
        throw new TypeError(`delay must be a number, got ${describe(delay)}`);
      }
      if (Number.isNaN(delay)) throw new TypeError("Invalid delay: NaN (not a number)");
      const loop = getRunningLoop();
      const future = new Future<T>({ loop });
      this._when = loop.time() + delay;
      loop._addTimer(this);
      this.#future = future;
      this.#state = SUSPENDED;
      future._blocking = true;
      if (tracking) {
        recordSuspension();
        describeWait(future, `sleep ${String(delay)}s`);
      }
      return { done: false, value: future };
    }
    if (this.#state === SUSPENDED) {
      const future = this.#future as Future<T>;
      SleepFor.#finish(this);
      if (!future.done()) throw new RuntimeError("await wasn't used with future");
      return { done: true, value: future.result() };
    }
    return { done: true, value: undefined as T };
  }

  throw(error: unknown): IteratorResult<Yielded, T> {
    SleepFor.#finish(this);
    throw error;
  }

  return(value: T): IteratorResult<Yielded, T> {
    SleepFor.#finish(this);
    return { done: true, value };
  }

  /** @internal The timer is due. */
  _run(): void {
    const future = this.#future;
    if (future !== null && !future.done()) future.setResult(this.#result as T);
  }

  // Static: a private instance method would add a field (V8's class brand) to every sleep.
  static #finish(sleep: SleepFor<unknown>): void {
    const future = sleep.#future;
    sleep.#state = CLOSED;
    sleep.#future = null;
    // A cancelled timer may sit in the heap a while: it must not keep the result alive.
    sleep.#result = undefined;
    if (future !== null && !sleep._cancelled) {
      // Keep the timer from firing (the heap drops it later).
      sleep._cancelled = true;
      future.getLoop()._timerHandleCancelled(sleep);
    }
  }
}

/**
 * The result of every bare yield, shared: `yield*` hands it to the Task unchanged and the
 * suspended coroutine keeps it, so a fresh one would cost each sleeping Task an object.
 * Not frozen: a frozen object has a map of its own, and the Task's reads of `done` and
 * `value` stay fast only while every result it sees is a generator's or this literal
 * shape. Nothing writes to it.
 */
const BARE_YIELD: IteratorResult<Yielded, never> = { done: false, value: undefined };

/** One bare yield, then `result`: a generator's behaviour, without the generator. */
class BareYield<T> extends CoroutineObject<T> {
  #state: "created" | "suspended" | "closed" = "created";
  readonly #result: T;

  constructor(result: T) {
    super();
    this.#result = result;
  }

  next(): IteratorResult<Yielded, T> {
    if (this.#state === "created") {
      this.#state = "suspended";
      if (tracking) recordSuspension();
      return BARE_YIELD;
    }
    if (this.#state === "suspended") {
      this.#state = "closed";
      return { done: true, value: this.#result };
    }
    return { done: true, value: undefined as T };
  }

  throw(error: unknown): IteratorResult<Yielded, T> {
    this.#state = "closed";
    throw error;
  }

  return(value: T): IteratorResult<Yielded, T> {
    this.#state = "closed";
    return { done: true, value };
  }
}
