/**
 * Coroutines: generator functions driven by a Task, as Python's `async def` functions are.
 *
 *   async def f() -> int:      function* f(): Coro<number> {
 *       await x                    yield* x
 */
import type { Future } from "./futures.ts";

/**
 * What a coroutine yields to its Task: a Future to wait for (from `yield* future`); a
 * SleepWait (from `yield* sleep(delay)`); or nothing (`undefined`, a bare yield: give the
 * loop one iteration). User code never yields directly; it delegates with `yield*`.
 */
export type Yielded = Future<unknown> | SleepWait | undefined;

/**
 * What `sleep(delay)` yields to its Task in place of a Future: the sleep itself, whose
 * timer the Task then waits for, which costs less than a Future. Opaque: only a Task
 * reads it.
 */
export interface SleepWait {
  readonly kind: "sleep";
}

/**
 * A coroutine that returns `T`: `const n = yield* f()` has type `T` with no annotation.
 * Write coroutine functions as `function* name(): Coro<T> { ... }`.
 */
export type Coro<T> = Generator<Yielded, T, unknown>;

/** Anything `yield*` accepts in a coroutine and that returns `T`: a Coro, a Future, a Task. */
export type Awaitable<T> = Iterable<Yielded, T, unknown>;

/**
 * @internal A coroutine written by hand as an iterator object instead of a generator,
 * for hot paths (`sleep(0)`): smaller and faster, and accepted wherever a coroutine is.
 */
export abstract class CoroutineObject<T> implements Coro<T> {
  abstract next(): IteratorResult<Yielded, T>;
  abstract throw(error: unknown): IteratorResult<Yielded, T>;
  abstract return(value: T): IteratorResult<Yielded, T>;

  [Symbol.iterator](): this {
    return this;
  }

  [Symbol.dispose](): void {
    this.return(undefined as T);
  }

  get [Symbol.toStringTag](): string {
    return "Generator";
  }
}

/** @internal What a FastPath's `fast` returns when it cannot finish at once. */
export const NOT_READY: unique symbol = Symbol("not ready");

/**
 * @internal A coroutine for an operation that usually completes at once (a free lock, a
 * non-empty queue): its first step calls `fast(owner)`, and only if that returns
 * `NOT_READY` does it run the generator `slow(owner)`. Like a generator, it does nothing
 * until first stepped, so `queue.get()` takes no item before it is awaited. `fast` and
 * `slow` are module-level functions of `(owner, arg)`, so a call allocates this object
 * and nothing else.
 */
export class FastPath<O, A, T> extends CoroutineObject<T> {
  readonly #owner: O;
  readonly #arg: A;
  readonly #fast: (owner: O, arg: A) => T | typeof NOT_READY;
  readonly #slowFn: (owner: O, arg: A) => Coro<T>;
  #slow: Coro<T> | null = null;
  #state: "created" | "slow" | "closed" = "created";

  constructor(
    owner: O,
    arg: A,
    fast: (owner: O, arg: A) => T | typeof NOT_READY,
    slow: (owner: O, arg: A) => Coro<T>,
  ) {
    super();
    this.#owner = owner;
    this.#arg = arg;
    this.#fast = fast;
    this.#slowFn = slow;
  }

  next(): IteratorResult<Yielded, T> {
    if (this.#state === "created") {
      this.#state = "closed";
      const value = this.#fast(this.#owner, this.#arg);
      if (value !== NOT_READY) return { done: true, value };
      this.#slow = this.#slowFn(this.#owner, this.#arg);
      this.#state = "slow";
    }
    if (this.#state === "slow") return FastPath.#finish(this, (this.#slow as Coro<T>).next());
    return { done: true, value: undefined as T };
  }

  throw(error: unknown): IteratorResult<Yielded, T> {
    if (this.#state === "slow") return FastPath.#finish(this, (this.#slow as Coro<T>).throw(error));
    this.#state = "closed";
    throw error;
  }

  return(value: T): IteratorResult<Yielded, T> {
    if (this.#state === "slow")
      return FastPath.#finish(this, (this.#slow as Coro<T>).return(value));
    this.#state = "closed";
    return { done: true, value };
  }

  // Static: a private instance method would add a field (V8's class brand) to every call.
  static #finish<O, A, T>(
    path: FastPath<O, A, T>,
    step: IteratorResult<Yielded, T>,
  ): IteratorResult<Yielded, T> {
    if (step.done === true) {
      path.#state = "closed";
      path.#slow = null;
    }
    return step;
  }
}

/**
 * Whether `value` is a coroutine object: a generator object, as created by calling a
 * generator function. (JavaScript cannot tell a coroutine from a plain generator.)
 */
export function isCoroutine(value: unknown): value is Coro<unknown> {
  if (typeof value !== "object" || value === null) return false;
  // Fast paths: `instanceof` walks the prototype chain inline in optimized code, where
  // `Object.getPrototypeOf` on a generator object calls into the runtime.
  if (value instanceof CoroutineObject || value instanceof GeneratorMarker) return true;
  return Object.prototype.toString.call(value) === "[object Generator]";
}

/**
 * `x instanceof GeneratorMarker`: whether %GeneratorPrototype% (the prototype of every
 * generator function's `prototype`) is on x's prototype chain.
 */
function GeneratorMarker(): void {}
GeneratorMarker.prototype = Object.getPrototypeOf(
  Object.getPrototypeOf((function* () {})()),
) as object;

/** Whether `value` is a generator function, the tsyncio form of a coroutine function. */
export function isCoroutineFunction(value: unknown): boolean {
  return typeof value === "function" && value.constructor.name === "GeneratorFunction";
}
