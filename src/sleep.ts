/**
 * sleep(): suspend the current task, as asyncio's `tasks.sleep`.
 */
import { CoroutineObject, type Coro, type Yielded } from "./coroutines.ts";
import { getRunningLoop } from "./events.ts";
import { describe } from "./internal/validate.ts";

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
  // The bare-yield fast path is a small object, not a generator: sleep(0) is the hottest
  // coroutine there is.
  if (typeof delay === "number" && delay <= 0) return new BareYield(result);
  return sleepFor(delay, result);
}

function* sleepFor<T>(delay: number, result: T): Coro<T> {
  if (typeof delay !== "number") {
    throw new TypeError(`delay must be a number, got ${describe(delay)}`);
  }
  if (Number.isNaN(delay)) throw new TypeError("Invalid delay: NaN (not a number)");
  const loop = getRunningLoop();
  const future = loop.createFuture<T>();
  const timer = loop._callLaterResult(delay, future, result);
  try {
    return yield* future;
  } finally {
    timer.cancel();
  }
}

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
      return { done: false, value: undefined };
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
