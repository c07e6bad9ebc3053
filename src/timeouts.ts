/**
 * timeout() and timeoutAt(): deadlines for a block of code, as asyncio's `timeouts`.
 * `async with asyncio.timeout(5):` becomes `yield* timeout(5, function* (cm) { ... })`.
 *
 * Only the timeout's own cancellation becomes a TimeoutError: the Timeout remembers the
 * task's `cancelling()` count on entry and, on exit, converts the CancelledError only when
 * `uncancel()` brings the count back to it. A cancellation from outside (or from an outer
 * timeout with the same deadline) passes through as a CancelledError.
 */
import type { Coro } from "./coroutines.ts";
import { getRunningLoop } from "./events.ts";
import { CancelledError, RuntimeError, TimeoutError } from "./exceptions.ts";
import { inspectAsString } from "./internal/inspect.ts";
import { describe } from "./internal/validate.ts";
import type { Handle } from "./loop/handles.ts";
import { currentTask, type Task } from "./tasks.ts";

/** A Timeout's state, as asyncio's `_State` values. */
export type TimeoutState = "created" | "active" | "expiring" | "expired" | "finished";

/**
 * A deadline for the block it is entered around; given to the body of `timeout()` and
 * `timeoutAt()`. `when()` is in loop time (seconds); `null` means no deadline.
 */
export class Timeout {
  #state: TimeoutState = "created";
  #handle: Handle | null = null;
  #task: Task<unknown> | null = null;
  #when: number | null;
  #cancelling = 0;
  /** @internal The TimeoutError this Timeout threw, to tell it from a nested one's. */
  _raised: TimeoutError | null = null;

  /**
   * A Timeout that expires at loop time `when` (or never, with `null`) once entered.
   * Most code uses `timeout()` or `timeoutAt()` instead.
   */
  constructor(when: number | null) {
    this.#when = checkWhen(when, "when");
  }

  toString(): string {
    const when =
      this.#state === "active"
        ? ` when=${this.#when === null ? "null" : String(Math.round(this.#when * 1000) / 1000)}`
        : "";
    return `<Timeout [${this.#state}]${when}>`;
  }

  /** The deadline in loop time, or `null` for none. */
  when(): number | null {
    return this.#when;
  }

  /** Whether the deadline passed and the Timeout cancelled (or is cancelling) the block. */
  expired(): boolean {
    return this.#state === "expiring" || this.#state === "expired";
  }

  /**
   * Move the deadline to loop time `when` (`null`: no deadline). A time already past
   * expires the Timeout on the next iteration.
   *
   * @throws RuntimeError `Timeout has not been entered`, or `Cannot change state of
   *   expiring|expired|finished Timeout`.
   */
  reschedule(when: number | null): void {
    if (this.#state !== "active") {
      if (this.#state === "created") throw new RuntimeError("Timeout has not been entered");
      throw new RuntimeError(`Cannot change state of ${this.#state} Timeout`);
    }
    this.#when = checkWhen(when, "when");
    this.#handle?.cancel();
    if (this.#when === null) {
      this.#handle = null;
      return;
    }
    const loop = getRunningLoop();
    this.#handle =
      this.#when <= loop.time()
        ? loop.callSoon(this.#onTimeout)
        : loop.callAt(this.#when, this.#onTimeout);
  }

  /**
   * Enter the Timeout around the rest of the current task's work (asyncio's
   * `__aenter__`); pair it with `exit`. `run()` does both.
   *
   * @throws RuntimeError `Timeout has already been entered`, or outside a task.
   */
  *enter(): Coro<this> {
    return this.#enter();
  }

  #enter(): this {
    if (this.#state !== "created") throw new RuntimeError("Timeout has already been entered");
    const task = currentTask();
    if (task === null) throw new RuntimeError("Timeout should be used inside a task");
    this.#state = "active";
    this.#task = task;
    this.#cancelling = task.cancelling();
    this.reschedule(this.#when);
    return this;
  }

  /**
   * Leave the Timeout (asyncio's `__aexit__`), with the error the block ended with if
   * `failed`. Throws a TimeoutError (whose `cause` is the CancelledError) when the block
   * was cancelled by this Timeout and by nothing else.
   */
  *exit(failed: boolean, error?: unknown): Coro<void> {
    this.#exit(failed, error);
  }

  #exit(failed: boolean, error: unknown): void {
    this.#handle?.cancel();
    this.#handle = null;
    if (this.#state === "expiring") {
      this.#state = "expired";
      const task = this.#task as Task<unknown>;
      if (task.uncancel() <= this.#cancelling && failed && error instanceof CancelledError) {
        // No cancellation other than ours is pending: ours is handled here.
        this._raised = new TimeoutError(undefined, { cause: error });
        throw this._raised;
      }
    } else if (this.#state === "active") {
      this.#state = "finished";
    }
  }

  /** Run `body(this)` inside the Timeout and return its result. */
  *run<T>(body: (timeout: Timeout) => Coro<T>): Coro<T> {
    this.#enter();
    let result: T;
    try {
      result = yield* body(this);
    } catch (error) {
      this.#exit(true, error);
      throw error;
    }
    this.#exit(false, undefined);
    return result;
  }

  readonly #onTimeout = (): void => {
    (this.#task as Task<unknown>).cancel();
    this.#state = "expiring";
    this.#handle = null;
  };
}

inspectAsString(Timeout);

/**
 * Run `body` with a deadline `delay` seconds from now (`null`: none, but reschedulable)
 * and return its result. When the deadline passes, the body is cancelled where it waits,
 * and once it has finished unwinding a `TimeoutError` is thrown in its place.
 *
 * A cancellation from outside passes through as CancelledError; nested timeouts each
 * handle only their own. If the body catches the cancellation and returns, its result is
 * returned and `expired()` is true, as in asyncio.
 *
 * @example
 * ```ts
 * const page = yield* timeout(10, function* () {
 *   return yield* fetchPage(url);
 * });
 * ```
 *
 * @throws TypeError when `delay` is neither a number nor null.
 */
export function timeout<T>(delay: number | null, body: (timeout: Timeout) => Coro<T>): Coro<T> {
  // As asyncio.timeout(): the deadline is computed when timeout() is called.
  const seconds = checkWhen(delay, "delay");
  const when = seconds === null ? null : getRunningLoop().time() + seconds;
  return new Timeout(when).run(body);
}

/** As `timeout()`, with an absolute deadline in loop time (`getRunningLoop().time()`). */
export function timeoutAt<T>(when: number | null, body: (timeout: Timeout) => Coro<T>): Coro<T> {
  return new Timeout(when).run(body);
}

/**
 * Run `body` with a deadline `delay` seconds from now, and when the deadline passes,
 * cancel it and move on: return `undefined` instead of throwing TimeoutError (Trio's
 * `move_on_after`). Otherwise returns the body's result. Only this deadline is absorbed:
 * a TimeoutError of a nested `timeout()` and any cancellation from outside propagate.
 *
 * @example
 * ```ts
 * const reply = yield* moveOnAfter(1, function* () {
 *   return yield* askPeer();
 * });
 * if (reply === undefined) console.log("no answer within a second; going on");
 * ```
 */
export function* moveOnAfter<T>(
  delay: number | null,
  body: (timeout: Timeout) => Coro<T>,
): Coro<T | undefined> {
  const seconds = checkWhen(delay, "delay");
  return yield* moveOn(seconds === null ? null : getRunningLoop().time() + seconds, body);
}

/** As `moveOnAfter()`, with an absolute deadline in loop time. */
export function* moveOnAt<T>(
  when: number | null,
  body: (timeout: Timeout) => Coro<T>,
): Coro<T | undefined> {
  return yield* moveOn(when, body);
}

function* moveOn<T>(when: number | null, body: (timeout: Timeout) => Coro<T>): Coro<T | undefined> {
  const scope = new Timeout(when);
  try {
    return yield* scope.run(body);
  } catch (error) {
    if (error !== null && error === scope._raised) return undefined;
    throw error;
  }
}

function checkWhen(value: unknown, name: string): number | null {
  if (value === null) return null;
  if (typeof value !== "number" || Number.isNaN(value)) {
    throw new TypeError(`${name} must be a number or null, got ${describe(value)}`);
  }
  return value;
}
