/**
 * Task: a coroutine driven by the loop, as asyncio's `tasks.Task`.
 *
 * Design note. A Task steps its generator exactly as asyncio's `Task.__step` does: it sends
 * (`next()`) or throws into the coroutine; the coroutine runs until it yields. A yielded
 * Future (from `yield* future`) gets the Task's wake-up as a done-callback; a bare yield
 * (`sleep(0)`) reschedules the step for the next iteration; anything else is a bad yield,
 * thrown back into the coroutine on the next step.
 *
 * Invariant (asyncio's): while the Task is pending, either `#waiter` is null and a step
 * is scheduled, or `#waiter` is a Future whose callbacks include this Task's wake-up and no
 * step is scheduled.
 *
 * Cancellation: `cancel()` counts the request, then cancels the awaited Future if there is
 * one (the CancelledError arrives through the wake-up), else marks the Task so its next
 * step throws CancelledError into the coroutine. The Task is cancelled only once a
 * CancelledError escapes the coroutine; a coroutine may catch it and go on (`uncancel()`).
 */
import { Context, currentMapping, LIBRARY_CONTEXT, type Mapping } from "./contextvars.ts";
import { _setRunningLoop, getRunningLoop } from "./events.ts";
import { CancelledError, InvalidStateError, RuntimeError } from "./exceptions.ts";
import { Future, SUBCLASS_BIT, withBits } from "./futures.ts";
import { isCoroutine, type Awaitable, type Coro, type Yielded } from "./coroutines.ts";
import { describe, isAwaitableLike, validateFunction } from "./internal/validate.ts";
import type { BaseEventLoop, TaskFactory } from "./loop/base-event-loop.ts";
import {
  DoneCallbackRun,
  reportCallbackError,
  type Runnable,
  type WakeupTarget,
} from "./loop/handles.ts";
import type { ListNode } from "./internal/task-list.ts";
import { SleepFor } from "./sleep.ts";

/**
 * @internal What a done child Task can notify from its own ready-queue turn: a TaskGroup
 * or a gather's Future (their done-callback for it).
 */
export interface ChildDoneTarget {
  _onChildDone(child: Future<unknown>): void;
  toString(): string;
}

/**
 * @internal `child` is done: run `target._onChildDone(child)` on the loop, as a
 * done-callback scheduled now would: on the child's own turn in the ready queue when it is
 * a Task free to carry it (see `Task._notifyLater`), else from a small entry.
 */
export function scheduleChildDone(target: ChildDoneTarget, child: Future<unknown>): void {
  if (child instanceof Task && child._notifyLater(target)) return;
  child.getLoop()._schedule(new DoneCallbackRun(childDone, child, LIBRARY_CONTEXT, target));
}

/** The done-callback `scheduleChildDone` runs, as a repr or an error report names it. */
function childDone(this: ChildDoneTarget, child: Future<unknown>): void {
  this._onChildDone(child);
}

/** Options of `createTask`. */
export interface TaskOptions {
  /** The Task's name; default `Task-N`. */
  name?: string | undefined;
  /** The Context every step runs in; default a copy of the current one. */
  context?: Context | undefined;
  /** Run the first step at once, inside `createTask`, when the loop is running. */
  eagerStart?: boolean | undefined;
}

/** Options of the Task constructor: `TaskOptions` and the loop. */
export interface TaskConstructorOptions extends TaskOptions {
  /** The loop; default the running loop. */
  loop?: BaseEventLoop | undefined;
}

let taskCounter = 0;

// A Task keeps three small things in the `_bits` Future leaves to subclasses (one field
// instead of three in every Task): what its next turn on the ready queue does (a step;
// WAKEUP from #waiter; or THROW _throwValue in), whether its next step must throw a
// CancelledError in, and the count of pending cancellation requests in the bits above.
const MODE = 3 * SUBCLASS_BIT;
const WAKEUP = SUBCLASS_BIT;
const THROW = 2 * SUBCLASS_BIT;
const MUST_CANCEL = 4 * SUBCLASS_BIT;
/** The turn of a done Task: tell the group or gather it belongs to (see `_notifyLater`). */
const NOTIFY = 3 * SUBCLASS_BIT;
/** One cancellation request, in `_bits`. */
const CANCEL_UNIT = 8 * SUBCLASS_BIT;

/**
 * A coroutine wrapped in a Future: the loop runs it step by step, and the Task completes
 * with what the coroutine returns or throws. Create one with `createTask()`.
 */
export class Task<T> extends Future<T> implements Runnable, WakeupTarget {
  readonly #coro: Coro<T>;
  /**
   * The Context every step runs in; or, until something needs the object (`getContext()`,
   * a `ContextVar.set` in a step), just the mapping it would hold: steps then run in the
   * borrowed Context (see `Context._enterBorrowed`).
   */
  #context: Context | Mapping;
  /** The given name, or the N of `Task-N` (the string is built when first asked for). */
  #name: string | number;
  /**
   * The Future the Task waits on, or the timer of a `sleep`; once done, maybe the
   * ChildDoneTarget to notify.
   */
  #waiter: Future<unknown> | SleepFor<unknown> | ChildDoneTarget | null = null;
  /** @internal What a THROW turn throws in; set only then. */
  declare _throwValue: unknown;
  /** @internal Links in the loop's list of pending tasks. */
  _prevTask: ListNode | null = null;
  /** @internal */
  _nextTask: ListNode | null = null;
  /** @internal Always false, from the prototype: a Task's turn is never cancelled. */
  declare readonly _cancelled: boolean;

  /**
   * Wrap `coro` and schedule its first step (or run it now, with `eagerStart` on a running
   * loop).
   *
   * @throws TypeError `a coroutine was expected, got ...`; RuntimeError if the loop is
   *   closed or none is running and none was given.
   */
  constructor(coro: Coro<T>, options?: TaskConstructorOptions) {
    super(options);
    if (!isCoroutine(coro)) {
      throw new TypeError(`a coroutine was expected, got ${describe(coro)}`);
    }
    const loop = this.getLoop();
    if (loop.isClosed()) {
      coro.return(undefined as T);
      throw new RuntimeError("Event loop is closed");
    }
    const name: unknown = options?.name;
    this.#name = name === undefined ? ++taskCounter : toName(name);
    this.#coro = coro;
    this.#context = options?.context ?? currentMapping();
    loop._tasks.add(this);
    if (options?.eagerStart === true && loop.isRunning()) {
      this._eagerStart(loop);
    } else {
      loop._schedule(this);
    }
  }

  override toString(): string {
    return `<${this._reprInfo().join(" ")}>`;
  }

  // ---- queries -------------------------------------------------------------------------

  /** The coroutine the Task drives. */
  getCoro(): Coro<T> {
    return this.#coro;
  }

  /** The Context every step runs in. */
  getContext(): Context {
    const context = this.#context;
    if (context instanceof Context) return context;
    return Context._adoptBorrowed(this) ?? this._ownContext(context);
  }

  /** The Task's name: the one given, or `Task-N` from a global counter. */
  getName(): string {
    const name = this.#name;
    return typeof name === "string" ? name : (this.#name = `Task-${name}`);
  }

  /** Rename the Task; the value is converted to a string. */
  setName(value: unknown): void {
    this.#name = toName(value);
  }

  /** The number of pending cancellation requests: `cancel()` adds one, `uncancel()` removes one. */
  cancelling(): number {
    return Math.floor(this._bits / CANCEL_UNIT);
  }

  /**
   * What JavaScript can tell of where the Task is: for a Task that failed with an Error,
   * the frames of its stack; otherwise an empty list (a suspended generator's frames cannot
   * be read). `limit` keeps the first frames.
   */
  getStack(options?: { limit?: number | undefined }): string[] {
    if (this._state !== "finished") return [];
    const error = this.exception();
    if (!(error instanceof Error) || error.stack === undefined) return [];
    const frames = error.stack
      .split("\n")
      .filter((line) => line.trimStart().startsWith("at "))
      .map((line) => line.trim());
    const limit = options?.limit;
    return limit === undefined ? frames : frames.slice(0, Math.max(0, limit));
  }

  /** Print `getStack()` to stderr (or to `options.write`), as asyncio's `print_stack`. */
  printStack(options?: {
    limit?: number | undefined;
    write?: ((text: string) => void) | undefined;
  }): void {
    const frames = this.getStack(options);
    let text = `No stack for ${this.toString()}`;
    if (frames.length > 0) {
      text = `Traceback for ${this.toString()} (most recent call first):\n`;
      text += frames.map((frame) => `  ${frame}`).join("\n");
      // The traceback's last line, as Python prints it: `ValueError: boom`.
      const error = this.exception() as Error;
      text += `\n${error.name}: ${error.message}`;
    }
    (options?.write ?? ((line: string) => void process.stderr.write(`${line}\n`)))(text);
  }

  // ---- cancellation --------------------------------------------------------------------

  /**
   * Ask the Task to cancel itself: a CancelledError (with `msg`) is thrown into the
   * coroutine where it waits. Returns false if the Task is already done, true otherwise,
   * on every call. The coroutine may catch the error and go on; the Task is cancelled only
   * once a CancelledError escapes it. Each call adds one to `cancelling()`.
   */
  override cancel(msg?: string): boolean {
    this._markRetrieved();
    if (this.done()) return false;
    this._bits += CANCEL_UNIT;
    // Keep #waiter: it may be a Task that swallows the cancellation, and a later cancel()
    // must reach it again.
    if ((this.#waiter as Future<unknown> | SleepFor<unknown> | null)?.cancel(msg) === true) {
      return true;
    }
    this._bits = withBits(this._bits, MUST_CANCEL, MUST_CANCEL);
    this._cancelMessage = msg;
    return true;
  }

  /**
   * Withdraw one cancellation request; returns how many remain. At zero, a cancellation
   * that has not been delivered yet is withdrawn too.
   */
  uncancel(): number {
    if (this._bits >= CANCEL_UNIT) {
      this._bits -= CANCEL_UNIT;
      if (this._bits < CANCEL_UNIT) this._bits = withBits(this._bits, MUST_CANCEL, 0);
    }
    return Math.floor(this._bits / CANCEL_UNIT);
  }

  /** @throws RuntimeError: a Task completes only through its coroutine. */
  override setResult(_result: T): never {
    throw new RuntimeError("Task does not support setResult operation");
  }

  /** @throws RuntimeError: a Task completes only through its coroutine. */
  override setException(_exception: unknown): never {
    throw new RuntimeError("Task does not support setException operation");
  }

  // ---- internals -------------------------------------------------------------------------

  /** @internal */
  override _kind(): string {
    return "Task";
  }

  /** @internal */
  override _handlerContext(): Context {
    return this.getContext();
  }

  /** @internal The Task's own Context from now on, holding `map`. */
  _ownContext(map: Mapping): Context {
    const context = new Context();
    context._map = map;
    this.#context = context;
    return context;
  }

  /** @internal */
  override _reprInfo(): string[] {
    const info = super._reprInfo();
    if (this._bits >= CANCEL_UNIT && !this.done()) info[1] = "cancelling";
    info.splice(2, 0, `name='${this.getName()}'`);
    if (this.#waiter !== null && !this.done()) {
      info.splice(3, 0, `wait_for=${this.#waiter.toString()}`);
    }
    return info;
  }

  /** @internal The Future the Task waits on, or the timer of its `sleep`, if any. */
  get _waiter(): Future<unknown> | SleepFor<unknown> | null {
    return this.done() ? null : (this.#waiter as Future<unknown> | SleepFor<unknown> | null);
  }

  /**
   * @internal This done Task's done-callback for `target` (its TaskGroup or gather): run
   * `target._onChildDone(this)` on the loop as a callback scheduled now would, with the
   * Task itself as the ready-queue entry instead of a new one. Returns false if the Task
   * is not free to (not done, or already carrying one), for the caller to schedule its own.
   */
  _notifyLater(target: ChildDoneTarget): boolean {
    if (this.#waiter !== null || (this._bits & MODE) !== 0 || !this.done()) return false;
    this.#waiter = target;
    this._bits = withBits(this._bits, MODE, NOTIFY);
    this.getLoop()._schedule(this);
    return true;
  }

  /**
   * @internal The Task's turn on the ready queue: a step, a wake-up from #waiter, or a bad
   * yield thrown back in, in the Task's Context (what escapes the step machinery, a bug,
   * never the coroutine's own errors, goes to the exception handler); or, once done, its
   * group's or gather's done-callback (see `_notifyLater`), in the library's Context.
   */
  _run(): void {
    if ((this._bits & MODE) === NOTIFY) {
      // The done-callback of the group or gather: the library's bookkeeping, run as the
      // entry scheduleChildDone would otherwise have made, not as a step of this Task.
      this._bits = withBits(this._bits, MODE, 0);
      const target = this.#waiter as ChildDoneTarget;
      this.#waiter = null;
      try {
        const previous = Context._enter(LIBRARY_CONTEXT);
        try {
          target._onChildDone(this);
        } finally {
          Context._exit(LIBRARY_CONTEXT, previous);
        }
      } catch (error) {
        reportCallbackError(childDone, this, LIBRARY_CONTEXT, error);
      }
      return;
    }
    try {
      const context = this.#context;
      const previous = context instanceof Context ? null : Context._enterBorrowed(context, this);
      if (previous !== null) {
        try {
          this._turn();
        } finally {
          Context._exitBorrowed(previous);
        }
      } else {
        const own = this.getContext();
        const before = Context._enter(own);
        try {
          this._turn();
        } finally {
          Context._exit(own, before);
        }
      }
    } catch (error) {
      this.getLoop().callExceptionHandler({
        message: `Exception in callback Task.step() of ${this.toString()}`,
        exception: error,
        task: this,
      });
    }
  }

  // The step machinery below is made of `_` methods, not `#` ones: a class with private
  // methods gives every instance an extra field (V8's class brand), and there are many Tasks.

  /** @internal */
  _turn(): void {
    const mode = this._bits & MODE;
    this._bits = withBits(this._bits, MODE, 0);
    if (mode === WAKEUP) {
      this._wakeup(this.#waiter as Future<unknown>);
    } else if (mode === THROW) {
      const error = this._throwValue;
      this._throwValue = undefined;
      this._step(true, error);
    } else {
      this._step(false, undefined);
    }
  }

  /** @internal #waiter is done: schedule the wake-up. */
  _wakeupFrom(future: unknown): void {
    if (future === this.#waiter) {
      this._bits = withBits(this._bits, MODE, WAKEUP);
      this.getLoop()._schedule(this);
    }
  }

  /** @internal The timer of the `sleep` the Task waits on fired: schedule the next step. */
  _timerFired(sleep: SleepFor<unknown>): void {
    if (sleep === this.#waiter) this.getLoop()._schedule(this);
  }

  /** @internal */
  _scheduleThrow(error: unknown): void {
    this._bits = withBits(this._bits, MODE, THROW);
    this._throwValue = error;
    this.getLoop()._schedule(this);
  }

  /** @internal */
  _step(hasError: boolean, error: unknown): void {
    if (this.done()) {
      throw new InvalidStateError(`_step(): already done: ${this.toString()}, ${describe(error)}`);
    }
    if ((this._bits & MUST_CANCEL) !== 0) {
      if (!(error instanceof CancelledError)) {
        error = this._makeCancelledError();
        hasError = true;
      }
      this._bits = withBits(this._bits, MUST_CANCEL, 0);
    }
    this.#waiter = null;
    const loop = this.getLoop();
    enterTask(loop, this);
    try {
      this._runAndHandle(hasError, error);
    } finally {
      leaveTask(loop, this);
    }
  }

  /** @internal */
  _runAndHandle(hasError: boolean, error: unknown): void {
    let step: IteratorResult<Yielded, T>;
    try {
      step = hasError ? this.#coro.throw(error) : this.#coro.next();
    } catch (thrown) {
      if (thrown instanceof CancelledError) {
        // Keep the original error, so the awaiting side sees the same object once.
        this._cancelledError = thrown;
        super.cancel();
      } else {
        super.setException(thrown);
      }
      this.getLoop()._tasks.delete(this);
      return;
    }
    if (step.done === true) {
      if ((this._bits & MUST_CANCEL) !== 0) {
        // cancel() was called right before the coroutine returned.
        this._bits = withBits(this._bits, MUST_CANCEL, 0);
        super.cancel(this._cancelMessage);
      } else {
        if (this._bits >= CANCEL_UNIT && this.getLoop()._debug) this._warnSwallowed();
        super.setResult(step.value);
      }
      this.getLoop()._tasks.delete(this);
      return;
    }
    const yielded: unknown = step.value;
    if (yielded instanceof Future) {
      this._handleYieldedFuture(yielded);
    } else if (yielded === undefined) {
      // A bare yield gives the loop one iteration.
      this.getLoop()._schedule(this);
    } else if (yielded instanceof SleepFor && yielded._started()) {
      this._handleYieldedSleep(yielded);
    } else if (isCoroutine(yielded)) {
      this._scheduleThrow(
        new RuntimeError(
          `yield was used instead of yield* for generator in task ${this.toString()} with ${describe(yielded)}`,
        ),
      );
    } else if (isThenable(yielded)) {
      this._scheduleThrow(
        new RuntimeError(
          `Task got bad yield: ${describe(yielded)}; use yield* wrapPromise(promise) to wait for a Promise`,
        ),
      );
    } else {
      this._scheduleThrow(new RuntimeError(`Task got bad yield: ${describe(yielded)}`));
    }
  }

  /** @internal */
  _handleYieldedFuture(future: Future<unknown>): void {
    if (future.getLoop() !== this.getLoop()) {
      this._scheduleThrow(
        new RuntimeError(
          `Task ${this.toString()} got Future ${future.toString()} attached to a different loop`,
        ),
      );
    } else if (!future._blocking) {
      this._scheduleThrow(
        new RuntimeError(
          `yield was used instead of yield* in task ${this.toString()} with ${future.toString()}`,
        ),
      );
    } else if (future === this) {
      this._scheduleThrow(new RuntimeError(`Task cannot await on itself: ${this.toString()}`));
    } else {
      future._blocking = false;
      this.#waiter = future;
      if (future.done()) this._wakeupFrom(future);
      else future._addCallback(this, null);
      if ((this._bits & MUST_CANCEL) !== 0 && future.cancel(this._cancelMessage)) {
        this._bits = withBits(this._bits, MUST_CANCEL, 0);
      }
    }
  }

  /** @internal A `sleep(delay)` yielded itself: wait on its timer. */
  _handleYieldedSleep(sleep: SleepFor<unknown>): void {
    if (sleep._loop() !== this.getLoop()) {
      this._scheduleThrow(
        new RuntimeError(`Task ${this.toString()} got a sleep attached to a different loop`),
      );
      return;
    }
    if (sleep._waitedOnByOther(this)) {
      // Another Task waits on it: as for a Future yielded a second time, a bad yield.
      this._scheduleThrow(
        new RuntimeError(
          `yield was used instead of yield* in task ${this.toString()} with ${sleep.toString()}`,
        ),
      );
      return;
    }
    this.#waiter = sleep;
    // Not waiting any more when it was stepped by hand and yielded later: go on at once.
    if (!sleep._attach(this)) this.getLoop()._schedule(this);
    else if ((this._bits & MUST_CANCEL) !== 0 && sleep.cancel(this._cancelMessage)) {
      this._bits = withBits(this._bits, MUST_CANCEL, 0);
    }
  }

  /** @internal */
  _warnSwallowed(): void {
    console.warn(
      `${this.toString()} returned normally while cancelling() is ${this.cancelling()}: ` +
        "a catch block may have swallowed its CancelledError; rethrow it " +
        "(rethrowIfCancelled) or call uncancel() if going on is intended",
    );
  }

  /** @internal */
  _wakeup(future: Future<unknown>): void {
    try {
      future.result();
    } catch (error) {
      // Also a cancellation.
      this._step(true, error);
      return;
    }
    this._step(false, undefined);
  }

  /** @internal */
  _eagerStart(loop: BaseEventLoop): void {
    const previousTask = loop._currentTask;
    const previousLoop = _setRunningLoop(loop);
    loop._currentTask = this;
    try {
      const context = this.#context;
      const previous = context instanceof Context ? null : Context._enterBorrowed(context, this);
      if (previous !== null) {
        try {
          this._runAndHandle(false, undefined);
        } finally {
          Context._exitBorrowed(previous);
        }
      } else {
        this.getContext().run(() => {
          this._runAndHandle(false, undefined);
        });
      }
    } finally {
      loop._currentTask = previousTask;
      _setRunningLoop(previousLoop);
    }
  }
}

// A Task's turn on the ready queue is never cancelled (asyncio's task steps are not
// cancellable handles); on the prototype, so Tasks carry no field for it.
Object.defineProperty(Task.prototype, "_cancelled", { value: false, writable: false });

/**
 * Wrap `coro` in a Task on the running loop and schedule it; returns the Task.
 *
 * Keep a reference to the Task (or put it in a `taskGroup`) if its outcome matters.
 *
 * @throws RuntimeError `no running event loop` outside a loop.
 */
export function createTask<T>(coro: Coro<T>, options?: TaskOptions): Task<T> {
  return getRunningLoop().createTask(coro, options);
}

/** The Task running now on `loop` (default: the running loop), or `null` between tasks. */
export function currentTask(loop?: BaseEventLoop): Task<unknown> | null {
  return (loop ?? getRunningLoop())._currentTask;
}

/** The Tasks of `loop` (default: the running loop) that are not done yet. */
export function allTasks(loop?: BaseEventLoop): Set<Task<unknown>> {
  return new Set((loop ?? getRunningLoop())._tasks);
}

/**
 * A Future for `value`: a Future (or Task) as it is, a coroutine wrapped in a Task, any
 * other awaitable (an object `yield*` accepts) awaited by a new Task.
 *
 * @throws TypeError for anything else; RangeError for a Future of another loop than `loop`.
 */
export function ensureFuture<T>(value: Future<T> | Awaitable<T>, loop?: BaseEventLoop): Future<T> {
  if (value instanceof Future) {
    if (loop !== undefined && value.getLoop() !== loop) {
      throw new RangeError(
        "The future belongs to a different loop than the one specified as the loop argument",
      );
    }
    return value;
  }
  if (isCoroutine(value)) {
    return (loop ?? getRunningLoop()).createTask(value as Coro<T>);
  }
  const candidate: unknown = value;
  if (isAwaitableLike(candidate)) {
    const awaitable = candidate as Awaitable<T>;
    const wrapper = function* wrapAwaitable(): Coro<T> {
      return yield* awaitable;
    };
    return (loop ?? getRunningLoop()).createTask(wrapper());
  }
  throw new TypeError(`a Future, a coroutine or an awaitable is required, got ${describe(value)}`);
}

/** A Task class that a task factory can build: `new (coro, options) => Task`. */
export type TaskConstructor = new (
  coro: Coro<unknown>,
  options: TaskConstructorOptions,
) => Task<unknown>;

/**
 * A task factory that starts every Task eagerly: its first step runs inside `createTask`,
 * and a coroutine that finishes without suspending gives a Task that is already done and
 * was never scheduled (asyncio 3.12+).
 */
export function createEagerTaskFactory(taskConstructor: TaskConstructor = Task): TaskFactory {
  validateFunction(taskConstructor, "taskConstructor");
  return (loop, coro, options) => new taskConstructor(coro, { ...options, loop, eagerStart: true });
}

/** The eager task factory for the default Task class: `loop.setTaskFactory(eagerTaskFactory)`. */
export const eagerTaskFactory: TaskFactory = createEagerTaskFactory(Task);

function enterTask(loop: BaseEventLoop, task: Task<unknown>): void {
  const current = loop._currentTask;
  if (current !== null) {
    throw new RuntimeError(
      `Cannot enter into task ${task.toString()} while another task ${current.toString()} is being executed.`,
    );
  }
  loop._currentTask = task;
}

function leaveTask(loop: BaseEventLoop, task: Task<unknown>): void {
  const current = loop._currentTask;
  if (current !== task) {
    throw new RuntimeError(
      `Leaving task ${task.toString()} does not match the current task ${String(current)}.`,
    );
  }
  loop._currentTask = null;
}

/** Python's `str(name)`: strings as they are, anything else as it prints. */
function toName(value: unknown): string {
  return typeof value === "string" ? value : describe(value);
}

function isThenable(value: unknown): boolean {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function"
  );
}
