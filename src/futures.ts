/**
 * Future: a result that will arrive later, as asyncio's `futures.Future`. A coroutine waits
 * for one with `yield* future`; plain async code with `await future`. Done-callbacks are
 * always scheduled on the loop, never called from inside `setResult`/`cancel`.
 */
import { Context, copyContext } from "./contextvars.ts";
import { getRunningLoop } from "./events.ts";
import { CancelledError, InvalidStateError, RuntimeError } from "./exceptions.ts";
import {
  captureStack,
  describeCallback,
  DoneCallbackRun,
  type WakeupTarget,
} from "./loop/handles.ts";
import type { BaseEventLoop } from "./loop/base-event-loop.ts";
import { describe } from "./internal/validate.ts";
import { inspectAsString } from "./internal/inspect.ts";
import { recordSuspension, tracking } from "./internal/call-stacks.ts";

// A Future's state, one small integer (one field instead of two, in every Future and Task).
const PENDING = 0;
const CANCELLED = 1;
/** Done with a result. */
const FINISHED = 2;
/** Done with an error that was not retrieved yet: reported if the Future is collected. */
const FAILED = 3;
/** Done with an error that was retrieved. */
const FAILED_RETRIEVED = 4;
/** The bits of `_bits` that hold the state. */
const STATE = 7;
/** The `_bits` flag for asyncio's `_asyncio_future_blocking`: set while yielded to a Task. */
const BLOCKING = 8;
/** @internal The lowest `_bits` bit that Future leaves to its subclasses (Task's). */
export const SUBCLASS_BIT = 16;

/**
 * @internal `bits` with the bits of `mask` replaced by `value` (a subset of `mask`). In
 * arithmetic, not `|`/`&` alone: those return 32-bit integers, and a Task's cancel count
 * in the high bits may pass 2^31. (`bits & mask` reads the low bits right at any size.)
 */
export function withBits(bits: number, mask: number, value: number): number {
  return bits - (bits & mask) + value;
}

const STATE_NAMES: readonly FutureState[] = [
  "pending",
  "cancelled",
  "finished",
  "finished",
  "finished",
];

/** A Future's state, as asyncio's `_state` strings in lower case. */
export type FutureState = "pending" | "cancelled" | "finished";

/** A done-callback: receives the Future (or Task) it was added to. */
export type DoneCallback<F> = (future: F) => void;

/** Held by the finalization registry: what to report if the Future dies unretrieved. */
interface Unretrieved {
  loop: BaseEventLoop;
  exception: unknown;
  message: string;
  sourceTraceback: string | undefined;
  /** The Context the handler runs in (a Task's own), if any. */
  context: Context | undefined;
}

const unretrieved = new FinalizationRegistry<Unretrieved>((held) => {
  held.loop._callExceptionHandlerIn(
    {
      message: held.message,
      exception: held.exception,
      ...(held.sourceTraceback === undefined ? {} : { sourceTraceback: held.sourceTraceback }),
    },
    held.context,
  );
});

/**
 * A value (or error) that becomes available later. Bound to one loop for life.
 *
 * Iterating it (`yield* future`) is asyncio's `await future`: it suspends the driving Task
 * until the Future is done, then returns the result or throws the error. It is also a
 * thenable for `async` code, but `then` resolves through microtasks, outside the loop's
 * ordering; inside coroutines use `yield*`.
 */
export class Future<T> implements PromiseLike<T> {
  /**
   * @internal The state (PENDING, CANCELLED, FINISHED, FAILED or FAILED_RETRIEVED) in the
   * low bits, the BLOCKING flag, and from SUBCLASS_BIT up what a subclass keeps there
   * (Task: its step mode and cancellation count). One number instead of several fields in
   * every Future and Task: there are many, and their size is GC time.
   */
  _bits: number = PENDING;
  readonly #loop: BaseEventLoop;
  /** The result, or the error when the state is FAILED or FAILED_RETRIEVED. */
  #value: unknown;
  /** @internal Shared with Task, as asyncio's `_cancel_message`. */
  declare _cancelMessage: string | undefined;
  /** @internal The CancelledError that ended a Task's coroutine, rethrown once. */
  declare _cancelledError: CancelledError | undefined;
  /**
   * The done-callbacks: null; or one WakeupTarget (most Futures have one: the waiting
   * Task, group or gather), which needs no Context; or else an array: callback, context,
   * callback, context, ... (A field for a lone callback's Context would cost every Future
   * and Task 8 bytes, for the few that have a function callback.)
   */
  #callbacks: unknown = null;
  /** @internal */
  declare readonly _sourceTraceback: string | undefined;

  /**
   * A pending Future on `options.loop`, or on the running loop.
   *
   * @throws RuntimeError `no running event loop` when no loop is given or running.
   */
  constructor(options?: { loop?: BaseEventLoop | undefined }) {
    this.#loop = options?.loop ?? getRunningLoop();
    // Rare fields are set only when used (`declare`d), to keep every Future small.
    if (this.#loop._debug)
      (this as { _sourceTraceback?: string })._sourceTraceback = captureStack();
  }

  toString(): string {
    return `<${this._reprInfo().join(" ")}>`;
  }

  /** @internal asyncio's `_asyncio_future_blocking`: set while yielded to a Task. */
  get _blocking(): boolean {
    return (this._bits & BLOCKING) !== 0;
  }

  set _blocking(value: boolean) {
    this._bits = withBits(this._bits, BLOCKING, value ? BLOCKING : 0);
  }

  // ---- queries -------------------------------------------------------------------------

  /** Whether the Future is done: it has a result or an error, or was cancelled. */
  done(): boolean {
    return (this._bits & STATE) !== PENDING;
  }

  /** Whether the Future was cancelled. */
  cancelled(): boolean {
    return (this._bits & STATE) === CANCELLED;
  }

  /** The loop the Future is bound to. */
  getLoop(): BaseEventLoop {
    return this.#loop;
  }

  /**
   * The result. Throws the Future's error if it failed.
   *
   * @throws CancelledError if it was cancelled; InvalidStateError `Result is not ready.` if
   *   it is still pending.
   */
  result(): T {
    if ((this._bits & STATE) >= FINISHED) {
      this._retrieved();
      if ((this._bits & STATE) !== FINISHED) throw this.#value;
      return this.#value as T;
    }
    if ((this._bits & STATE) === CANCELLED) throw this._makeCancelledError();
    throw new InvalidStateError("Result is not ready.");
  }

  /**
   * The error the Future failed with, or `null` if it has a result.
   *
   * @throws CancelledError if it was cancelled; InvalidStateError `Exception is not set.`
   *   if it is still pending.
   */
  exception(): unknown {
    if ((this._bits & STATE) >= FINISHED) {
      this._retrieved();
      return (this._bits & STATE) !== FINISHED ? this.#value : null;
    }
    if ((this._bits & STATE) === CANCELLED) throw this._makeCancelledError();
    throw new InvalidStateError("Exception is not set.");
  }

  // ---- callbacks -----------------------------------------------------------------------

  /**
   * Call `callback(future)` on the loop once the Future is done (on the next iteration if
   * it already is), in `options.context` or a copy of the current Context.
   */
  addDoneCallback(callback: DoneCallback<this>, options?: { context?: Context | undefined }): void {
    if (typeof callback !== "function") {
      throw new TypeError(`callback must be a function, got ${describe(callback)}`);
    }
    this._addDoneCallbackIn(callback as DoneCallback<unknown>, options?.context ?? copyContext());
  }

  /**
   * @internal `addDoneCallback` with a given Context and no checks: library code that
   * adds many callbacks which read no context variables shares one Context copy.
   */
  _addDoneCallbackIn(callback: DoneCallback<unknown>, context: Context): void {
    if ((this._bits & STATE) !== PENDING) this._scheduleCallback(callback, context);
    else this._addCallback(callback, context);
  }

  /**
   * Remove every registration of `callback`; returns how many there were.
   */
  removeDoneCallback(callback: DoneCallback<this>): number {
    const list = this._takeCallbacks();
    let removed = 0;
    for (let i = 0; i < list.length; i += 2) {
      if (list[i] === callback) removed++;
      else this._addCallback(list[i] as DoneCallback<unknown>, list[i + 1] as Context | null);
    }
    return removed;
  }

  // ---- completing ------------------------------------------------------------------------

  /**
   * Cancel the Future and schedule its callbacks. Returns false if it was already done.
   * Whoever waits on it gets a `CancelledError` with `msg` as its message.
   */
  cancel(msg?: string): boolean {
    this._retrieved();
    if ((this._bits & STATE) !== PENDING) return false;
    this._bits += CANCELLED; // from PENDING (0)
    this._cancelMessage = msg;
    this._scheduleCallbacks();
    return true;
  }

  /**
   * Mark the Future done with `result` and schedule its callbacks.
   *
   * @throws InvalidStateError if it is already done.
   */
  setResult(result: T): void {
    if ((this._bits & STATE) !== PENDING) throw this._invalidState();
    this.#value = result;
    this._bits += FINISHED; // from PENDING (0)
    this._scheduleCallbacks();
  }

  /**
   * Mark the Future failed with `exception` and schedule its callbacks. An error class is
   * instantiated, as asyncio does. If nobody retrieves the error before the Future is
   * garbage-collected, it reaches the loop's exception handler.
   *
   * @throws InvalidStateError if it is already done.
   */
  setException(exception: unknown): void {
    if ((this._bits & STATE) !== PENDING) throw this._invalidState();
    if (typeof exception === "function" && isErrorClass(exception)) {
      exception = new (exception as new () => Error)();
    }
    this.#value = exception;
    this._bits += FAILED; // from PENDING (0)
    this._scheduleCallbacks();
    if (exception instanceof Error) {
      // Format the stack now: until then V8 keeps the frames' closures alive, and they may
      // hold this Future, which could then never be collected and reported.
      formatStack(exception);
    }
    unretrieved.register(
      this,
      {
        loop: this.#loop,
        exception,
        message: `${this._kind()} exception was never retrieved`,
        sourceTraceback: this._sourceTraceback,
        context: this._handlerContext(),
      },
      this,
    );
  }

  // ---- awaiting --------------------------------------------------------------------------

  /** `yield* future`: wait until done, then return the result or throw the error. */
  [Symbol.iterator](): FutureIterator<T> {
    return new FutureIterator(this);
  }

  /**
   * Interop for `async` code: `await future`. Settles through microtasks once the Future is
   * done; a cancelled Future rejects with CancelledError. A result that is itself a thenable
   * is adopted by the Promise machinery (asyncio would return it as is).
   */
  then<TResult1 = T, TResult2 = never>(
    onfulfilled?: ((value: T) => TResult1 | PromiseLike<TResult1>) | null,
    onrejected?: ((reason: unknown) => TResult2 | PromiseLike<TResult2>) | null,
  ): Promise<TResult1 | TResult2> {
    const settled = new Promise<T>((resolve, reject) => {
      const settle = (): void => {
        try {
          resolve(this.result());
        } catch (error) {
          // Whatever the Future failed with, thrown values included, is the rejection.
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
          reject(error);
        }
      };
      if ((this._bits & STATE) !== PENDING) settle();
      else this._addCallback(settle, copyContext());
    });
    return settled.then(onfulfilled, onrejected);
  }

  // ---- internals ---------------------------------------------------------------------------

  /**
   * @internal Add a callback for a pending Future without validation or context copy; a
   * WakeupTarget (a waiting Task) is woken directly, with no callback object.
   */
  _addCallback(callback: DoneCallback<unknown> | WakeupTarget, context: Context | null): void {
    const callbacks = this.#callbacks;
    if (callbacks === null) {
      this.#callbacks = typeof callback === "function" ? [callback, context] : callback;
    } else if (Array.isArray(callbacks)) {
      callbacks.push(callback, context);
    } else {
      this.#callbacks = [callbacks, null, callback, context];
    }
  }

  /** @internal The state, for reprs and Task. */
  get _state(): FutureState {
    return STATE_NAMES[this._bits & STATE] as FutureState;
  }

  /** @internal */
  _kind(): string {
    return "Future";
  }

  /** @internal The Context the exception handler runs in for this Future's errors. */
  _handlerContext(): Context | undefined {
    return undefined;
  }

  /** @internal The CancelledError to throw: the saved one once, else a new one. */
  _makeCancelledError(): CancelledError {
    const saved = this._cancelledError;
    if (saved !== undefined) {
      this._cancelledError = undefined;
      return saved;
    }
    return this._cancelMessage === undefined
      ? new CancelledError()
      : new CancelledError(this._cancelMessage);
  }

  /** @internal asyncio's `_repr_info`: the words inside `<...>`. */
  _reprInfo(): string[] {
    const info: string[] = [this._kind(), this._state];
    if ((this._bits & STATE) >= FINISHED) {
      info.push(
        `${(this._bits & STATE) !== FINISHED ? "exception" : "result"}=${describe(this.#value)}`,
      );
    }
    const list = this._callbackList();
    if (list.length > 0) {
      const names: string[] = [];
      for (let i = 0; i < list.length; i += 2) names.push(describeCallback(list[i]));
      const shown =
        names.length > 2
          ? [names[0], `<${names.length - 2} more>`, names[names.length - 1]]
          : names;
      info.push(`cb=[${shown.join(", ")}]`);
    }
    return info;
  }

  /** @internal The error counts as retrieved: don't report it when collected. */
  _markRetrieved(): void {
    this._retrieved();
  }

  // The helpers below are `_` methods, not `#` ones: a class with private methods gives
  // every instance an extra field (V8's class brand), and there are many Futures.

  /** @internal */
  _retrieved(): void {
    if ((this._bits & STATE) === FAILED) {
      this._bits = withBits(this._bits, STATE, FAILED_RETRIEVED);
      unretrieved.unregister(this);
    }
  }

  /** @internal Schedule every callback, in the order they were added, and forget them. */
  _scheduleCallbacks(): void {
    const callbacks = this.#callbacks;
    if (callbacks === null) return;
    this.#callbacks = null;
    if (!Array.isArray(callbacks)) {
      (callbacks as WakeupTarget)._wakeupFrom(this);
      return;
    }
    for (let i = 0; i < callbacks.length; i += 2) {
      this._scheduleCallback(callbacks[i], callbacks[i + 1] as Context);
    }
  }

  /** @internal */
  _scheduleCallback(callback: unknown, context: Context | null): void {
    if (typeof callback === "function") {
      const loop = this.#loop;
      if (loop._debug)
        loop._callSoon(callback as DoneCallback<unknown>, [this], context as Context);
      else
        loop._schedule(
          new DoneCallbackRun(callback as DoneCallback<unknown>, this, context as Context),
        );
    } else {
      (callback as WakeupTarget)._wakeupFrom(this);
    }
  }

  /** @internal Every callback, as a new flat list: callback, context, callback, context, ... */
  _callbackList(): unknown[] {
    const callbacks = this.#callbacks;
    if (callbacks === null) return [];
    if (Array.isArray(callbacks)) return callbacks.slice();
    return [callbacks, null];
  }

  /** @internal `_callbackList()`, leaving none registered. */
  _takeCallbacks(): unknown[] {
    const list = this._callbackList();
    this.#callbacks = null;
    return list;
  }

  /** @internal */
  _invalidState(): InvalidStateError {
    return new InvalidStateError(`${this._state.toUpperCase()}: ${this.toString()}`);
  }
}

/**
 * One `yield* future`, as asyncio's `Future.__await__`: yields the Future once if it is
 * pending, then returns its result.
 */
export class FutureIterator<T> implements Iterator<Future<T>, T, unknown> {
  readonly #future: Future<T>;
  #yielded = false;

  /** @internal */
  constructor(future: Future<T>) {
    this.#future = future;
  }

  [Symbol.iterator](): this {
    return this;
  }

  next(): IteratorResult<Future<T>, T> {
    const future = this.#future;
    if (!this.#yielded && !future.done()) {
      this.#yielded = true;
      future._blocking = true;
      if (tracking) recordSuspension();
      return { done: false, value: future };
    }
    if (!future.done()) throw new RuntimeError("await wasn't used with future");
    return { done: true, value: future.result() };
  }

  throw(error: unknown): IteratorResult<Future<T>, T> {
    // The Task throws into the coroutine here (a cancellation, or the Future's error):
    // let it propagate from the `yield*`.
    throw error;
  }

  // The parameter is required on purpose: TypeScript infers a `yield*` result from it too,
  // and an optional one would widen every `yield* future` to `T | undefined`.
  return(value: T): IteratorResult<Future<T>, T> {
    return { done: true, value };
  }
}

/** Whether `value` is a tsyncio Future (or Task), as asyncio's `isfuture`. */
export function isFuture(value: unknown): value is Future<unknown> {
  return value instanceof Future;
}

function formatStack(error: Error): string | undefined {
  return error.stack;
}

function isErrorClass(value: unknown): boolean {
  const proto: unknown = (value as { prototype?: unknown }).prototype;
  return proto === Error.prototype || proto instanceof Error;
}

inspectAsString(Future);
