/**
 * sleep(): suspend the current task, as asyncio's `tasks.sleep`.
 */
import { CoroutineObject, type Coro, type SleepWait, type Yielded } from "./coroutines.ts";
import { getRunningLoop } from "./events.ts";
import { CancelledError, RuntimeError } from "./exceptions.ts";
import type { BaseEventLoop } from "./loop/base-event-loop.ts";
import type { TimerEntry } from "./loop/handles.ts";
import type { Task } from "./tasks.ts";
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
/** The timer is in the heap; the Task (once attached) waits for it. */
const WAITING = 1;
/** The timer fired: the Task's next step finishes the sleep with its result. */
const FIRED = 2;
/** The wait was cancelled: the Task's next step throws the CancelledError in. */
const CANCELLED = 3;
/**
 * Closed (by `return()` or `throw()` from outside) while its Task waited: the timer is
 * cancelled, and the wait stays pending, as asyncio's sleep leaves its Future, until the
 * Task is cancelled.
 */
const ABANDONED = 4;
const CLOSED = 5;
/** ABANDONED, then its Task was cancelled: closed, and shown as the cancelled Future. */
const CLOSED_CANCELLED = 6;

/**
 * `sleep(delay > 0)`: `yield*` on a Future that a timer completes, as asyncio's sleep
 * does, without the Future. It is its own timer in the loop's heap (a TimerEntry), and
 * the Task waits on it directly: the timer schedules the Task's next step, and the
 * Task's `cancel()` cancels it (`cancel`), as it would cancel the Future. It is also the
 * result of its own first step (`{ done: false, value: this }`, from the prototype), so
 * a sleeping Task costs its generator, the Task and this object, nothing more.
 */
export class SleepFor<T> extends CoroutineObject<T> implements TimerEntry, SleepWait {
  /** @internal Set by the loop when it takes the timer. */
  _seq = 0;
  /** @internal */
  _scheduled = false;
  /** @internal The timer will not fire: the sleep ended first. */
  _cancelled = false;
  #state = CREATED;
  /**
   * The delay as given, checked at the first step. (Not a number field, and no field for
   * when the timer is due, which the heap keeps: a double in a field is a boxed number.)
   */
  #delay: unknown;
  /** The result; the cancel message once cancelled. */
  #result: unknown;
  #loop: BaseEventLoop | null = null;
  /** The Task waiting on the timer, once it took the yield. */
  #task: Task<unknown> | null = null;

  constructor(delay: unknown, result: T) {
    super();
    this.#delay = delay;
    this.#result = result;
  }

  next(): IteratorResult<Yielded, T> {
    const state = this.#state;
    if (state === CREATED) {
      this.#state = CLOSED;
      const delay = this.#delay;
      this.#delay = undefined;
      if (typeof delay !== "number") {
        this.#result = undefined;
        throw new TypeError(`delay must be a number, got ${describe(delay)}`);
      }
      if (Number.isNaN(delay)) {
        this.#result = undefined;
        throw new TypeError("Invalid delay: NaN (not a number)");
      }
      const loop = getRunningLoop();
      loop._addTimer(this, loop.time() + delay);
      this.#loop = loop;
      this.#state = WAITING;
      if (tracking) {
        recordSuspension();
        describeWait(this, `sleep ${String(delay)}s`);
      }
      return this;
    }
    if (state === FIRED) {
      const result = this.#result as T;
      SleepFor.#finish(this);
      return { done: true, value: result };
    }
    if (state === CANCELLED) {
      const error = SleepFor.#cancelledError(this);
      SleepFor.#finish(this);
      throw error;
    }
    if (state === WAITING) {
      // Resumed before its time: only a coroutine stepped by hand gets here.
      SleepFor.#finish(this);
      throw new RuntimeError("await wasn't used with future");
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

  /** The result of the first step: not done, the sleep itself yielded. */
  get done(): false {
    return false;
  }

  /** The result of the first step: the sleep itself, for the Task to wait on. */
  get value(): this {
    return this;
  }

  /** What the Task recognizes it by (the public `SleepWait`). */
  get kind(): "sleep" {
    return "sleep";
  }

  /**
   * @internal `task` got the sleep from `yield*`: wait on the timer. Returns false when the
   * sleep is not waiting any more (its timer fired or it was closed before the Task got
   * it, when stepped by hand), for the Task to go on at once.
   */
  _attach(task: Task<unknown>): boolean {
    this.#task = task;
    return this.#state === WAITING;
  }

  /** @internal Whether a Task other than `task` waits on it already. */
  _waitedOnByOther(task: Task<unknown>): boolean {
    return this.#task !== null && this.#task !== task;
  }

  /** @internal Whether `yield*` started it: else it was yielded whole, a bad yield. */
  _started(): boolean {
    return this.#state !== CREATED;
  }

  /** @internal The loop of its timer, once started. */
  _loop(): BaseEventLoop | null {
    return this.#loop;
  }

  /** @internal The timer is due. */
  _run(): void {
    if (this.#state !== WAITING) return;
    this.#state = FIRED;
    this.#task?._timerFired(this);
  }

  /** @internal Whether the wait is over: the timer fired, or the wait was cancelled. */
  _waitDone(): boolean {
    return this.#state !== WAITING && this.#state !== ABANDONED;
  }

  /**
   * @internal The waiting Task was cancelled: have its next step throw a CancelledError
   * (with `msg`) in, as a cancelled Future would; the timer is cancelled when that step
   * reaches the sleep. Returns false when the timer already fired (or the sleep is over).
   */
  cancel(msg?: string): boolean {
    if (this.#state === ABANDONED) {
      // The coroutine is closed: only the Task's wait is left to end.
      const task = this.#task;
      this.#state = CLOSED_CANCELLED;
      this.#task = null;
      task?._scheduleThrow(msg === undefined ? new CancelledError() : new CancelledError(msg));
      return true;
    }
    if (this.#state !== WAITING) return false;
    this.#state = CANCELLED;
    this.#result = msg;
    // The timer stays until the coroutine is thrown into (#finish), as asyncio's sleep
    // cancels its TimerHandle in a `finally`; should it fire first, it does nothing.
    this.#task?._scheduleThrow(SleepFor.#cancelledError(this));
    return true;
  }

  /** As the Future asyncio's sleep waits on would show. */
  override toString(): string {
    switch (this.#state) {
      case WAITING:
      case ABANDONED:
        return this.#task === null ? "<Future pending>" : "<Future pending cb=[Task.wakeup()]>";
      case FIRED:
        return `<Future finished result=${describe(this.#result)}>`;
      case CANCELLED:
      case CLOSED_CANCELLED:
        return "<Future cancelled>";
      default:
        return "<sleep>";
    }
  }

  // Static methods: a private instance method would add a field (V8's class brand) to
  // every sleep.

  static #cancelledError(sleep: SleepFor<unknown>): CancelledError {
    const msg = sleep.#result;
    return msg === undefined ? new CancelledError() : new CancelledError(msg as string);
  }

  static #cancelTimer(sleep: SleepFor<unknown>): void {
    if (sleep._scheduled && !sleep._cancelled) {
      // Keep the timer from firing (the heap drops it later).
      sleep._cancelled = true;
      (sleep.#loop as BaseEventLoop)._timerHandleCancelled(sleep);
    }
  }

  static #finish(sleep: SleepFor<unknown>): void {
    if ((sleep.#state === WAITING || sleep.#state === ABANDONED) && sleep.#task !== null) {
      // Closed from outside while its Task waits: keep the Task, for its cancel().
      sleep.#state = ABANDONED;
    } else {
      sleep.#state = CLOSED;
      sleep.#task = null;
    }
    // A cancelled timer may sit in the heap a while: it must not keep the result alive.
    sleep.#result = undefined;
    SleepFor.#cancelTimer(sleep);
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
