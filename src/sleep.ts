/**
 * sleep(): suspend the current task, as asyncio's `tasks.sleep`.
 */
import { CoroutineObject, type Coro, type Yielded } from "./coroutines.ts";
import { getRunningLoop } from "./events.ts";
import { RuntimeError } from "./exceptions.ts";
import { Future } from "./futures.ts";
import type { BaseEventLoop } from "./loop/base-event-loop.ts";
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

/**
 * `sleep(delay > 0)`: what `function* () { const f = ...; try { return yield* f } finally {
 * timer.cancel() } }` does, as a small state machine instead of a generator.
 */
class SleepFor<T> extends CoroutineObject<T> {
  #state: "created" | "suspended" | "closed" = "created";
  readonly #delay: unknown;
  readonly #result: T;
  #future: SleepFuture<T> | null = null;

  constructor(delay: unknown, result: T) {
    super();
    this.#delay = delay;
    this.#result = result;
  }

  next(): IteratorResult<Yielded, T> {
    if (this.#state === "created") {
      this.#state = "closed";
      const delay = this.#delay;
      if (typeof delay !== "number") {
        throw new TypeError(`delay must be a number, got ${describe(delay)}`);
      }
      if (Number.isNaN(delay)) throw new TypeError("Invalid delay: NaN (not a number)");
      const loop = getRunningLoop();
      const future = new SleepFuture(loop, loop.time() + delay, this.#result);
      loop._addTimer(future);
      this.#future = future;
      this.#state = "suspended";
      future._blocking = true;
      if (tracking) {
        recordSuspension();
        describeWait(future, `sleep ${String(delay)}s`);
      }
      return { done: false, value: future };
    }
    if (this.#state === "suspended") {
      const future = this.#future as SleepFuture<T>;
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

  // Static: a private instance method would add a field (V8's class brand) to every sleep.
  static #finish(sleep: SleepFor<unknown>): void {
    sleep.#state = "closed";
    sleep.#future?._disarm();
    sleep.#future = null;
  }
}

/**
 * The Future a sleep waits on, which is also its own timer in the loop's heap (one object
 * where a Future and a TimerHandle would be two): when due, it sets `result` unless it is
 * done; cancelling it takes the timer out too.
 */
class SleepFuture<T> extends Future<T> implements TimerEntry {
  /** @internal */
  readonly _when: number;
  /** @internal Set by the loop when it takes the timer. */
  _seq = 0;
  /** @internal */
  _scheduled = false;
  /** @internal The timer will not fire: the Future was cancelled, or the sleep closed. */
  _cancelled = false;
  readonly #result: T;

  constructor(loop: BaseEventLoop, when: number, result: T) {
    super({ loop });
    this._when = when;
    this.#result = result;
  }

  override cancel(msg?: string): boolean {
    if (!super.cancel(msg)) return false;
    this._disarm();
    return true;
  }

  /** @internal Keep the timer from firing (the heap drops it later). */
  _disarm(): void {
    if (this._cancelled) return;
    this._cancelled = true;
    this.getLoop()._timerHandleCancelled(this);
  }

  /** @internal The timer is due. */
  _run(): void {
    if (!this.done()) this.setResult(this.#result);
  }
}

/**
 * The result of every bare yield, shared: `yield*` hands it to the Task unchanged and the
 * suspended coroutine keeps it, so a fresh one would cost each sleeping Task an object.
 */
const BARE_YIELD: IteratorResult<Yielded, never> = Object.freeze({ done: false, value: undefined });

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
