/**
 * Handle and TimerHandle: a callback scheduled on a loop, as asyncio's `events.Handle`.
 * Everything the loop runs is one of these: task steps, done-callbacks, timers.
 */
import { Context } from "../contextvars.ts";
import type { BaseEventLoop } from "./base-event-loop.ts";
import type { Future } from "../futures.ts";
import { inspectAsString } from "../internal/inspect.ts";

/**
 * @internal What the ready queue holds: a Handle, or a Task scheduling its own step (a
 * Task is its own ready-queue entry, so a step allocates nothing).
 */
export interface Runnable {
  readonly _cancelled: boolean;
  _run(): void;
  toString(): string;
}

/**
 * @internal What a Future's callback list may hold besides functions: a Task waiting on
 * it, woken without a callback object.
 */
export interface WakeupTarget {
  _wakeupFrom(future: unknown): void;
}

/**
 * @internal What the loop's timer heap holds: a TimerHandle, or a sleep that is its own
 * timer. Popped when due, it joins the ready queue. The heap keeps the time it is due at
 * (a sleep does not: a number field would cost it a boxed double).
 */
export interface TimerEntry extends Runnable {
  /** Order of scheduling: breaks ties between equal times (FIFO). */
  readonly _seq: number;
  /** Whether it is in the heap. */
  _scheduled: boolean;
}

/** A callback scheduled with `callSoon`; `cancel()` it to keep it from running. */
export class Handle implements Runnable {
  /** @internal */
  _callback: ((...args: never[]) => unknown) | null;
  /** @internal */
  _args: readonly unknown[] | undefined;
  /** @internal */
  readonly _loop: BaseEventLoop;
  /** @internal */
  readonly _context: Context;
  /** @internal */
  _cancelled = false;
  // The two debug-mode fields below are `declare`d: set only when used, so that the
  // handles of a busy loop (and every sleep's timer) stay small.
  /** @internal Where the handle was created, in debug mode. */
  declare _sourceTraceback: string | undefined;
  /** @internal The repr frozen by `cancel()` in debug mode. */
  declare _frozenRepr: string | undefined;

  /** @internal Handles come from `loop.callSoon()` and friends. */
  constructor(
    callback: (...args: never[]) => unknown,
    args: readonly unknown[] | undefined,
    loop: BaseEventLoop,
    context: Context,
  ) {
    this._callback = callback;
    this._args = args;
    this._loop = loop;
    this._context = context;
    if (loop._debug) this._sourceTraceback = captureStack();
  }

  toString(): string {
    return this._frozenRepr ?? `<${this._reprInfo().join(" ")}>`;
  }

  /** Whether `cancel()` was called. */
  cancelled(): boolean {
    return this._cancelled;
  }

  /** The Context the callback runs in. */
  getContext(): Context {
    return this._context;
  }

  /** Keep the callback from running; does nothing if it already ran or was cancelled. */
  cancel(): void {
    if (this._cancelled) return;
    this._cancelled = true;
    // In debug mode keep the callback in the repr, for "Executing <Handle ...> took ...".
    if (this._loop._debug) this._frozenRepr = `<${this._reprInfo().join(" ")}>`;
    // Drop the references so a cancelled handle holds nothing alive.
    this._callback = null;
    this._args = undefined;
  }

  /** @internal Run the callback in its Context; errors go to the exception handler. */
  _run(): void {
    try {
      const previous = Context._enter(this._context);
      try {
        const callback = this._callback as (...args: unknown[]) => unknown;
        const args = this._args;
        if (args === undefined) callback();
        else callback(...args);
      } finally {
        Context._exit(this._context, previous);
      }
    } catch (error) {
      this._report(error);
    }
  }

  /** @internal The callback threw `error`: tell the loop's exception handler. */
  _report(error: unknown): void {
    this._loop.callExceptionHandler({
      message: `Exception in callback ${this._callbackRepr()}`,
      exception: error,
      handle: this,
      ...(this._sourceTraceback === undefined ? {} : { sourceTraceback: this._sourceTraceback }),
    });
  }

  /** @internal */
  _kind(): string {
    return "Handle";
  }

  /** @internal asyncio's `_repr_info`: the words inside `<...>`. */
  _reprInfo(): string[] {
    const info = [this._kind()];
    if (this._cancelled) info.push("cancelled");
    if (this._callback !== null) info.push(this._callbackRepr());
    return info;
  }

  /** @internal */
  _callbackRepr(): string {
    return describeCallback(this._callback);
  }
}

/** A callback scheduled for a time, from `callLater` or `callAt`. */
export class TimerHandle extends Handle {
  /** @internal */
  readonly _when: number;
  /** @internal Order of scheduling: breaks ties between equal `when`s (FIFO). */
  readonly _seq: number;
  /** @internal Whether the handle is still in the loop's timer heap. */
  _scheduled = false;

  /** @internal */
  constructor(
    when: number,
    seq: number,
    callback: (...args: never[]) => unknown,
    args: readonly unknown[] | undefined,
    loop: BaseEventLoop,
    context: Context,
  ) {
    super(callback, args, loop, context);
    this._when = when;
    this._seq = seq;
  }

  /** The loop time (seconds) the callback is scheduled for. */
  when(): number {
    return this._when;
  }

  /** Keep the callback from running, and let the loop purge it from its timer heap. */
  override cancel(): void {
    if (!this._cancelled) this._loop._timerHandleCancelled(this);
    super.cancel();
  }

  /** @internal */
  override _kind(): string {
    return "TimerHandle";
  }

  /** @internal */
  override _reprInfo(): string[] {
    const info = super._reprInfo();
    info.splice(this._cancelled ? 2 : 1, 0, `when=${this._when}`);
    return info;
  }
}

/**
 * @internal A done-callback's turn on the ready queue: `callback(future)` in `context`,
 * what `callSoon(callback, future)` schedules, as one small object instead of a Handle and
 * its argument list. Every gather child and TaskGroup member reports through one. It is
 * never cancelled and never handed out; an error it throws is reported as its Handle's
 * would be. (In debug mode the loop schedules a real Handle instead, for its traceback.)
 */
export class DoneCallbackRun implements Runnable {
  readonly #callback: (future: never) => unknown;
  readonly #future: Future<unknown>;
  readonly #context: Context;
  /** The callback's `this`: a TaskGroup's done-callback is a method. */
  readonly #receiver: unknown;
  /** Always false, from the prototype. */
  declare readonly _cancelled: boolean;

  constructor(
    callback: (future: never) => unknown,
    future: Future<unknown>,
    context: Context,
    receiver?: unknown,
  ) {
    this.#callback = callback;
    this.#future = future;
    this.#context = context;
    this.#receiver = receiver;
  }

  toString(): string {
    return this.#asHandle().toString();
  }

  _run(): void {
    try {
      const previous = Context._enter(this.#context);
      try {
        (this.#callback as (future: Future<unknown>) => unknown).call(this.#receiver, this.#future);
      } finally {
        Context._exit(this.#context, previous);
      }
    } catch (error) {
      this.#asHandle()._report(error);
    }
  }

  #asHandle(): Handle {
    return new Handle(this.#callback, [this.#future], this.#future.getLoop(), this.#context);
  }
}

/**
 * @internal Report `error`, thrown by `callback` for `future` in `context`, as the error of
 * the Handle that would have run it (a done-callback run without one).
 */
export function reportCallbackError(
  callback: (future: never) => unknown,
  future: Future<unknown>,
  context: Context,
  error: unknown,
): void {
  new Handle(callback, [future], future.getLoop(), context)._report(error);
}

Object.defineProperty(DoneCallbackRun.prototype, "_cancelled", { value: false, writable: false });

/** `name()` for a callback in a repr or message, as asyncio's `format_helpers`. */
export function describeCallback(callback: unknown): string {
  if (typeof callback === "object" && callback !== null && "_wakeupFrom" in callback) {
    if (!("_onChildDone" in callback)) return "Task.wakeup()";
    return "_parentTask" in callback ? "TaskGroup._on_task_done()" : "gather._done_callback()";
  }
  if (typeof callback !== "function") return String(callback);
  const name = callback.name.replace(/^bound /, "");
  return `${name === "" ? "<anonymous>" : name}()`;
}

/** @internal A stack trace of the caller, without this helper's own frame. */
export function captureStack(): string {
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, captureStack);
  return (holder.stack ?? "").split("\n").slice(1).join("\n");
}

inspectAsString(Handle);
